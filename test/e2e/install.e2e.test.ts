/**
 * The install, as operators run it, against a real kube-apiserver (test/e2e/support/controlplane.ts):
 *
 * 1. The manifests render and are accepted: `kubectl apply -k manifests/` (self-managed, for
 *    real), the cert-manager and manual overlays with --dry-run=server; the webhook's own pods,
 *    created by the Deployment through kube-controller-manager, pass Pod Security `restricted`.
 * 2. Self-managed certificates end to end: two webhook processes (node dist/main.js) start at
 *    once with the *shipped* config.yaml and a kubeconfig holding the pod-hardener
 *    ServiceAccount's token (so the manifests' RBAC is what is exercised). They agree on one
 *    certificate in the Secret, patch the caBundle, and the API server then calls them.
 *    Tests only reach loopback: a Service's endpoints cannot be loopback addresses, so the
 *    webhook configuration's clientConfig is switched to a url on 127.0.0.1 once the processes
 *    have patched its caBundle, and the certificate carries 127.0.0.1 as an extra SAN
 *    (certificates.selfManaged.extraIpAddresses) besides pod-hardener.pod-hardener.svc.
 * 3. The guard rejects unhardened pods in enforce namespaces when the webhook is down or
 *    unregistered, admits hardened and excepted ones, and never rejects elsewhere.
 * 4. Uninstall with `kubectl delete -k` leaves nothing behind.
 *
 * The tests share one control plane and run in order.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { ControlPlane, KubectlResult, startControlPlane } from './support/controlplane';
import { freePort } from './support/webhook';
import { eventually } from '../support/eventually';

jest.setTimeout(300_000);

const REPO = resolve(__dirname, '../..');
const NS = 'pod-hardener';
const ENFORCE = 'e2e-enforce';
const AUDIT = 'e2e-audit';
const PLAIN = 'e2e-plain';

let cp: ControlPlane;
let work: string;
const webhooks: Webhook[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'pod-hardener-install-e2e-'));
  // The webhook runs from dist/, as in the image.
  execFileSync(
    process.execPath,
    [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    { cwd: REPO, stdio: 'inherit' },
  );
  cp = await startControlPlane({ withControllerManager: true });
}, 45 * 60_000);

afterAll(async () => {
  await Promise.all(webhooks.map((w) => w.stop()));
  await cp?.stop();
  if (work && process.env.POD_HARDENER_KEEP_CONTROLPLANE !== '1')
    rmSync(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// helpers

async function kubectl(args: string[], input?: string): Promise<KubectlResult> {
  return cp.kubectl(args, input === undefined ? {} : { input });
}

async function kubectlMayFail(args: string[], input?: string): Promise<KubectlResult> {
  return cp.kubectl(args, { allowFail: true, ...(input === undefined ? {} : { input }) });
}

async function getJson<T = any>(args: string[]): Promise<T> {
  return JSON.parse((await kubectl([...args, '-o', 'json'])).stdout) as T;
}

interface Webhook {
  name: string;
  port: number;
  metricsPort: number;
  dir: string;
  logFile: string;
  proc: ChildProcess;
  stop(): Promise<void>;
  log(): string;
}

/** Starts `node dist/main.js` with the shipped config.yaml, as the self-managed overlay configures it. */
async function startWebhook(name: string, kubeconfig: string): Promise<Webhook> {
  const dir = join(work, name);
  const certDir = join(dir, 'tls');
  const config = YAML.parse(readFileSync(join(REPO, 'manifests/base/config.yaml'), 'utf8'));
  config.certificates.directory = certDir; // the emptyDir, here a directory per process
  config.certificates.selfManaged.extraIpAddresses = ['127.0.0.1']; // called by url on loopback
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.yaml'), YAML.stringify(config));
  const [port, metricsPort] = [await freePort(), await freePort()];
  const logFile = join(dir, 'webhook.log');
  const fd = openSync(logFile, 'a');
  const proc = spawn(process.execPath, [join(REPO, 'dist/main.js')], {
    cwd: dir,
    stdio: ['ignore', fd, fd],
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      KUBECONFIG: kubeconfig,
      POD_HARDENER_CONFIG: join(dir, 'config.yaml'),
      POD_HARDENER_NAMESPACE: NS,
      POD_HARDENER_CERT_SOURCE: 'self-managed',
      POD_HARDENER_ADDRESS: '127.0.0.1',
      POD_HARDENER_PORT: String(port),
      POD_HARDENER_METRICS_PORT: String(metricsPort),
    },
  });
  closeSync(fd);
  let exited = false;
  const exit = new Promise<void>((r) => proc.on('exit', () => ((exited = true), r())));
  return {
    name,
    port,
    metricsPort,
    dir: certDir,
    logFile,
    proc,
    log: () => readFileSync(logFile, 'utf8'),
    async stop() {
      if (exited) return;
      proc.kill('SIGKILL');
      await exit;
    },
  };
}

