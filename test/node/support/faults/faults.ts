// The faults the suite puts pod creation through, in the order it runs them, each with what it
// allows and why. A fault's `run` causes it, then waits until pod-hardener is whole again (every
// replica ready, the new state in force), so that what follows starts from a healthy install.
//
// Refusals are allowed where the fault makes them unavoidable, never unhardened pods. With the
// guard, the enforce webhook's failurePolicy is Ignore: a call that fails reaches the guard,
// which refuses the pod unless it is hardened. So a refusal here means "the webhook could not
// answer and the guard held", and its bound follows from how long the fault leaves the API server
// without a replica to call.

import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { promisify } from 'node:util';
import { repoRoot } from '../../../e2e/support/controlplane';
import type { ApiClient } from '../../../e2e/support/dry-run';
import { CHART } from '../../../support/tools';
import { eventually } from '../../../support/eventually';
import {
  clusterEnv,
  clusterScript,
  getJson,
  hostPid,
  kubectl,
  webhookPods as installedPods,
} from '../cluster';
import { helm, nodeImageValues, RELEASE_NS } from '../helm';

const RELEASE = 'pod-hardener';
const SECRET = 'pod-hardener-certs';
const WEBHOOK_PORT = 8443;

export interface Fault {
  name: string;
  /** Refused creations allowed (bare pods and the Deployment's), and why that many. */
  allowed: number;
  why: string;
  /** The alerts of the shipped PrometheusRule this fault makes fire, if it lasts. */
  alert: string;
  run(under: { namespace: string }): Promise<void>;
}

const run = promisify(execFile);

/** The values every install of the suite uses: the image of this node, checks every 10 s. */
export function installArgs(): string[] {
  return [
    RELEASE,
    CHART,
    '--namespace',
    RELEASE_NS,
    ...nodeImageValues(),
    '--set',
    'config.certificates.selfManaged.checkIntervalSeconds=10',
    '--set',
    'guard.keepOnUninstall=true',
    '--wait',
    '--timeout',
    '4m',
  ];
}

export function webhookPods(): Promise<any[]> {
  return installedPods(
    `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/name=pod-hardener`,
    RELEASE_NS,
  );
}

const ready = (pod: any) =>
  !pod.metadata.deletionTimestamp &&
  (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');

/** Every replica of the Deployment ready, and no other webhook pod left. */
export async function webhookWhole(): Promise<void> {
  await kubectl(
    ['-n', RELEASE_NS, 'rollout', 'status', 'deployment/pod-hardener', '--timeout=240s'],
    {
      timeoutMs: 250_000,
    },
  );
  await eventually(
    async () => {
      const pods = await webhookPods();
      return pods.length === 2 && pods.every(ready);
    },
    { what: 'two ready webhook replicas and no other', timeoutMs: 120_000, everyMs: 500 },
  );
}

/** A shell command as a document shows it, run with this cluster's kubeconfig and kubectl. */
export async function runDocumentedCommand(
  file: string,
  containing: string,
  { lang = 'sh', namespace }: { lang?: string; namespace?: string } = {},
): Promise<void> {
  const text = fs.readFileSync(path.join(repoRoot, file), 'utf8');
  const found = [...text.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))]
    .map((m) => m[1])
    .find((b) => b.includes(containing));
  if (!found) throw new Error(`${file} has no ${lang} block with ${containing}`);
  // The page's example namespace is the one the suite's load runs in.
  const block = namespace === undefined ? found : found.replaceAll('my-app', namespace);
  const env = clusterEnv();
  await run('bash', ['-euo', 'pipefail', '-c', block], {
    env: {
      ...process.env,
      KUBECONFIG: env.kubeconfig,
      PATH: `${path.dirname(env.kubectl)}:${process.env.PATH}`,
    },
  });
}

/**
 * The switch between modes as docs/policy-mode.md gives it for Helm: both first, then (towards
 * policy mode) the page's check that the policy is in force, run in `namespace`, then the new
 * mode alone.
 */
