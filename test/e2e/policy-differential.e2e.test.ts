// Policy mode proven equal to the webhook on a real kube-apiserver: thousands of generated pods
// (the property tests' arbitraries) are created with server-side dry run in a namespace bound to
// the MutatingAdmissionPolicy that `pod-hardener policy` renders and in a namespace served by
// the webhook, under the same configuration. The API server stores a pod's spec the same way in
// both, or refuses it in both; metadata differs only by the webhook's summary annotation, which
// a policy cannot write. New ephemeral containers (pods/ephemeralcontainers) are compared too.
// The API server runs the policy in process, so the run also watches that it stays up.
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_POLICY, type PolicySettings } from '../../src/config/schema';
import { Annotations } from '../../src/names';
import { renderPolicyMode } from '../../src/policy/render';
import { podArb } from '../support/arbitraries';
import { startControlPlane, type ControlPlane } from './support/controlplane';
import { apiClient, dryRunCreate, pool, type ApiClient } from './support/dry-run';
import { shippedWebhookConfiguration, startWebhook, type WebhookProcess } from './support/webhook';

const BUILD_AND_START_TIMEOUT_MS = 60 * 60 * 1000;
const PODS = Number(process.env.POD_HARDENER_DIFF_PODS ?? 5000);
const CONCURRENCY = 16;
// 5,000 pods, two creates each: about 3 minutes on a quiet two-core machine, much longer on a
// busy one.
const RUN_TIMEOUT_MS = 20 * 60 * 1000;

interface Setup {
  key: string;
  settings: PolicySettings;
  /** Share of the pods run under it. */
  share: number;
  seed: number;
}

// Two configurations that between them turn every setting both ways. Skip namespaces name both
// namespaces of a pair or neither, so the namespace is not a difference between them.
const SETUPS: Setup[] = [
  {
    key: 'a',
    share: 0.6,
    seed: 36,
    settings: {
      ...DEFAULT_POLICY,
      capabilityCeiling: [...DEFAULT_POLICY.capabilityCeiling, 'SYS_ADMIN'],
      skipNamespaces: ['*'],
      exemptContainers: [{ name: 'istio-init', image: 'docker.io/istio/proxyv2:*' }],
      userNamespaces: 'on',
    },
  },
  {
    key: 'b',
    share: 0.4,
    seed: 1365,
    settings: {
      ...DEFAULT_POLICY,
      runAsUser: 2000,
      runAsGroup: 4000,
      runAsNonRoot: false,
      fsGroup: false,
      seccompProfile: false,
      unprivilegedPorts: 'never',
      capabilityCeiling: ['*'],
      skipNamespaces: [],
      exemptContainers: [{ name: 'debug' }],
    },
  },
];

let cp: ControlPlane;
let client: ApiClient;
const webhooks: WebhookProcess[] = [];

const policyNamespace = (s: Setup) => `policy-${s.key}`;
const webhookNamespace = (s: Setup) => `webhook-${s.key}`;

async function apply(objects: unknown[]): Promise<void> {
  await cp.kubectl(['apply', '--server-side', '-f', '-'], {
    input: objects.map((o) => JSON.stringify(o)).join('\n'),
  });
}

/** The policy-mode objects of a setup, the mutating binding pointed at its policy namespace only. */
function policyObjects(s: Setup): any[] {
  const objects = renderPolicyMode(s.settings, { name: `ph-${s.key}` }) as any[];
  for (const o of objects) {
    if (o.kind === 'MutatingAdmissionPolicyBinding')
      o.spec.matchResources = { namespaceSelector: { matchLabels: { diff: policyNamespace(s) } } };
  }
  return objects;
}

