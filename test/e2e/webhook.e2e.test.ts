// The webhook proven against a real kube-apiserver, which calls it, applies its patch,
// validates the result and stores the pod. Every assertion reads the object back from the API
// server: after patching, the API server decodes non-strictly, so a wrong field name would be
// dropped silently and only the stored object tells the truth.
import { createServer, type Server } from 'node:https';
import { DEFAULT_POLICY } from '../../src/config/schema';
import { generateCA, issueServingCertificate } from '../../src/certs/generate';
import { Annotations, Labels, LabelValues } from '../../src/names';
import { startControlPlane, type ControlPlane } from './support/controlplane';
import {
  freePort,
  registerWebhook,
  startWebhook,
  unregisterWebhook,
  type WebhookProcess,
} from './support/webhook';
import { eventually } from '../support/eventually';
import { HARDENED_POD_SC, hardenedContainerSc, STORED_POD_CLAIMS } from '../support/pods';

const BUILD_AND_START_TIMEOUT_MS = 60 * 60 * 1000;

let cp: ControlPlane;
let webhook: WebhookProcess;

const legacyContainer = {
  name: 'app',
  image: 'registry.example/legacy:1',
  securityContext: { capabilities: { add: ['NET_BIND_SERVICE', 'SYS_TIME'] } },
};

function podManifest(
  name: string,
  namespace: string,
  spec: Record<string, unknown> = {},
  annotations?: Record<string, string>,
): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec: { containers: [structuredClone(legacyContainer)], ...spec },
  };
}

async function namespace(name: string, labels: Record<string, string> = {}): Promise<void> {
  await cp.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }),
  });
}

async function create(manifest: unknown, extra: string[] = []) {
  return cp.kubectl(['create', '-f', '-', '-o', 'json', ...extra], {
    input: JSON.stringify(manifest),
    allowFail: true,
  });
}

async function getPod(namespaceName: string, name: string): Promise<any> {
  return JSON.parse(
    (await cp.kubectl(['get', 'pod', name, '-n', namespaceName, '-o', 'json'])).stdout,
  );
}

const HARDENED_CONTAINER_SC = hardenedContainerSc();

beforeAll(async () => {
  cp = await startControlPlane({ withControllerManager: true });
  webhook = await startWebhook({
    exceptions: {
      capabilityCeiling: [...DEFAULT_POLICY.capabilityCeiling, 'SYS_ADMIN'],
      // The operator allows the skip annotations in `enforced` only; `strict` is enforced too.
      skipNamespaces: ['enforced'],
    },
    server: { shutdownDelaySeconds: 1 },
  });
  await registerWebhook(cp, webhook.baseUrl, webhook.caPem);
  await namespace('plain');
  await namespace('enforced', { [Labels.enabled]: LabelValues.enforce });
  await namespace('audited', { [Labels.enabled]: LabelValues.audit });
  await namespace('strict', { [Labels.enabled]: LabelValues.enforce });
  await namespace('restricted', {
    [Labels.enabled]: LabelValues.enforce,
    'pod-security.kubernetes.io/enforce': 'restricted',
  });
}, BUILD_AND_START_TIMEOUT_MS);

afterAll(async () => {
  await webhook?.stop();
  await cp?.stop();
});

