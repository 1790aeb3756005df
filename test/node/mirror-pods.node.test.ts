// Mirror pods: the kubelet runs a static pod from the manifest file on its node and creates a
// mirror pod in the API to show it. Were the webhook to harden the mirror pod, the API would show
// a hardened pod whose process runs as the manifest says (the kubelet never applies the mirror
// pod's spec). So pod-hardener leaves mirror pods alone, and this shows, on the node, that the
// API and the kernel then agree; and that a pod made to look like a mirror pod through the API
// never runs, so leaving such pods alone lets nothing unhardened run.

import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { Annotations, LabelValues } from '../../src/names';
import {
  apply,
  clusterEnv,
  probeContainer,
  kubectl,
  namespace,
  statusOnNode,
  waitRunning,
  webhookPods,
} from './support/cluster';
import { expectedStatus, parseProcStatus } from './support/kernel';
import { eventually } from '../support/eventually';

jest.setTimeout(120_000);

const NS = 'node-mirror';
const hostBounding = parseProcStatus(fs.readFileSync('/proc/self/status', 'utf8')).capBnd;
let cleanup: () => Promise<void>;
const manifestFile = () => path.join(clusterEnv().staticPodDir, 'node-mirror-static.yaml');

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** pod_hardener_exceptions_total{kind="mirrorPod"} summed over the webhook's replicas. */
async function mirrorExceptions(): Promise<number> {
  let total = 0;
  for (const p of await webhookPods()) {
    const text = await get(`http://${p.status.podIP}:8080/metrics`);
    const m = /^pod_hardener_exceptions_total\{[^}]*kind="mirrorPod"[^}]*\} (\d+)/m.exec(text);
    total += m ? Number(m[1]) : 0;
  }
  return total;
}

beforeAll(async () => {
  cleanup = await namespace(NS, LabelValues.enforce);
});

afterAll(async () => {
  fs.rmSync(manifestFile(), { force: true });
  await cleanup();
});

test('the mirror pod of a static pod in an opted-in namespace shows what runs: unhardened, and counted', async () => {
  const before = await mirrorExceptions();
  const { nodeName } = clusterEnv();
  fs.writeFileSync(
    manifestFile(),
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'static-web', namespace: NS },
      spec: {
        containers: [probeContainer('app')],
      },
    }),
  );
  const mirrorName = `static-web-${nodeName}`;
  const pod = await waitRunning(NS, mirrorName);
  expect(pod.metadata.annotations[Annotations.mirrorPod]).toBeDefined();
  expect(pod.metadata.annotations[Annotations.hardened]).toBeUndefined();
  expect(pod.spec.securityContext?.runAsUser).toBeUndefined();

  const onNode = statusOnNode(pod, 'app');
  console.log(
    `static pod ${mirrorName}: Uid ${onNode.uid}, CapEff 0x${onNode.capEff.toString(16)} (kernel) ; API runAsUser unset`,
  );
  expect(onNode).toEqual(expectedStatus(pod, 'app', { hostBounding }));
  expect(onNode.uid).toBe(0);
  await eventually(async () => (await mirrorExceptions()) > before, {
    what: 'the mirrorPod exception in the metrics',
    timeoutMs: 20_000,
    everyMs: 250,
  });
});

test('a pod created through the API with the mirror annotation is deleted by the kubelet without running', async () => {
  const warnings = await apply(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'fake-mirror',
        namespace: NS,
        annotations: { [Annotations.mirrorPod]: '0123456789abcdef' },
      },
      spec: {
        nodeName: clusterEnv().nodeName,
        automountServiceAccountToken: false,
        containers: [probeContainer('app')],
      },
    }),
  );
  expect(warnings).toContain('mirror pod of a static pod left untouched');
  let seenRunning = false;
  await eventually(
    async () => {
      const r = await kubectl(['-n', NS, 'get', 'pod', 'fake-mirror', '-o', 'json'], {
        allowFail: true,
      });
      if (r.code !== 0) return true;
      const p = JSON.parse(r.stdout);
      if ((p.status?.containerStatuses ?? []).some((c: any) => c.state?.running || c.containerID))
        seenRunning = true;
      return false;
    },
    { what: 'the kubelet to delete the pod', timeoutMs: 60_000, everyMs: 250 },
  );
  expect(seenRunning).toBe(false);
});