async function startSetup(s: Setup): Promise<void> {
  const webhook = await startWebhook({
    hardening: {
      runAsUser: s.settings.runAsUser,
      runAsGroup: s.settings.runAsGroup,
      runAsNonRoot: s.settings.runAsNonRoot,
      fsGroup: s.settings.fsGroup,
      seccompProfile: s.settings.seccompProfile,
      unprivilegedPorts: s.settings.unprivilegedPorts,
      userNamespaces: s.settings.userNamespaces,
    },
    exceptions: {
      capabilityCeiling: s.settings.capabilityCeiling,
      skipNamespaces: s.settings.skipNamespaces,
      exemptContainers: s.settings.exemptContainers,
    },
    server: { shutdownDelaySeconds: 0 },
  });
  webhooks.push(webhook);
  const config = await shippedWebhookConfiguration(cp, webhook.baseUrl, webhook.caPem);
  config.metadata.name = `pod-hardener-${s.key}`;
  config.webhooks = config.webhooks
    .filter((w: any) => w.name.startsWith('enforce.'))
    .map((w: any) => ({
      ...w,
      // Fail closed here: a webhook that could not be called must show as a difference.
      failurePolicy: 'Fail',
      namespaceSelector: { matchLabels: { diff: webhookNamespace(s) } },
    }));
  await apply([
    config,
    ...policyObjects(s),
    ...[policyNamespace(s), webhookNamespace(s)].map((name) => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { diff: name } },
    })),
  ]);
}

const SERVER_FIELDS = ['namespace', 'uid', 'creationTimestamp', 'resourceVersion', 'managedFields'];

/** What must be equal: the spec, and the metadata but for the webhook's summary annotation. */
function comparable(answer: { status: number; body: any }): unknown {
  if (answer.status !== 201 && answer.status !== 200)
    return { refused: answer.status, reason: answer.body?.reason };
  const metadata = { ...answer.body.metadata };
  for (const f of SERVER_FIELDS) delete metadata[f];
  if (metadata.annotations) {
    const { [Annotations.hardened]: _summary, ...rest } = metadata.annotations;
    metadata.annotations = rest;
    if (Object.keys(rest).length === 0) delete metadata.annotations;
  }
  return { metadata, spec: answer.body.spec };
}

async function livez(): Promise<number> {
  return (await client.send('GET', '/livez')).status;
}