describe('pods created through a real kube-apiserver', () => {
  it('a namespace without the label: the pod is stored unchanged', async () => {
    expect((await create(podManifest('legacy', 'plain'))).code).toBe(0);
    const pod = await getPod('plain', 'legacy');
    expect(pod.spec.securityContext).toEqual({});
    expect(pod.spec.containers[0].securityContext).toEqual(legacyContainer.securityContext);
    expect(pod.metadata.annotations?.[Annotations.hardened]).toBeUndefined();
  });

  it('label enabled=true: a legacy root pod is stored hardened, and warnings name what changed', async () => {
    const res = await create(podManifest('legacy', 'enforced'));
    expect(res.code).toBe(0);
    expect(res.stderr).toContain(
      'Warning: pod-hardener: container "app": capabilities.add: removed NET_BIND_SERVICE,SYS_TIME (not allowlisted)',
    );
    const pod = await getPod('enforced', 'legacy');
    expect(pod.spec.securityContext).toEqual(HARDENED_POD_SC);
    expect(pod.spec.containers[0].securityContext).toEqual(HARDENED_CONTAINER_SC);
    expect(pod.metadata.annotations[Annotations.hardened]).toContain('runAsUser=1000 [pod]');
  });

  it('Pod Security restricted: the legacy pod is admitted because of the mutation', async () => {
    const res = await create(podManifest('legacy', 'restricted'));
    expect(res.stderr).not.toContain('violate');
    expect(res.code).toBe(0);
    expect((await getPod('restricted', 'legacy')).spec.securityContext).toEqual(HARDENED_POD_SC);
  });

  it('label audit: the pod is stored unchanged and the warnings reach the client', async () => {
    const res = await create(podManifest('legacy', 'audited'));
    expect(res.code).toBe(0);
    expect(res.stderr).toContain(
      'Warning: pod-hardener (audit only, nothing changed): would change pod: runAsUser unset -> 1000',
    );
    const pod = await getPod('audited', 'legacy');
    expect(pod.spec.securityContext).toEqual({});
    expect(pod.spec.containers[0].securityContext).toEqual(legacyContainer.securityContext);
  });

  it('skip: the pod is stored untouched', async () => {
    expect(
      (await create(podManifest('skipped', 'enforced', {}, { [Annotations.skip]: 'true' }))).code,
    ).toBe(0);
    const pod = await getPod('enforced', 'skipped');
    expect(pod.spec.securityContext).toEqual({});
    expect(pod.spec.containers[0].securityContext).toEqual(legacyContainer.securityContext);
  });

  it('skip outside the namespaces the operator allows: the pod is hardened, and the warning names the setting', async () => {
    const res = await create(podManifest('skipped', 'strict', {}, { [Annotations.skip]: 'true' }));
    expect(res.code).toBe(0);
    expect(res.stderr).toContain(
      `annotation ${Annotations.skip} ignored: skipping is not allowed in namespace "strict"; a cluster operator can allow it by adding the namespace to exceptions.skipNamespaces`,
    );
    const pod = await getPod('strict', 'skipped');
    expect(pod.spec.securityContext).toEqual(HARDENED_POD_SC);
  });

  it('skip-containers: the named container is untouched, the other hardened at container level', async () => {
    const manifest = podManifest(
      'mesh',
      'enforced',
      {
        initContainers: [
          {
            name: 'istio-init',
            image: 'istio/proxyv2:1.24',
            securityContext: { capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
          },
        ],
      },
      { [Annotations.skipContainers]: 'istio-init' },
    );
    expect((await create(manifest)).code).toBe(0);
    const pod = await getPod('enforced', 'mesh');
    expect(pod.spec.initContainers[0].securityContext).toEqual({
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'] },
    });
    expect(pod.spec.securityContext).toEqual({});
    expect(pod.spec.containers[0].securityContext).toEqual({
      ...HARDENED_CONTAINER_SC,
      ...HARDENED_POD_SC,
    });
  });

  it('pod-wide and per-container capability allowlists keep only what they name', async () => {
    const manifest = podManifest(
      'allow',
      'enforced',
      {
        containers: [
          {
            name: 'web',
            image: 'nginx',
            securityContext: { capabilities: { add: ['NET_BIND_SERVICE', 'SYS_TIME'] } },
          },
          {
            name: 'clock',
            image: 'chrony',
            securityContext: { capabilities: { add: ['cap_sys_time', 'CHOWN'] } },
          },
        ],
      },
      {
        [Annotations.allowedCapabilities]: 'NET_BIND_SERVICE',
        [`${Annotations.containerCapabilitiesPrefix}clock`]: 'SYS_TIME',
      },
    );
    // SYS_TIME is above the default ceiling: the per-container annotation is ignored for it.
    const res = await create(manifest);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('above the operator');
    const pod = await getPod('enforced', 'allow');
    expect(pod.spec.containers[0].securityContext.capabilities).toEqual({
      add: ['NET_BIND_SERVICE'],
      drop: ['ALL'],
    });
    expect(pod.spec.containers[1].securityContext.capabilities).toEqual({ drop: ['ALL'] });
  });

  it('a privileged pod, an allowlisted SYS_ADMIN and a Windows pod are all accepted (no 422)', async () => {
    const privileged = podManifest('privileged', 'enforced', {
      containers: [{ name: 'app', image: 'x', securityContext: { privileged: true } }],
    });
    const sysAdmin = podManifest(
      'sysadmin',
      'enforced',
      {
        containers: [
          {
            name: 'app',
            image: 'x',
            securityContext: { capabilities: { add: ['CAP_SYS_ADMIN'] } },
          },
        ],
      },
      { [Annotations.allowedCapabilities]: 'SYS_ADMIN' },
    );
    const windows = podManifest('windows', 'enforced', {
      os: { name: 'windows' },
      containers: [{ name: 'app', image: 'mcr.microsoft.com/windows/nanoserver:ltsc2022' }],
    });
    for (const manifest of [privileged, sysAdmin, windows]) {
      const res = await create(manifest);
      expect({
        name: manifest.metadata.name,
        code: res.code,
        stderr: res.code === 0 ? '' : res.stderr,
      }).toEqual({ name: manifest.metadata.name, code: 0, stderr: '' });
    }
    expect((await getPod('enforced', 'privileged')).spec.containers[0].securityContext).toEqual({
      privileged: false,
      ...HARDENED_CONTAINER_SC,
    });
    expect((await getPod('enforced', 'sysadmin')).spec.containers[0].securityContext).toEqual({
      capabilities: { add: ['CAP_SYS_ADMIN'], drop: ['ALL'] },
    });
    const win = await getPod('enforced', 'windows');
    expect(win.spec.securityContext).toEqual({});
    expect(win.spec.containers[0].securityContext).toBeUndefined();
  });

  it('kubectl debug: the ephemeral container is stored hardened', async () => {
    // The mesh pod keeps a root pod level (istio-init relies on it), so the debug container
    // needs its own identity as well.
    await cp.kubectl([
      'debug',
      '-n',
      'enforced',
      'pod/mesh',
      '--image=busybox:1.36',
      '-c',
      'debugger',
      '--profile=general',
    ]);
    const pod = await getPod('enforced', 'mesh');
    const debuggerSc = pod.spec.ephemeralContainers.find(
      (c: any) => c.name === 'debugger',
    ).securityContext;
    expect(debuggerSc).toMatchObject({ ...HARDENED_CONTAINER_SC, ...HARDENED_POD_SC });
    expect(pod.spec.initContainers[0].securityContext).toEqual({
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'] },
    });
  });

  it.each(STORED_POD_CLAIMS)(
    'a raw ephemeral-containers update whose body claims %s stores a hardened container',
    async (what, claim) => {
      // The stored pod runs with a root pod level (its init container is left untouched), so an
      // ephemeral container that inherited it would run as root.
      const name = `raw-${what.replace(/[^a-z]+/g, '-').replace(/-$/, '')}`;
      const manifest = podManifest(name, 'enforced', {}, { [Annotations.skipContainers]: 'app' });
      expect((await create(manifest)).code).toBe(0);
      const body = await getPod('enforced', name);
      body.metadata.annotations ??= {};
      claim(body);
      body.spec.ephemeralContainers = [
        {
          name: 'attacker',
          image: 'busybox:1.36',
          securityContext: { runAsUser: 0, privileged: true, capabilities: { add: ['SYS_ADMIN'] } },
        },
      ];
      const res = await cp.kubectl(
        [
          'replace',
          '--raw',
          `/api/v1/namespaces/enforced/pods/${name}/ephemeralcontainers`,
          '-f',
          '-',
        ],
        { input: JSON.stringify(body) },
      );
      expect(res.code).toBe(0);
      const stored = await getPod('enforced', name);
      const sc = stored.spec.ephemeralContainers[0].securityContext;
      expect(sc).toMatchObject({ ...HARDENED_CONTAINER_SC, ...HARDENED_POD_SC, privileged: false });
      expect(sc.capabilities.add).toBeUndefined();
    },
  );

  it('server-side dry-run shows the hardened pod and stores nothing', async () => {
    const res = await create(podManifest('dry', 'enforced'), ['--dry-run=server']);
    expect(res.code).toBe(0);
    const pod = JSON.parse(res.stdout);
    expect(pod.spec.securityContext).toEqual(HARDENED_POD_SC);
    expect(pod.spec.containers[0].securityContext).toEqual(HARDENED_CONTAINER_SC);
    expect(
      (await cp.kubectl(['get', 'pod', 'dry', '-n', 'enforced'], { allowFail: true })).code,
    ).not.toBe(0);
  });

  it('updating a hardened pod (labels) succeeds', async () => {
    await cp.kubectl(['label', 'pod', 'legacy', '-n', 'enforced', 'tier=web']);
    const pod = await getPod('enforced', 'legacy');
    expect(pod.metadata.labels.tier).toBe('web');
    expect(pod.spec.securityContext).toEqual(HARDENED_POD_SC);
  });

  it('a Deployment creates its pods hardened (kube-controller-manager)', async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'shop-web', namespace: 'enforced' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'shop-web' } },
        template: {
          metadata: { labels: { app: 'shop-web' } },
          spec: {
            containers: [structuredClone(legacyContainer)],
            volumes: [{ name: 'cache', emptyDir: {} }],
          },
        },
      },
    };
    await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(deployment) });
    const pods: any[] = await eventually(
      async () => {
        const { items } = JSON.parse(
          (await cp.kubectl(['get', 'pods', '-n', 'enforced', '-l', 'app=shop-web', '-o', 'json']))
            .stdout,
        );
        return items.length > 0 && items;
      },
      { what: "the Deployment's pod", timeoutMs: 60_000, everyMs: 500 },
    );
    expect(pods).toHaveLength(1);
    expect(pods[0].spec.securityContext).toEqual({
      ...HARDENED_POD_SC,
      fsGroup: 3000,
      fsGroupChangePolicy: 'OnRootMismatch',
    });
    expect(pods[0].spec.containers[0].securityContext).toEqual(HARDENED_CONTAINER_SC);
    // The Deployment itself is not mutated, so GitOps tools see no drift.
    const stored = JSON.parse(
      (await cp.kubectl(['get', 'deployment', 'shop-web', '-n', 'enforced', '-o', 'json'])).stdout,
    );
    expect(stored.spec.template.spec.securityContext).toEqual({});
  });
});