async function ready(w: Webhook): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${w.metricsPort}/readyz`);
    return res.status === 200;
  } catch {
    return false;
  }
}

const podSecurityContext = {
  runAsUser: 1000,
  runAsGroup: 3000,
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
};
const containerSecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
};

function pod(
  name: string,
  spec: Record<string, unknown> = {},
  annotations?: Record<string, string>,
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27' }], ...spec },
  };
}

const hardenedPod = (name: string, extra: Record<string, unknown> = {}) =>
  pod(name, {
    securityContext: podSecurityContext,
    containers: [{ name: 'app', image: 'nginx:1.27', securityContext: containerSecurityContext }],
    ...extra,
  });

function annotate(
  p: Record<string, unknown>,
  annotations: Record<string, string>,
): Record<string, unknown> {
  const metadata = p.metadata as Record<string, unknown>;
  return {
    ...p,
    metadata: { ...metadata, annotations: { ...(metadata.annotations as object), ...annotations } },
  };
}

async function createPod(namespace: string, p: Record<string, unknown>): Promise<KubectlResult> {
  return kubectlMayFail(['create', '-n', namespace, '-f', '-', '-o', 'json'], JSON.stringify(p));
}

const GUARD = /pod-hardener guard: not hardened/;

// ---------------------------------------------------------------------------------------------

describe('install', () => {
  it('applies manifests/ (self-managed) and accepts the other overlays with a server-side dry run', async () => {
    const applied = await kubectl(['apply', '-k', join(REPO, 'manifests')]);
    expect(applied.stdout).toMatch(
      /mutatingwebhookconfiguration.admissionregistration.k8s.io\/pod-hardener created/,
    );
    expect(applied.stdout).toMatch(
      /validatingadmissionpolicy.admissionregistration.k8s.io\/pod-hardener-guard created/,
    );
    expect(applied.stdout).toMatch(
      /validatingadmissionpolicybinding.admissionregistration.k8s.io\/pod-hardener-guard created/,
    );
    expect(applied.stderr).not.toMatch(/Warning/i);

    // The API server type-checks the guard's CEL against the Pod schema: no warnings.
    const policy = await eventually(
      async () => {
        const p = await getJson(['get', 'validatingadmissionpolicy', 'pod-hardener-guard']);
        return p.status?.observedGeneration === p.metadata.generation ? p : undefined;
      },
      { what: 'the guard type-checked', timeoutMs: 60_000, everyMs: 500 },
    );
    expect(policy.status.typeChecking?.expressionWarnings ?? []).toEqual([]);

    const mwc = await getJson(['get', 'mutatingwebhookconfiguration', 'pod-hardener']);
    expect(
      mwc.webhooks.map((w: any) => [w.name, w.clientConfig.service.path, w.failurePolicy]),
    ).toEqual([
      ['enforce.pod-hardener.io', '/mutate', 'Ignore'],
      ['audit.pod-hardener.io', '/audit', 'Ignore'],
    ]);

    // cert-manager's CRDs (stand-ins with an open schema: no cert-manager here), then both
    // other overlays as an upgrade of this install would send them.
    await kubectl(['apply', '-f', '-'], certManagerCrds());
    await eventually(
      async () => {
        const r = await kubectlMayFail(['get', 'issuers.cert-manager.io', '-A']);
        return r.code === 0;
      },
      { what: 'cert-manager CRDs established', timeoutMs: 60_000, everyMs: 500 },
    );
    for (const overlay of ['manifests/overlays/cert-manager', 'manifests/overlays/manual']) {
      const r = await kubectl(['apply', '-k', join(REPO, overlay), '--dry-run=server']);
      expect(r.stdout).toMatch(
        /deployment.apps\/pod-hardener (configured|unchanged) \(server dry run\)/,
      );
    }
  });

  it("runs the webhook's own pods under Pod Security restricted", async () => {
    // kube-controller-manager creates the Deployment's pods: PSA enforces on pods, so they
    // exist only if the template passes `restricted` (no scheduler: they stay Pending).
    const pods = await eventually(
      async () => {
        const list = await getJson([
          'get',
          'pods',
          '-n',
          NS,
          '-l',
          'app.kubernetes.io/name=pod-hardener',
        ]);
        return list.items.length >= 2 ? list.items : undefined;
      },
      { what: 'two pod-hardener pods', timeoutMs: 60_000, everyMs: 500 },
    );
    expect(pods[0].spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });

    // And the enforcement is real: the same template made privileged is refused.
    const deploy = await getJson(['get', 'deployment', 'pod-hardener', '-n', NS]);
    const template = deploy.spec.template;
    const asPod = (spec: unknown) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'template-check', labels: template.metadata.labels },
        spec,
      });
    await kubectl(['create', '-n', NS, '-f', '-', '--dry-run=server'], asPod(template.spec));
    const bad = structuredClone(template.spec);
    bad.containers[0].securityContext.allowPrivilegeEscalation = true;
    const refused = await kubectlMayFail(
      ['create', '-n', NS, '-f', '-', '--dry-run=server'],
      asPod(bad),
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/violates PodSecurity "restricted/);
  });

  it('self-managed: two replicas starting at once agree on one certificate, patch the caBundle, and get called', async () => {
    // Credentials of the pod-hardener ServiceAccount: only the manifests' RBAC applies.
    const token = (
      await kubectl(['create', 'token', 'pod-hardener', '-n', NS, '--duration=2h'])
    ).stdout.trim();
    const kubeconfig = join(work, 'sa.kubeconfig');
    writeFileSync(
      kubeconfig,
      YAML.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'e2e', cluster: { server: cp.server, 'certificate-authority': cp.caFile } },
        ],
        users: [{ name: 'pod-hardener', user: { token } }],
        contexts: [
          { name: 'e2e', context: { cluster: 'e2e', user: 'pod-hardener', namespace: NS } },
        ],
        'current-context': 'e2e',
      }),
    );

    const [a, b] = await Promise.all([
      startWebhook('replica-a', kubeconfig),
      startWebhook('replica-b', kubeconfig),
    ]);
    webhooks.push(a, b);
    await eventually(async () => (await ready(a)) && (await ready(b)), {
      what: 'both replicas ready',
      timeoutMs: 90_000,
      everyMs: 500,
    }).catch((err) => {
      throw new Error(
        `${String(err)}\n--- replica-a ---\n${a.log()}\n--- replica-b ---\n${b.log()}`,
      );
    });

    const secret = await getJson(['get', 'secret', 'pod-hardener-certs', '-n', NS]);
    const stored = (k: string) => Buffer.from(secret.data[k], 'base64').toString();
    const certA = readFileSync(join(a.dir, 'tls.crt'), 'utf8');
    const certB = readFileSync(join(b.dir, 'tls.crt'), 'utf8');
    expect(certA).toBe(stored('tls.crt'));
    expect(certB).toBe(certA);
    expect(readFileSync(join(b.dir, 'tls.key'), 'utf8')).toBe(
      readFileSync(join(a.dir, 'tls.key'), 'utf8'),
    );
    expect(new X509Certificate(certA).checkHost('pod-hardener.pod-hardener.svc')).toBe(
      'pod-hardener.pod-hardener.svc',
    );
    // One of the two won the write; the other took the winner's certificate.
    expect(`${a.log()}\n${b.log()}`.match(/stored new certificates in the Secret/g)).toHaveLength(
      1,
    );

    const mwc = await getJson(['get', 'mutatingwebhookconfiguration', 'pod-hardener']);
    for (const w of mwc.webhooks)
      expect(Buffer.from(w.clientConfig.caBundle, 'base64').toString()).toBe(
        stored('ca-bundle.crt'),
      );

    // An upgrade re-applies the manifests: the stored certificate and the patched caBundle stay.
    await kubectl(['apply', '-k', join(REPO, 'manifests')]);
    const secretAfter = await getJson(['get', 'secret', 'pod-hardener-certs', '-n', NS]);
    expect(secretAfter.data).toEqual(secret.data);
    const mwcAfter = await getJson(['get', 'mutatingwebhookconfiguration', 'pod-hardener']);
    for (const w of mwcAfter.webhooks)
      expect(Buffer.from(w.clientConfig.caBundle, 'base64').toString()).toBe(
        stored('ca-bundle.crt'),
      );

    // The API server dials loopback only by url: point both webhooks at replica a, keeping the
    // caBundle the replicas patched in.
    expect(new X509Certificate(certA).checkIP('127.0.0.1')).toBe('127.0.0.1');
    const urlPatch = mwc.webhooks.flatMap((w: any, i: number) => [
      { op: 'remove', path: `/webhooks/${i}/clientConfig/service` },
      {
        op: 'add',
        path: `/webhooks/${i}/clientConfig/url`,
        value: `https://127.0.0.1:${a.port}${w.clientConfig.service.path}`,
      },
    ]);
    await kubectl([
      'patch',
      'mutatingwebhookconfiguration',
      'pod-hardener',
      '--type=json',
      '-p',
      JSON.stringify(urlPatch),
    ]);

    for (const [ns, label] of [
      [ENFORCE, 'true'],
      [AUDIT, 'audit'],
      [PLAIN, undefined],
    ] as const) {
      await kubectl(['create', 'namespace', ns]);
      if (label) await kubectl(['label', 'namespace', ns, `pod-hardener.io/enabled=${label}`]);
    }

    // The API server calls the webhook (TLS verified by the patched caBundle);
    // the stored pod is hardened, and the guard accepts what the webhook produced.
    const created = await eventually(
      async () => {
        await kubectlMayFail([
          'delete',
          'pod',
          'web',
          '-n',
          ENFORCE,
          '--ignore-not-found',
          '--wait=false',
        ]);
        const r = await createPod(ENFORCE, pod('web'));
        if (r.code !== 0) throw new Error(r.stderr);
        const p = JSON.parse(r.stdout);
        return p.metadata.annotations?.['pod-hardener.io/hardened'] ? p : undefined;
      },
      { what: 'a pod hardened by the webhook', timeoutMs: 30_000, everyMs: 1000 },
    );
    expect(created.spec.securityContext).toMatchObject({
      runAsUser: 1000,
      runAsGroup: 3000,
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(created.spec.containers[0].securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(`${a.log()}\n${b.log()}`).toMatch(/"namespace":"e2e-enforce"/);

    // Audit namespace: admitted unchanged, with warnings.
    const audited = await kubectl(
      ['create', '-n', AUDIT, '-f', '-', '-o', 'json'],
      JSON.stringify(pod('web')),
    );
    expect(JSON.parse(audited.stdout).spec.containers[0].securityContext).toBeUndefined();
    expect(audited.stderr).toMatch(/Warning/);
  });

  it('guard: with the webhook registered but down, rejects unhardened pods and admits hardened ones', async () => {
    await Promise.all(webhooks.map((w) => w.stop()));
    const r = await createPod(ENFORCE, pod('down-unhardened'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(GUARD);
    expect(r.stderr).toMatch(/ValidatingAdmissionPolicy 'pod-hardener-guard'/);
    expect((await createPod(ENFORCE, hardenedPod('down-hardened'))).code).toBe(0);
  });

  describe('guard: with the webhook unregistered', () => {
    beforeAll(async () => {
      await kubectl(['delete', 'mutatingwebhookconfiguration', 'pod-hardener']);
    });

    const cases: [string, string, boolean, Record<string, unknown>][] = [
      ['an unhardened pod', ENFORCE, false, pod('u1')],
      ['a hardened pod', ENFORCE, true, hardenedPod('h1')],
      [
        'a pod setting runAsUser 0 in a container',
        ENFORCE,
        false,
        hardenedPod('h2', {
          containers: [
            {
              name: 'app',
              image: 'x',
              securityContext: { ...containerSecurityContext, runAsUser: 0 },
            },
          ],
        }),
      ],
      [
        'a pod without runAsGroup',
        ENFORCE,
        false,
        hardenedPod('h3', { securityContext: { runAsUser: 1000 } }),
      ],
      [
        'a privileged container',
        ENFORCE,
        false,
        hardenedPod('h4', {
          containers: [
            {
              name: 'app',
              image: 'x',
              securityContext: { capabilities: { drop: ['ALL'] }, privileged: true },
            },
          ],
        }),
      ],
      [
        'an init container that is not hardened',
        ENFORCE,
        false,
        hardenedPod('h5', { initContainers: [{ name: 'init', image: 'x' }] }),
      ],
      [
        'a capability added without an allowlist',
        ENFORCE,
        false,
        hardenedPod('c1', {
          containers: [
            {
              name: 'app',
              image: 'x',
              securityContext: {
                ...containerSecurityContext,
                capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
              },
            },
          ],
        }),
      ],
      [
        'a capability allowlisted within the ceiling (any spelling)',
        ENFORCE,
        true,
        annotate(
          hardenedPod('c2', {
            containers: [
              {
                name: 'app',
                image: 'x',
                securityContext: {
                  ...containerSecurityContext,
                  capabilities: { drop: ['ALL'], add: ['cap_net_bind_service'] },
                },
              },
            ],
          }),
          { 'pod-hardener.io/allowed-capabilities': 'NET_BIND_SERVICE' },
        ),
      ],
      [
        'a capability allowlisted for that container',
        ENFORCE,
        true,
        annotate(
          hardenedPod('c3', {
            containers: [
              {
                name: 'app',
                image: 'x',
                securityContext: {
                  ...containerSecurityContext,
                  capabilities: { drop: ['ALL'], add: ['CHOWN'] },
                },
              },
            ],
          }),
          { 'capabilities.pod-hardener.io/app': 'chown' },
        ),
      ],
      [
        'a capability allowlisted above the ceiling',
        ENFORCE,
        false,
        annotate(
          hardenedPod('c4', {
            containers: [
              {
                name: 'app',
                image: 'x',
                securityContext: {
                  ...containerSecurityContext,
                  capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] },
                },
              },
            ],
          }),
          { 'pod-hardener.io/allowed-capabilities': 'NET_ADMIN' },
        ),
      ],
      // A fresh install honours the skip annotations in no namespace, and the guard agrees.
      ['a pod annotated skip', ENFORCE, false, pod('s1', {}, { 'pod-hardener.io/skip': 'true' })],
      [
        'a pod whose unhardened container is in skip-containers',
        ENFORCE,
        false,
        annotate(
          hardenedPod('s2', {
            containers: [
              { name: 'app', image: 'x', securityContext: containerSecurityContext },
              { name: 'debug', image: 'busybox' },
            ],
          }),
          { 'pod-hardener.io/skip-containers': 'debug' },
        ),
      ],
      [
        'a pod whose unhardened container is not in skip-containers',
        ENFORCE,
        false,
        annotate(
          pod('s3', {
            containers: [
              { name: 'app', image: 'x' },
              { name: 'debug', image: 'busybox' },
            ],
          }),
          { 'pod-hardener.io/skip-containers': 'debug' },
        ),
      ],
      ['a Windows pod', ENFORCE, true, pod('w1', { os: { name: 'windows' } })],
      // What the webhook adds where a pod can take it: the guard admits it, and does not ask for it.
      [
        'a hardened pod with the port sysctl the webhook adds',
        ENFORCE,
        true,
        hardenedPod('n1', {
          securityContext: {
            ...podSecurityContext,
            sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }],
          },
          containers: [
            {
              name: 'app',
              image: 'nginx:1.27',
              ports: [{ containerPort: 80 }],
              securityContext: containerSecurityContext,
            },
          ],
        }),
      ],
      [
        'a hardened pod with hostUsers: false',
        ENFORCE,
        true,
        hardenedPod('n2', { hostUsers: false }),
      ],
      [
        'a hardened pod with both, keeping NET_BIND_SERVICE by allowlist',
        ENFORCE,
        true,
        annotate(
          hardenedPod('n3', {
            hostUsers: false,
            securityContext: {
              ...podSecurityContext,
              sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }],
            },
            containers: [
              {
                name: 'app',
                image: 'x',
                securityContext: {
                  ...containerSecurityContext,
                  capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
                },
              },
            ],
          }),
          { 'pod-hardener.io/allowed-capabilities': 'NET_BIND_SERVICE' },
        ),
      ],
      [
        'an unhardened pod with hostUsers: false (a user namespace does not replace the non-root rule)',
        ENFORCE,
        false,
        pod('n4', { hostUsers: false }),
      ],
      ['an unhardened pod in a namespace that did not opt in', PLAIN, true, pod('p1')],
      ['an unhardened pod in an audit namespace', AUDIT, true, pod('p2')],
    ];

    it.each(cases)('%s in %s: admitted %s', async (_what, ns, admitted, p) => {
      const r = await createPod(ns, p);
      if (admitted) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      else {
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(GUARD);
      }
    });

    it('rejects an unhardened ephemeral container (kubectl debug)', async () => {
      const r = await kubectlMayFail([
        'debug',
        'h1',
        '-n',
        ENFORCE,
        '--image=busybox',
        '-c',
        'dbg',
        '--profile=general',
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(GUARD);
    });

    it("follows the operator's exceptions written into it (exempt containers, skip namespaces)", async () => {
      const exempt = hardenedPod('e1', {
        initContainers: [{ name: 'istio-init', image: 'docker.io/istio/proxyv2:1.24.0' }],
      });
      expect((await createPod(ENFORCE, exempt)).stderr).toMatch(GUARD);
      // As an operator keeps the guard in step with config.yaml: the policy written by the
      // built tool (pod-hardener guard-params), applied as it is.
      const config = join(mkdtempSync(join(tmpdir(), 'pod-hardener-guard-')), 'config.yaml');
      writeFileSync(
        config,
        `exceptions:\n  skipNamespaces: ["${ENFORCE}"]\n  exemptContainers:\n    - name: istio-init\n      image: "docker.io/istio/proxyv2:*"\n`,
      );
      const params = execFileSync(
        process.execPath,
        [join(REPO, 'dist', 'cli', 'main.js'), 'guard-params', '--config', config],
        { encoding: 'utf8' },
      );
      rmSync(join(config, '..'), { recursive: true, force: true });
      expect(params).toContain(`expression: "'istio-init=docker\\\\\\\\.io/istio/proxyv2:.*'"`);
      await kubectl(['apply', '-f', '-'], params);
      // The API server reads the new policy from an informer: allow it a moment.
      await eventually(async () => (await createPod(ENFORCE, exempt)).code === 0, {
        what: 'exempt container admitted',
        timeoutMs: 20_000,
        everyMs: 500,
      });
      const impostor = hardenedPod('e2', {
        initContainers: [{ name: 'istio-init', image: 'evil/proxyv2:1' }],
      });
      expect((await createPod(ENFORCE, impostor)).stderr).toMatch(GUARD);
      // The operator now allows skipping in this namespace, and the guard follows.
      expect(
        (await createPod(ENFORCE, pod('s4', {}, { 'pod-hardener.io/skip': 'true' }))).code,
      ).toBe(0);
    });
  });

  it('uninstalls with kubectl delete -k, leaving nothing behind', async () => {
    await kubectl(
      [
        'delete',
        '-k',
        join(REPO, 'manifests'),
        '--ignore-not-found',
        '--wait=true',
        '--timeout=120s',
      ],
      undefined,
    );
    for (const [kind, name] of [
      ['namespace', NS],
      ['mutatingwebhookconfiguration', 'pod-hardener'],
      ['validatingadmissionpolicy', 'pod-hardener-guard'],
      ['validatingadmissionpolicybinding', 'pod-hardener-guard'],
      ['clusterrole', 'pod-hardener-webhook-cabundle'],
      ['clusterrolebinding', 'pod-hardener-webhook-cabundle'],
    ] as const) {
      const r = await kubectlMayFail(['get', kind, name]);
      expect(r.stderr).toMatch(/NotFound/);
    }
    // With the guard gone, an unhardened pod in an enforce namespace is admitted again.
    expect((await createPod(ENFORCE, pod('after-uninstall'))).code).toBe(0);
  });

  it('installs the cert-manager overlay for real (with stand-in CRDs)', async () => {
    const r = await kubectl(['apply', '-k', join(REPO, 'manifests/overlays/cert-manager')]);
    expect(r.stdout).toMatch(/certificate.cert-manager.io\/pod-hardener-serving created/);
    const mwc = await getJson(['get', 'mutatingwebhookconfiguration', 'pod-hardener']);
    expect(mwc.metadata.annotations['cert-manager.io/inject-ca-from']).toBe(
      'pod-hardener/pod-hardener-serving',
    );
  });
});

/** Minimal stand-ins for cert-manager's Issuer and Certificate CRDs (open schema). */
function certManagerCrds(): string {
  const crd = (kind: string, plural: string) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.cert-manager.io` },
    spec: {
      group: 'cert-manager.io',
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          },
        },
      ],
    },
  });
  return [crd('Issuer', 'issuers'), crd('Certificate', 'certificates')]
    .map((c) => JSON.stringify(c))
    .join('\n---\n');
}