async function switchMode(to: 'policy' | 'webhook', namespace: string): Promise<void> {
  await helm(['upgrade', ...installArgs(), '--reuse-values', '--set', 'mode=both']);
  if (to === 'policy')
    await runDocumentedCommand('docs/policy-mode.md', 'policy-in-force', {
      lang: 'bash',
      namespace,
    });
  await helm(['upgrade', ...installArgs(), '--reuse-values', '--set', `mode=${to}`]);
}

/** The serving certificate a replica presents, as its SHA-256 fingerprint. */
function servedFingerprint(podIp: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: podIp, port: WEBHOOK_PORT, rejectUnauthorized: false, servername: 'pod-hardener' },
      () => {
        resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
        socket.end();
      },
    );
    socket.setTimeout(5000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.on('error', reject);
  });
}

async function secretCertificate(): Promise<string | undefined> {
  const secret = await getJson(['-n', RELEASE_NS, 'get', 'secret', SECRET]);
  const pem = secret.data?.['tls.crt'];
  return pem ? new X509Certificate(Buffer.from(pem, 'base64')).fingerprint256 : undefined;
}

/** The faults in the order they run; `api` is the suite's admin client. */
export function faults(api: ApiClient): Fault[] {
  return [
    {
      name: 'a webhook pod is killed (SIGKILL)',
      allowed: 60,
      why: 'calls sent to the killed replica fail until its endpoint is removed: up to 3 s of half the creations at 20/s (measured: under 1 s)',
      alert: "none (shorter than any alert's `for`)",
      async run() {
        const [pod] = (await webhookPods()).filter(ready);
        const status = pod.status.containerStatuses[0];
        process.kill(
          hostPid(String(status.containerID).replace(/^containerd:\/\//, '')),
          'SIGKILL',
        );
        await eventually(
          async () => {
            const now = (await webhookPods()).find((p) => p.metadata.name === pod.metadata.name);
            return (
              now?.status.containerStatuses[0].restartCount > status.restartCount && ready(now)
            );
          },
          { what: `${pod.metadata.name} restarted and ready`, timeoutMs: 120_000, everyMs: 500 },
        );
      },
    },
    {
      name: 'rolling restart (`kubectl rollout restart`)',
      allowed: 0,
      why: 'a new replica is ready before an old one stops, and a stopping one leaves the endpoints before it closes',
      alert: 'none',
      async run() {
        await kubectl(['-n', RELEASE_NS, 'rollout', 'restart', 'deployment/pod-hardener']);
        await webhookWhole();
      },
    },
    {
      name: '`helm upgrade` with changed values',
      allowed: 0,
      why: 'the same rollout as a restart',
      alert: 'none',
      async run() {
        await helm([
          'upgrade',
          ...installArgs(),
          '--reuse-values',
          '--set',
          'config.log.level=debug',
        ]);
        await webhookWhole();
      },
    },
    {
      name: 'node cordoned, webhook pods evicted (eviction API)',
      allowed: 0,
      why: 'the PodDisruptionBudget refuses the second eviction, so one replica serves throughout',
      alert: 'none',
      async run() {
        const node = clusterEnv().nodeName;
        await kubectl(['cordon', node]);
        try {
          const answers: number[] = [];
          for (const pod of await webhookPods()) {
            const r = await api.send(
              'POST',
              `/api/v1/namespaces/${RELEASE_NS}/pods/${pod.metadata.name}/eviction`,
              {
                apiVersion: 'policy/v1',
                kind: 'Eviction',
                metadata: { name: pod.metadata.name, namespace: RELEASE_NS },
              },
            );
            answers.push(r.status);
          }
          // One eviction granted, one refused by the budget (429): what a drain meets.
          if (!(answers.includes(201) && answers.includes(429)))
            throw new Error(
              `evictions answered ${answers.join(', ')}, not one granted and one refused`,
            );
          // The drain would now wait; pod creation goes on with one replica meanwhile.
          await new Promise((r) => setTimeout(r, 15_000));
        } finally {
          await kubectl(['uncordon', node]);
        }
        await webhookWhole();
      },
    },
    {
      name: 'serving certificate rotated (self-managed, on demand)',
      allowed: 0,
      why: 'the new certificate comes from the same CA, which the API server trusts; replicas swap it without dropping a connection',
      alert: 'none',
      async run() {
        const before = await secretCertificate();
        await runDocumentedCommand('docs/operations.md', `patch secret ${SECRET}`);
        let after: string | undefined;
        await eventually(
          async () => {
            after = await secretCertificate();
            return after !== undefined && after !== before;
          },
          { what: 'a replica to issue a new serving certificate', timeoutMs: 60_000, everyMs: 500 },
        );
        await eventually(
          async () => {
            const served = await Promise.all(
              (await webhookPods()).map((p) => servedFingerprint(p.status.podIP).catch(() => '')),
            );
            return served.length === 2 && served.every((f) => f === after);
          },
          { what: 'every replica to serve the new certificate', timeoutMs: 60_000, everyMs: 1000 },
        );
      },
    },
    {
      name: 'configuration changed (ConfigMap edited, reloaded)',
      allowed: 0,
      why: 'a reload swaps the policy between two reviews',
      alert: 'none; `PodHardenerConfigReloadFailing` if the new file is invalid',
      async run(under) {
        const deployment = await getJson(['-n', RELEASE_NS, 'get', 'deployment', 'pod-hardener']);
        const name = deployment.spec.template.spec.volumes.find((v: any) => v.configMap).configMap
          .name;
        const cm = await getJson(['-n', RELEASE_NS, 'get', 'configmap', name]);
        const text: string = cm.data['config.yaml'];
        if (!/runAsUser: 1000\b/.test(text)) throw new Error(`${name} sets no runAsUser: 1000`);
        await kubectl([
          '-n',
          RELEASE_NS,
          'patch',
          'configmap',
          name,
          '--type=merge',
          '-p',
          JSON.stringify({
            data: { 'config.yaml': text.replace(/runAsUser: 1000\b/, 'runAsUser: 1001') },
          }),
        ]);
        // Both replicas answer with the new UID: the kubelet updated the file, each reloaded it.
        let streak = 0;
        await eventually(
          async () => {
            const r = await api.send(
              'POST',
              `/api/v1/namespaces/${under.namespace}/pods?dryRun=All`,
              {
                apiVersion: 'v1',
                kind: 'Pod',
                metadata: { generateName: 'reload-' },
                spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
              },
            );
            streak = r.body?.spec?.securityContext?.runAsUser === 1001 ? streak + 1 : 0;
            return streak >= 10;
          },
          {
            what: 'both replicas to use the changed configuration',
            timeoutMs: 150_000,
            everyMs: 250,
          },
        );
      },
    },
    {
      name: 'uninstalled and installed again (`helm uninstall`, `helm install`)',
      allowed: 1500,
      why: "no webhook until the new replicas are ready; the kept guard (`guard.keepOnUninstall`) refuses every creation meanwhile: up to 60 s at 20/s, and the Deployment's retries",
      alert: '`PodHardenerGuardDenials`; `PodHardenerDown` if it stays uninstalled 5 min',
      async run() {
        await helm(['uninstall', RELEASE, '--namespace', RELEASE_NS, '--wait']);
        await helm(['install', ...installArgs()]);
        await webhookWhole();
      },
    },
    {
      name: 'switched to policy mode (`mode=both`, the in-force check, then `mode=policy`)',
      allowed: 0,
      why: 'the webhook serves until the policy is in force beside it, and goes only then',
      alert: 'none',
      async run(under) {
        await switchMode('policy', under.namespace);
        await eventually(async () => (await webhookPods()).length === 0, {
          what: 'the webhook pods to go',
          timeoutMs: 120_000,
          everyMs: 500,
        });
      },
    },
    {
      name: 'switched back to webhook mode (`mode=both`, then `mode=webhook`)',
      allowed: 0,
      why: 'the policy serves until the webhook replicas are ready beside it, and goes only then',
      alert: 'none',
      async run(under) {
        await switchMode('webhook', under.namespace);
        await webhookWhole();
      },
    },
    {
      name: 'kube-apiserver restarted (with its etcd)',
      allowed: 1500,
      why: 'no API server to answer: creations fail at the connection until it serves again, up to 60 s at 20/s',
      alert: "none of pod-hardener's (the API server's own)",
      async run() {
        await run('bash', [clusterScript, 'restart-controlplane'], { timeout: 300_000 });
        await webhookWhole();
      },
    },
  ];
}