describe('reinvocation after a sidecar injector', () => {
  let injector: Server;

  afterAll(async () => {
    await cp.kubectl([
      'delete',
      'mutatingwebhookconfiguration',
      'zz-sidecar-injector',
      '--ignore-not-found',
    ]);
    injector?.close();
  });

  it('the injected sidecar is stored hardened too', async () => {
    // A minimal injector, registered after ours (webhooks run in order of configuration name).
    const ca = await generateCA('sidecar injector CA', 1);
    const cert = await issueServingCertificate(ca, {
      dnsNames: [],
      ipAddresses: ['127.0.0.1'],
      validDays: 1,
    });
    const port = await freePort();
    injector = createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const review = JSON.parse(body);
        const containers = review.request.object.spec.containers;
        const patch = containers.some((c: any) => c.name === 'injected-proxy')
          ? []
          : [
              {
                op: 'add',
                path: '/spec/containers/-',
                value: {
                  name: 'injected-proxy',
                  image: 'proxy:1',
                  securityContext: { runAsUser: 0, capabilities: { add: ['NET_ADMIN'] } },
                },
              },
            ];
        const response: any = { uid: review.request.uid, allowed: true };
        if (patch.length)
          Object.assign(response, {
            patchType: 'JSONPatch',
            patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
          });
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }),
        );
      });
    });
    await new Promise<void>((r) => injector.listen(port, '127.0.0.1', r));
    await cp.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        metadata: { name: 'zz-sidecar-injector' },
        webhooks: [
          {
            name: 'inject.sidecar.example',
            admissionReviewVersions: ['v1'],
            clientConfig: {
              url: `https://127.0.0.1:${port}/inject`,
              caBundle: Buffer.from(ca.certPem).toString('base64'),
            },
            namespaceSelector: { matchLabels: { 'e2e-sidecar': 'true' } },
            rules: [
              { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] },
            ],
            sideEffects: 'None',
            failurePolicy: 'Fail',
            reinvocationPolicy: 'Never',
          },
        ],
      }),
    });
    await namespace('meshed', { [Labels.enabled]: LabelValues.enforce, 'e2e-sidecar': 'true' });
    expect((await create(podManifest('with-sidecar', 'meshed'))).code).toBe(0);
    const pod = await getPod('meshed', 'with-sidecar');
    const sidecar = pod.spec.containers.find((c: any) => c.name === 'injected-proxy');
    expect(sidecar).toBeDefined();
    expect(sidecar.securityContext).toEqual({ runAsUser: 1000, ...HARDENED_CONTAINER_SC });
    expect(pod.metadata.annotations[Annotations.hardened]).toContain('injected-proxy');
  });
});

