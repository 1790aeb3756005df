/**
 * The Helm chart against a real kube-apiserver (no node: the objects, not the pods): `helm
 * install` with default values is accepted server-side (the guard's CEL compiles, every object
 * validates); what the webhook writes at run time (the caBundle of both webhooks, the data of
 * the self-managed Secret) survives `helm upgrade` with changed values, which Helm 4 does by
 * server-side apply; `helm uninstall` leaves no object behind.
 */
import { BUILD_TIMEOUT_MS, CHART, goTool, runOk } from '../support/tools';
import { ControlPlane, startControlPlane } from './support/controlplane';
import { isReleaseRecord, releaseObjects } from '../support/helm-release';

jest.setTimeout(300_000);

const NS = 'pod-hardener';
let cp: ControlPlane;
let helm: string;

beforeAll(async () => {
  helm = goTool('helm');
  cp = await startControlPlane();
  await cp.kubectl(['create', 'namespace', NS]);
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await cp?.stop();
});

const helmRun = (args: string[]) =>
  runOk(helm, [...args, '--kubeconfig', cp.kubeconfig], { timeoutMs: 180_000 });
const getJson = async (args: string[]) =>
  JSON.parse((await cp.kubectl([...args, '-o', 'json'])).stdout);

/** Every object of this release left in the cluster, by kind and name; Helm's records apart. */
const chartObjects = async () =>
  (await releaseObjects((args) => cp.kubectl(args), NS)).filter((o) => !isReleaseRecord(o));

describe('helm install, upgrade, uninstall', () => {
  test('install with default values: every object accepted', async () => {
    helmRun(['install', 'pod-hardener', CHART, '--namespace', NS]);
    expect(await chartObjects()).toEqual([
      'clusterrole.rbac.authorization.k8s.io/pod-hardener-webhook-cabundle',
      'clusterrolebinding.rbac.authorization.k8s.io/pod-hardener-webhook-cabundle',
      'configmap/pod-hardener-config',
      'deployment.apps/pod-hardener',
      'mutatingwebhookconfiguration.admissionregistration.k8s.io/pod-hardener',
      'poddisruptionbudget.policy/pod-hardener',
      'role.rbac.authorization.k8s.io/pod-hardener-certs',
      'rolebinding.rbac.authorization.k8s.io/pod-hardener-certs',
      'secret/pod-hardener-certs',
      'service/pod-hardener',
      'serviceaccount/pod-hardener',
      'validatingadmissionpolicy.admissionregistration.k8s.io/pod-hardener-guard',
      'validatingadmissionpolicybinding.admissionregistration.k8s.io/pod-hardener-guard',
    ]);
    // The API server compiled the guard's expressions without a warning.
    const policy = await getJson(['get', 'validatingadmissionpolicy', 'pod-hardener-guard']);
    expect(policy.status?.typeChecking?.expressionWarnings ?? []).toEqual([]);
  });

  test('upgrade with changed values keeps what the webhook wrote, applies the rest', async () => {
    // What the self-managed bootstrap writes: the caBundle of both webhooks, the Secret's data.
    const caBundle = Buffer.from(
      '-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n',
    ).toString('base64');
    await cp.kubectl([
      'patch',
      'mutatingwebhookconfiguration',
      'pod-hardener',
      '--type=json',
      '-p',
      JSON.stringify(
        [0, 1].map((i) => ({
          op: 'add',
          path: `/webhooks/${i}/clientConfig/caBundle`,
          value: caBundle,
        })),
      ),
    ]);
    await cp.kubectl([
      '-n',
      NS,
      'patch',
      'secret',
      'pod-hardener-certs',
      '--type=merge',
      '-p',
      JSON.stringify({ data: { 'ca.crt': caBundle } }),
    ]);
    const before = await getJson(['-n', NS, 'get', 'deployment', 'pod-hardener']);

    helmRun([
      'upgrade',
      'pod-hardener',
      CHART,
      '--namespace',
      NS,
      '--set',
      'webhook.timeoutSeconds=7',
      '--set',
      'replicas=3',
      '--set',
      'config.log.level=debug',
    ]);

    const mwc = await getJson([
      'get',
      'mutatingwebhookconfiguration',
      'pod-hardener',
      '--show-managed-fields',
    ]);
    expect(mwc.webhooks.map((w: any) => [w.clientConfig.caBundle, w.timeoutSeconds])).toEqual([
      [caBundle, 7],
      [caBundle, 7],
    ]);
    expect((await getJson(['-n', NS, 'get', 'secret', 'pod-hardener-certs'])).data).toEqual({
      'ca.crt': caBundle,
    });
    const after = await getJson(['-n', NS, 'get', 'deployment', 'pod-hardener']);
    expect(after.spec.replicas).toBe(3);
    // Helm 4 applied it server-side, so the fields it does not set stay with their writers.
    expect(mwc.metadata.managedFields.map((f: any) => [f.manager, f.operation])).toEqual(
      expect.arrayContaining([
        ['helm', 'Apply'],
        ['kubectl-patch', 'Update'],
      ]),
    );
    // A changed config.yaml rolls the pods.
    expect(after.spec.template.metadata.annotations['checksum/config']).not.toBe(
      before.spec.template.metadata.annotations['checksum/config'],
    );
    const configMap = await getJson(['-n', NS, 'get', 'configmap', 'pod-hardener-config']);
    expect(configMap.data['config.yaml']).toMatch(/level: debug/);
  });

  test('upgrade to manual certificates without the guard: the self-managed objects and the guard go', async () => {
    helmRun([
      'upgrade',
      'pod-hardener',
      CHART,
      '--namespace',
      NS,
      '--reuse-values',
      '--set',
      'certificates.mode=manual',
      '--set',
      'guard.enabled=false',
    ]);
    const objects = await chartObjects();
    expect(objects.filter((o) => /certs|cabundle|guard/.test(o))).toEqual([]);
    const mwc = await getJson(['get', 'mutatingwebhookconfiguration', 'pod-hardener']);
    expect(mwc.webhooks.map((w: any) => w.failurePolicy)).toEqual(['Fail', 'Ignore']);
  });

  test('uninstall leaves nothing behind', async () => {
    helmRun(['uninstall', 'pod-hardener', '--namespace', NS, '--wait']);
    expect(await chartObjects()).toEqual([]);
    // Helm's own release records go too.
    expect(
      (
        await cp.kubectl(['-n', NS, 'get', 'secrets', '-l', 'owner=helm', '-o', 'name'])
      ).stdout.trim(),
    ).toBe('');
  });
});