beforeAll(async () => {
  cp = await startControlPlane();
  client = apiClient(cp);
  for (const s of SETUPS) await startSetup(s);
  // The policy takes effect once the API server's informers have it: wait until a pod in the
  // policy namespace comes back hardened.
  for (const s of SETUPS) {
    const probe = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'probe' },
      spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
    };
    for (let i = 0; ; i++) {
      const [viaPolicy, viaWebhook] = await Promise.all([
        dryRunCreate(client, policyNamespace(s), probe),
        dryRunCreate(client, webhookNamespace(s), probe),
      ]);
      const hardened = (a: any) =>
        a.body?.spec?.containers?.[0]?.securityContext?.capabilities?.drop?.includes('ALL');
      if (hardened(viaPolicy) && hardened(viaWebhook)) break;
      if (i > 100) throw new Error(`setup ${s.key}: the policy or the webhook never took effect`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}, BUILD_AND_START_TIMEOUT_MS);

afterAll(async () => {
  client?.close();
  await Promise.all(webhooks.map((w) => w.stop()));
  await cp?.stop();
});

describe('policy mode against the webhook, on kube-apiserver', () => {
  test('the rendered objects are accepted as they are (the guard and the audit policy too)', async () => {
    for (const s of SETUPS) {
      const stream = parseAllDocuments(
        (await cp.kubectl(['get', 'mutatingadmissionpolicy', `ph-${s.key}`, '-o', 'yaml'])).stdout,
      );
      expect(stream[0].toJS().spec.mutations.length).toBeGreaterThan(5);
      for (const kind of ['validatingadmissionpolicy', 'validatingadmissionpolicybinding'])
        await cp.kubectl(['get', kind, `ph-${s.key}-guard`, `ph-${s.key}-audit`]);
    }
  });

  test(
    `${PODS} generated pods: the same stored spec, the same refusals`,
    async () => {
      const started = Date.now();
      let compared = 0;
      let refusedByBoth = 0;
      const differences: string[] = [];
      for (const s of SETUPS) {
        const pods = fc.sample(podArb, { numRuns: Math.round(PODS * s.share), seed: s.seed });
        await pool(pods, CONCURRENCY, async (pod, i) => {
          const named = { ...pod, metadata: { ...pod.metadata, name: `p${i}` } };
          const [viaPolicy, viaWebhook] = await Promise.all([
            dryRunCreate(client, policyNamespace(s), named),
            dryRunCreate(client, webhookNamespace(s), named),
          ]);
          const [p, w] = [comparable(viaPolicy), comparable(viaWebhook)];
          compared++;
          if ((p as any).refused !== undefined && (w as any).refused !== undefined) refusedByBoth++;
          if (!equal(p, w)) {
            if (differences.length < 5)
              differences.push(
                `setup ${s.key}, pod p${i}:\n  sent    ${JSON.stringify(pod)}\n  policy  ${JSON.stringify(p)}` +
                  `${viaPolicy.status >= 300 ? ` ${JSON.stringify(viaPolicy.body?.message)}` : ''}\n` +
                  `  webhook ${JSON.stringify(w)}${viaWebhook.status >= 300 ? ` ${JSON.stringify(viaWebhook.body?.message)}` : ''}`,
              );
            else differences.push('');
          }
        });
      }
      const seconds = (Date.now() - started) / 1000;
      process.stderr.write(
        `policy differential: ${compared} pods in ${seconds.toFixed(1)} s, ${refusedByBoth} refused by both, ${differences.length} differences\n`,
      );
      expect(differences.filter((d) => d !== '').join('\n\n')).toBe('');
      expect(differences).toHaveLength(0);
      // Most pods must be stored, or the comparison says little.
      expect(refusedByBoth).toBeLessThan(compared / 2);
    },
    RUN_TIMEOUT_MS,
  );

  test(
    'new ephemeral containers (pods/ephemeralcontainers): the same stored containers',
    async () => {
      const s = SETUPS[0];
      const pods = fc
        .sample(podArb, { numRuns: 200, seed: 7 })
        .filter((p) => p.spec.os === undefined)
        .slice(0, 40);
      let updated = 0;
      const differences: string[] = [];
      await pool(pods, 8, async (pod, i) => {
        const name = `e${i}`;
        const created = await Promise.all(
          [policyNamespace(s), webhookNamespace(s)].map((ns) =>
            client.send('POST', `/api/v1/namespaces/${ns}/pods`, {
              ...pod,
              metadata: { ...pod.metadata, name, namespace: ns },
            }),
          ),
        );
        if (created.some((c) => c.status !== 201)) return;
        const debugger_ = {
          name: 'debugger',
          image: 'registry.example/debug:1',
          securityContext: pod.spec.containers[0].securityContext ?? undefined,
          targetContainerName: pod.spec.containers[0].name,
        };
        const answers = await Promise.all(
          created.map((c) =>
            client.send(
              'PUT',
              `/api/v1/namespaces/${c.body.metadata.namespace}/pods/${name}/ephemeralcontainers?dryRun=All`,
              {
                ...c.body,
                spec: {
                  ...c.body.spec,
                  ephemeralContainers: [JSON.parse(JSON.stringify(debugger_))],
                },
              },
            ),
          ),
        );
        const [p, w] = answers.map((a) =>
          a.status === 200 ? a.body.spec.ephemeralContainers : { refused: a.status },
        );
        updated++;
        if (!equal(p, w))
          differences.push(`pod ${name}: policy ${JSON.stringify(p)} webhook ${JSON.stringify(w)}`);
      });
      expect(differences.join('\n')).toBe('');
      expect(updated).toBeGreaterThan(10);
    },
    RUN_TIMEOUT_MS,
  );

  // Confinement, the root group and a Bidirectional mount keeping privileged, with the expected
  // stored pod written out here (docs/hardening.md, "The rules"), not taken from the engine, so
  // a rule wrong in both the engine and the policy still fails.
  test('confinement, the root group and Bidirectional mounts, as the contract says', async () => {
    const s = SETUPS[1];
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'confined',
        annotations: { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' },
      },
      spec: {
        securityContext: {
          runAsUser: 1000,
          runAsGroup: 3000,
          fsGroup: 0,
          supplementalGroups: [0, 4000],
          appArmorProfile: { type: 'Unconfined' },
          seLinuxOptions: { type: 'spc_t', level: 's0:c1,c2' },
        },
        volumes: [{ name: 'v', emptyDir: {} }],
        containers: [
          {
            name: 'app',
            image: 'registry.example/app:1',
            securityContext: {
              appArmorProfile: { type: 'Unconfined' },
              seLinuxOptions: { type: 'container_t' },
              procMount: 'Unmasked',
            },
          },
          {
            name: 'mounter',
            image: 'registry.example/app:1',
            securityContext: { privileged: true },
            volumeMounts: [{ name: 'v', mountPath: '/v', mountPropagation: 'Bidirectional' }],
          },
        ],
      },
    };
    const r = await dryRunCreate(client, policyNamespace(s), pod);
    expect([r.status, r.body?.message]).toEqual([201, undefined]);
    const { spec, metadata } = r.body;
    expect(metadata.annotations ?? {}).toEqual({});
    expect(spec.securityContext).toMatchObject({ fsGroup: 3000, supplementalGroups: [4000] });
    expect(spec.securityContext.appArmorProfile).toBeUndefined();
    expect(spec.securityContext.seLinuxOptions).toEqual({ level: 's0:c1,c2' });
    const [app, mounter] = spec.containers;
    expect(app.securityContext.appArmorProfile).toBeUndefined();
    expect(app.securityContext.seLinuxOptions).toEqual({ type: 'container_t' });
    expect(app.securityContext.procMount).toBe('Default');
    expect(mounter.securityContext.privileged).toBe(true);
    expect(mounter.securityContext.allowPrivilegeEscalation).toBeUndefined();
    expect(mounter.securityContext.capabilities.drop).toEqual(['ALL']);
  });

  // The policy's CEL runs under kube-apiserver's cost limits. Pods up to the 3 MiB request limit:
  // many containers (the policy's work grows with them) padded with env values, and one huge
  // allowlist annotation. Each gets an answer in bounded time, hardened or refused, never a hang;
  // what they get is printed for docs/policy-mode.md.
  test(
    'pods near the 3 MiB body limit: hardened or refused in bounded time, the same as the webhook for the ones it stores',
    async () => {
      const s = SETUPS[0];
      const rows: string[] = [];
      const container = (i: number, pad: number) => ({
        name: `c${i}`,
        image: 'registry.example/app:1',
        env: [{ name: 'PAD', value: 'x'.repeat(pad) }],
      });
      const shapes: [string, any][] = [10, 100, 250, 500, 1000].map((n) => [
        `${n} containers`,
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `big-${n}` },
          spec: {
            containers: Array.from({ length: n }, (_, i) =>
              container(i, Math.floor((2.9 * 1024 * 1024) / n) - 200),
            ),
          },
        },
      ]);
      shapes.push([
        '2.9 MiB allowlist annotation',
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: 'big-annotation',
            annotations: {
              'pod-hardener.io/allowed-capabilities': 'NET_BIND_SERVICE,'.repeat(
                Math.floor((2.9 * 1024 * 1024) / 17),
              ),
            },
          },
          spec: { containers: [container(0, 10)] },
        },
      ]);
      for (const [what, pod] of shapes) {
        const bytes = JSON.stringify(pod).length;
        const started = Date.now();
        const [p, w] = await Promise.all([
          dryRunCreate(client, policyNamespace(s), pod),
          dryRunCreate(client, webhookNamespace(s), pod),
        ]);
        const ms = Date.now() - started;
        const outcome = (a: { status: number; body: any }) =>
          a.status === 201
            ? 'stored, hardened'
            : `refused ${a.status}: ${String(a.body?.message ?? '').slice(-120)}`;
        rows.push(
          `${what} (${(bytes / 1024 / 1024).toFixed(2)} MiB): policy ${outcome(p)}; webhook ${outcome(w)}; ${ms} ms`,
        );
        expect(ms).toBeLessThan(60_000);
        if (p.status === 201 && w.status === 201) expect(comparable(p)).toEqual(comparable(w));
      }
      process.stderr.write(`policy cost at size:\n${rows.join('\n')}\n`);
      // The ordinary pod of a hundred containers is within the limits.
      expect(rows[1]).toMatch(/policy stored, hardened/);
    },
    RUN_TIMEOUT_MS,
  );

  test('the API server stayed up for the whole run: live, and no panic in its log', async () => {
    expect(await livez()).toBe(200);
    const panics = cp
      .logTail(100_000)
      .split('\n')
      // A recovered handler panic or a crashed goroutine; not the request log's "panicked: false".
      .filter((line) =>
        /(^|\s)panic[:(]|Observed a panic|panic'd|goroutine \d+ \[running\]/.test(line),
      );
    expect(panics).toEqual([]);
  });
});

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sorted((value as Record<string, unknown>)[k])]),
    );
  return value;
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}