describe('when the webhook is not there', () => {
  it('without the webhook registered, Pod Security restricted rejects the same legacy pod', async () => {
    await unregisterWebhook(cp);
    const res = await create(podManifest('legacy-2', 'restricted'));
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('violates PodSecurity "restricted');
  });

  it('with the webhook process stopped, pod creation follows the shipped failurePolicy', async () => {
    const shipped = await registerWebhook(cp, webhook.baseUrl, webhook.caPem);
    const policyOf = (name: string) =>
      shipped.webhooks.find((w: any) => w.name === name).failurePolicy;
    // What `kubectl apply -k manifests/` ships: the enforce webhook fails open because its
    // guard (a ValidatingAdmissionPolicy, proven in install.e2e.test.ts) rejects what was not
    // hardened; audit only reports, so it never blocks a pod. A change to either is a product
    // decision that must change this test.
    expect(policyOf('enforce.pod-hardener.io')).toBe('Ignore');
    expect(policyOf('audit.pod-hardener.io')).toBe('Ignore');
    await webhook.stop();

    // This test cluster has no guard installed: the pod is admitted as it was written.
    const enforce = await create(podManifest('while-down', 'enforced'));
    expect(enforce.code).toBe(0);
    expect((await getPod('enforced', 'while-down')).spec.securityContext).toEqual({});
    expect((await create(podManifest('while-down', 'audited'))).code).toBe(0);
  });
});
