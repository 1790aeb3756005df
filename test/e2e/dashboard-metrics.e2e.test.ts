// The API server's series that the Grafana dashboard reads, scraped from a real kube-apiserver
// after the traffic that makes each appear (its vectors export nothing until first observed):
// pods admitted by the webhook, by a webhook that cannot be called (failing closed and failing
// open), and by the policy-mode MutatingAdmissionPolicy, guard and audit policy. Each name the dashboard lists
// must be exported, with every label the dashboard's queries match or group by.
import { DEFAULT_POLICY } from '../../src/config/schema';
import { renderPolicyMode } from '../../src/policy/render';
import {
  APISERVER_SAMPLES,
  exposedLabels,
  exposedSamples,
  labelsByMetric,
} from '../support/dashboard';
import { startControlPlane, type ControlPlane } from './support/controlplane';
import { apiClient, dryRunCreate, type ApiClient } from './support/dry-run';
import {
  freePort,
  shippedWebhookConfiguration,
  startWebhook,
  type WebhookProcess,
} from './support/webhook';

const BUILD_AND_START_TIMEOUT_MS = 60 * 60 * 1000;

let cp: ControlPlane;
let client: ApiClient;
let webhook: WebhookProcess;

const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'probe' },
  spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
};
const hardened = (a: any) =>
  a.body?.spec?.containers?.[0]?.securityContext?.capabilities?.drop?.includes('ALL') === true;
const selector = (name: string) => ({ matchLabels: { dash: name } });

beforeAll(async () => {
  cp = await startControlPlane();
  client = apiClient(cp);
  webhook = await startWebhook({ server: { shutdownDelaySeconds: 0 } });
  const config = await shippedWebhookConfiguration(cp, webhook.baseUrl, webhook.caPem);
  config.webhooks = config.webhooks
    .filter((w: any) => w.name.startsWith('enforce.'))
    .map((w: any) => ({ ...w, namespaceSelector: selector('webhook') }));
  // Nothing listens on this port: calls fail, closed in one namespace and open in the other.
  const closed = `https://127.0.0.1:${await freePort()}/mutate`;
  const broken = (name: string, failurePolicy: string) => ({
    ...config.webhooks[0],
    name: `${name}.dashboard.test`,
    failurePolicy,
    clientConfig: { url: closed, caBundle: config.webhooks[0].clientConfig.caBundle },
    namespaceSelector: selector(name),
  });
  const brokenConfig = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'dashboard-broken' },
    webhooks: [broken('fail-closed', 'Fail'), broken('fail-open', 'Ignore')],
  };
  // The mutating policy in one namespace; the guard and the audit policy there and in one
  // without the mutating policy, where they find every pod unhardened: the API server counts
  // their checks only when they fail (deny, warn, audit), never when a pod passes.
  const policy = (renderPolicyMode(DEFAULT_POLICY, { name: 'pod-hardener' }) as any[]).map((o) =>
    o.kind.endsWith('Binding')
      ? {
          ...o,
          spec: {
            ...o.spec,
            matchResources: {
              namespaceSelector:
                o.kind === 'MutatingAdmissionPolicyBinding'
                  ? selector('policy')
                  : {
                      matchExpressions: [
                        { key: 'dash', operator: 'In', values: ['policy', 'guard-only'] },
                      ],
                    },
            },
          },
        }
      : o,
  );
  const namespaces = ['webhook', 'fail-closed', 'fail-open', 'policy', 'guard-only'].map(
    (name) => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { dash: name } },
    }),
  );
  await cp.kubectl(['apply', '--server-side', '-f', '-'], {
    input: [config, brokenConfig, ...policy, ...namespaces]
      .map((o) => JSON.stringify(o))
      .join('\n'),
  });
  // The configurations take effect once the API server's informers have them.
  for (let i = 0; ; i++) {
    const [viaPolicy, viaWebhook, closedAnswer, guarded] = await Promise.all([
      dryRunCreate(client, 'policy', POD),
      dryRunCreate(client, 'webhook', POD),
      dryRunCreate(client, 'fail-closed', POD),
      dryRunCreate(client, 'guard-only', POD),
    ]);
    const refused = (a: { status: number }) => a.status >= 400;
    if (hardened(viaPolicy) && hardened(viaWebhook) && refused(closedAnswer) && refused(guarded))
      break;
    if (i > 150) throw new Error('the policy or the webhooks never took effect');
    await new Promise((r) => setTimeout(r, 200));
  }
  expect((await dryRunCreate(client, 'fail-open', POD)).status).toBe(201);
}, BUILD_AND_START_TIMEOUT_MS);

afterAll(async () => {
  client?.close();
  await webhook?.stop();
  await cp?.stop();
});

describe('the API server series the Grafana dashboard reads', () => {
  test('each is exported by kube-apiserver 1.36, with the labels the queries use', async () => {
    const text = (await cp.kubectl(['get', '--raw', '/metrics'])).stdout;
    const samples = exposedSamples(text);
    expect(APISERVER_SAMPLES.filter((n) => !samples.has(n))).toEqual([]);
    const missingLabels: string[] = [];
    for (const [metric, labels] of labelsByMetric()) {
      if (!APISERVER_SAMPLES.includes(metric)) continue;
      const exposed = exposedLabels(text, metric);
      for (const l of labels) if (!exposed.has(l)) missingLabels.push(`${metric} ${l}`);
    }
    expect(missingLabels).toEqual([]);
  });
});
