/**
 * `pod-hardener scan` against a real kube-apiserver with kube-controller-manager, run as users
 * run it: the built program (`node dist/cli/main.js scan`, and `kubectl harden scan` through
 * the plugin) with a kubeconfig.
 *
 * One namespace holds a workload of each kind: a Deployment, a StatefulSet, a CronJob's Job
 * (created with `kubectl create job --from=cronjob`), a bare pod, an already hardened pod, a
 * skipped pod and a pod with a low port. The controllers create the pods (they stay Pending:
 * there is no node, which is all scan needs). A DaemonSet creates no pod without a node, so its
 * pod is created here with the DaemonSet as controller owner, as the DaemonSet controller would.
 *
 * Also: a ServiceAccount bound only to the shipped ClusterRole can scan and one without it gets
 * "forbidden"; 2,000 pods in one namespace are read in pages; bad input of each kind is one line
 * on stderr and exit 2.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createPrivateKey, createSign } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { Annotations, Labels, LabelValues } from '../../src/names';
import { startControlPlane, type ControlPlane } from './support/controlplane';
import { freePort } from './support/webhook';
import { eventually } from '../support/eventually';

jest.setTimeout(300_000);

const REPO = resolve(__dirname, '../..');
const NS = 'scan-e2e';
const CLEAN = 'scan-clean';
const AUDIT = 'scan-audit';
const BIG = 'scan-big';
const BIG_PODS = 2000;

let cp: ControlPlane;
let work: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a program to its end, never rejecting: the exit code is what is tested. */
function exec(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const started = Date.now();
  return new Promise((done) => {
    execFile(
      file,
      args,
      { env, maxBuffer: 256 * 1024 * 1024, timeout: 240_000 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 128
          : 0;
        done({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

function env(kubeconfig = cp.kubeconfig): NodeJS.ProcessEnv {
  return {
    PATH: `${join(work, 'bin')}:${cp.binDir}:${process.env.PATH ?? ''}`,
    HOME: work,
    KUBECONFIG: kubeconfig,
    KUBERC: 'off',
    KUBECACHEDIR: join(work, 'kube-cache'),
    // The operator of this cluster lets pod authors opt out anywhere, so the skipped pod is
    // skipped (a fresh install honours skip nowhere: test/unit/config/fresh-install.test.ts).
    POD_HARDENER_CONFIG: join(work, 'skip-anywhere.yaml'),
  };
}

function scan(args: string[], kubeconfig?: string): Promise<Run> {
  return exec(process.execPath, [join(REPO, 'dist/cli/main.js'), 'scan', ...args], env(kubeconfig));
}

async function apply(objects: unknown[]): Promise<void> {
  await cp.kubectl(['apply', '-f', '-'], {
    input: objects.map((o) => YAML.stringify(o)).join('---\n'),
  });
}

const ns = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
});

const HARDENED_SPEC = {
  securityContext: {
    runAsUser: 1000,
    runAsGroup: 3000,
    runAsNonRoot: true,
    seccompProfile: { type: 'RuntimeDefault' },
  },
  containers: [
    {
      name: 'app',
      image: 'registry.example/app:1',
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    },
  ],
};

function kubeconfigFor(
  name: string,
  user: Record<string, unknown>,
  cluster: Record<string, unknown> = { server: cp.server, 'certificate-authority': cp.caFile },
): string {
  const file = join(work, `${name}.kubeconfig`);
  writeFileSync(
    file,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e2e', cluster }],
      users: [{ name, user }],
      contexts: [{ name, context: { cluster: 'e2e', user: name, namespace: NS } }],
      'current-context': name,
    }),
  );
  return file;
}

async function podsIn(namespace: string): Promise<any[]> {
  return JSON.parse((await cp.kubectl(['get', 'pods', '-n', namespace, '-o', 'json'])).stdout)
    .items;
}

/** Creates pods straight through the API, many requests in flight: kubectl per pod is far too slow. */
async function createPods(namespace: string, count: number, parallel = 32): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: parallel, ca: cp.caPem });
  const post = (i: number) =>
    new Promise<void>((done, fail) => {
      const body = JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `p-${String(i).padStart(4, '0')}`, namespace },
        spec: {
          containers: [
            { name: 'app', image: 'registry.example/app:1', ports: [{ containerPort: 8080 }] },
          ],
        },
      });
      const req = request(
        `${cp.server}/api/v1/namespaces/${namespace}/pods`,
        {
          method: 'POST',
          agent,
          headers: {
            Authorization: `Bearer ${cp.token}`,
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 201 || res.statusCode === 409
              ? done()
              : fail(new Error(`POST pod ${i}: HTTP ${res.statusCode}`)),
          );
        },
      );
      req.on('error', fail);
      req.end(body);
    });
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await post(next++);
    }),
  );
  agent.destroy();
}

/**
 * A service-account token re-signed with the API server's own key after `change` to its claims:
 * how an expired token is made without waiting for one (TokenRequest's shortest is 10 minutes).
 */
function resignToken(
  valid: string,
  change: (claims: Record<string, number>) => void = () => undefined,
): string {
  const [header, payload] = valid
    .split('.')
    .slice(0, 2)
    .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
  change(payload);
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${enc(header)}.${enc(payload)}`;
  const key = createPrivateKey(readFileSync(join(cp.dir, 'state', 'service-account.key')));
  return `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(key).toString('base64url')}`;
}

const oneLineError = (r: Run) => {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
  expect(r.stderr.split('\n')).toHaveLength(2);
  expect(r.stderr).toMatch(/^pod-hardener scan: /);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  return r.stderr;
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'pod-hardener-scan-e2e-'));
  writeFileSync(join(work, 'skip-anywhere.yaml'), 'exceptions:\n  skipNamespaces: ["*"]\n');
  execFileSync(
    process.execPath,
    [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    { cwd: REPO, stdio: 'inherit' },
  );
  cp = await startControlPlane({ withControllerManager: true });

  // kubectl runs `kubectl-harden` from PATH for `kubectl harden`: what `npm install -g` puts there.
  mkdirSync(join(work, 'bin'));
  writeFileSync(
    join(work, 'bin', 'kubectl-harden'),
    `#!/bin/sh\nexec "${process.execPath}" "${join(REPO, 'dist/cli/kubectl-harden.js')}" "$@"\n`,
  );
  chmodSync(join(work, 'bin', 'kubectl-harden'), 0o755);

  const labels = { app: 'x' };
  const template = (app: string, spec: Record<string, unknown>) => ({
    metadata: { labels: { app } },
    spec,
  });
  await apply([ns(NS), ns(CLEAN), ns(AUDIT, { [Labels.enabled]: LabelValues.audit }), ns(BIG)]);
  await apply([
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: NS },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: template('web', {
          containers: [
            { name: 'web', image: 'registry.example/web:1', ports: [{ containerPort: 8080 }] },
          ],
        }),
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: NS },
      spec: {
        replicas: 1,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: template('db', {
          securityContext: { runAsUser: 0 },
          containers: [
            {
              name: 'postgres',
              image: 'registry.example/postgres:16',
              volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql' }],
            },
          ],
          volumes: [{ name: 'data', hostPath: { path: '/srv/db', type: 'DirectoryOrCreate' } }],
        }),
      },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'report', namespace: NS },
      spec: {
        schedule: '0 0 1 1 *',
        suspend: true,
        jobTemplate: {
          spec: {
            template: template('report', {
              restartPolicy: 'Never',
              containers: [
                {
                  name: 'report',
                  image: 'registry.example/report:1',
                  securityContext: { privileged: true },
                },
              ],
            }),
          },
        },
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace: NS },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: template('agent', {
          hostNetwork: true,
          containers: [
            {
              name: 'agent',
              image: 'registry.example/agent:1',
              securityContext: { capabilities: { add: ['NET_ADMIN'] } },
            },
          ],
        }),
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'debug', namespace: NS },
      spec: { containers: [{ name: 'shell', image: 'registry.example/busybox:1' }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'edge', namespace: NS },
      spec: {
        containers: [
          { name: 'nginx', image: 'registry.example/nginx:1', ports: [{ containerPort: 80 }] },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'hardened',
        namespace: NS,
        annotations: { [Annotations.hardened]: 'runAsUser=1000 [pod]' },
      },
      spec: HARDENED_SPEC,
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'skipped', namespace: NS, annotations: { [Annotations.skip]: 'true' } },
      spec: {
        securityContext: { runAsUser: 0 },
        containers: [{ name: 'legacy', image: 'registry.example/legacy:1' }],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'fine', namespace: CLEAN },
      spec: HARDENED_SPEC,
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'legacy', namespace: AUDIT, labels },
      spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
    },
  ]);
  await cp.kubectl(['create', 'job', 'report-manual', '--from=cronjob/report', '-n', NS]);
  const ds = JSON.parse(
    (await cp.kubectl(['get', 'daemonset', 'agent', '-n', NS, '-o', 'json'])).stdout,
  );
  await apply([
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'agent-x7k2p',
        namespace: NS,
        labels: { app: 'agent' },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'DaemonSet',
            name: 'agent',
            uid: ds.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: ds.spec.template.spec,
    },
  ]);
  await eventually(
    async () => {
      const names = (await podsIn(NS)).map((p) => p.metadata.name as string);
      return (
        names.filter((n) => n.startsWith('web-')).length === 2 &&
        names.includes('db-0') &&
        names.some((n) => n.startsWith('report-manual-')) &&
        names
      );
    },
    { what: 'the controllers to create their pods', timeoutMs: 90_000, everyMs: 500 },
  );
}, 60 * 60_000);

afterAll(async () => {
  await cp?.stop();
  if (work && process.env.POD_HARDENER_KEEP_E2E !== '1')
    rmSync(work, { recursive: true, force: true });
});

describe('a namespace with a workload of each kind', () => {
  let json: any;
  let run: Run;
  beforeAll(async () => {
    run = await scan(['-n', NS, '-o', 'json']);
    json = JSON.parse(run.stdout);
  });
  const workload = (key: string) => {
    const w = json.namespaces[0].workloads.find((x: any) => `${x.kind}/${x.name}` === key);
    if (!w)
      throw new Error(
        `no ${key} in ${JSON.stringify(json.namespaces[0].workloads.map((x: any) => `${x.kind}/${x.name}`))}`,
      );
    return w;
  };
  const riskKinds = (key: string) =>
    [
      ...new Set(
        workload(key).pods.flatMap((p: any) => p.risks.map((r: any) => `${r.kind}@${r.target}`)),
      ),
    ].sort();

  it('lists every pod under its owner, exit 1', () => {
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    expect(json).toMatchObject({
      schemaVersion: 1,
      kind: 'PodHardenerScan',
      context: 'admin@controlplane',
      server: cp.server,
    });
    expect(json.namespaces.map((n: any) => [n.name, n.mode])).toEqual([[NS, 'off']]);
    const owners = json.namespaces[0].workloads.map((w: any) => [
      `${w.kind}/${w.name}`,
      w.via.map((v: any) => v.kind),
      w.pods.length,
    ]);
    expect(owners).toEqual([
      ['CronJob/report', ['Job'], 1],
      ['DaemonSet/agent', [], 1],
      ['Deployment/web', ['ReplicaSet'], 2],
      ['Pod/debug', [], 1],
      ['Pod/edge', [], 1],
      ['Pod/hardened', [], 1],
      ['Pod/skipped', [], 1],
      ['StatefulSet/db', [], 1],
    ]);
    expect(workload('CronJob/report').via).toEqual([{ kind: 'Job', name: 'report-manual' }]);
    expect(workload('Deployment/web').via[0].name).toMatch(/^web-[a-z0-9]+$/);
  });

  it('the right verdicts and changes', () => {
    const verdicts = Object.fromEntries(
      json.namespaces[0].workloads.map((w: any) => [
        `${w.kind}/${w.name}`,
        [...new Set(w.pods.map((p: any) => p.verdict))].join(),
      ]),
    );
    expect(verdicts).toEqual({
      'CronJob/report': 'change',
      'DaemonSet/agent': 'change',
      'Deployment/web': 'change',
      'Pod/debug': 'change',
      'Pod/edge': 'change',
      'Pod/hardened': 'unchanged',
      'Pod/skipped': 'skipped',
      'StatefulSet/db': 'change',
    });
    const changes = (key: string) =>
      workload(key).pods[0].changes.map((c: any) => `${c.target}: ${c.text}`);
    expect(changes('StatefulSet/db')).toEqual(
      expect.arrayContaining([
        'pod: runAsUser 0 -> 1000',
        'pod: fsGroup unset -> 3000',
        'container/postgres: capabilities.drop: added ALL',
      ]),
    );
    expect(changes('CronJob/report')).toContain('container/report: privileged true -> false');
    expect(changes('DaemonSet/agent')).toContain(
      'container/agent: capabilities.add: removed NET_ADMIN (not allowlisted)',
    );
    expect(workload('Pod/hardened').pods[0]).toMatchObject({
      changes: [],
      risks: [],
      hardened: 'runAsUser=1000 [pod]',
    });
    expect(workload('Pod/skipped').pods[0].exceptions).toEqual([
      expect.objectContaining({ kind: 'skipPod', honoured: true }),
    ]);
    for (const p of json.namespaces[0].workloads.flatMap((w: any) => w.pods))
      expect(p.phase).toBe('Pending');
  });

  it('what may stop working, with reasons', () => {
    // Port 80 is no risk: hardening adds the sysctl that lets the non-root process bind it.
    expect(riskKinds('Pod/edge')).toEqual(['runsAsRoot@container/nginx']);
    expect(JSON.stringify(workload('Pod/edge').pods[0].changes)).toContain(
      'net.ipv4.ip_unprivileged_port_start',
    );
    expect(riskKinds('StatefulSet/db')).toEqual([
      'hostPath@container/postgres',
      'runsAsRoot@container/postgres',
    ]);
    expect(
      workload('StatefulSet/db').pods[0].risks.find((r: any) => r.kind === 'runsAsRoot').root,
    ).toBe('yes');
    expect(riskKinds('CronJob/report')).toEqual([
      'privileged@container/report',
      'runsAsRoot@container/report',
    ]);
    expect(riskKinds('DaemonSet/agent')).toEqual([
      'capabilitiesLost@container/agent',
      'hostNamespace@pod',
      'runsAsRoot@container/agent',
    ]);
    expect(riskKinds('Deployment/web')).toEqual(['runsAsRoot@container/web']);
    expect(workload('Deployment/web').pods[0].risks[0].root).toBe('unknown');
    expect(riskKinds('Pod/hardened')).toEqual([]);
    expect(riskKinds('Pod/skipped')).toEqual([]);
  });

  it('the table says the same for a person', async () => {
    const t = await scan(['-n', NS]);
    expect(t.code).toBe(1);
    const row = (owner: string) =>
      t.stdout
        .split('\n')
        .find((l) => l.includes(` ${owner} `))
        ?.split(/\s{2,}/);
    expect(row('Deployment/web')).toEqual([
      NS,
      'off',
      'Deployment/web',
      '2',
      'yes',
      'runsAsRoot',
      '-',
    ]);
    expect(row('Pod/edge')).toEqual([NS, 'off', 'Pod/edge', '1', 'yes', 'runsAsRoot', '-']);
    expect(row('Pod/hardened')).toEqual([NS, 'off', 'Pod/hardened', '1', 'no', '-', '-']);
    expect(row('Pod/skipped')).toEqual([NS, 'off', 'Pod/skipped', '1', 'skipped', '-', 'skipPod']);
    expect(row('CronJob/report')).toEqual([
      NS,
      'off',
      'CronJob/report',
      '1',
      'yes',
      'runsAsRoot,privileged',
      '-',
    ]);
    expect(row('DaemonSet/agent')).toEqual([
      NS,
      'off',
      'DaemonSet/agent',
      '1',
      'yes',
      'hostNamespace,runsAsRoot,capabilitiesLost',
      '-',
    ]);
    expect(t.stdout).toContain(
      '  CronJob/report (via Job/report-manual), 1 pod\n    would change:\n',
    );
    expect(t.stdout).toContain('container/report: privileged: true becomes false');
    expect(t.stdout).toContain(', 9 pods;');
  });

  it('YAML is the same report', async () => {
    const y = await scan(['-n', NS, '-o', 'yaml']);
    expect(y.code).toBe(1);
    expect(YAML.parse(y.stdout)).toEqual(json);
  });

  it('`kubectl harden scan` is the same command', async () => {
    const k = await exec(
      join(cp.binDir, 'kubectl'),
      ['harden', 'scan', '-n', NS, '-o', 'json'],
      env(),
    );
    expect(k.code).toBe(1);
    expect(JSON.parse(k.stdout)).toEqual(json);
  });
});

describe('namespaces and exit codes', () => {
  it('0 when nothing would change', async () => {
    const r = await scan(['-n', CLEAN]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^scan-clean\s+off\s+Pod\/fine\s+1\s+no\s/m);
  });

  it('the label decides the mode; kube-system is never reached', async () => {
    await cp.kubectl(['label', 'namespace', CLEAN, `${Labels.enabled}=${LabelValues.enforce}`]);
    const r = await scan(['-n', CLEAN, '-n', AUDIT, '-n', 'kube-system', '-o', 'json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).namespaces.map((n: any) => [n.name, n.mode])).toEqual([
      ['kube-system', 'excluded'],
      [AUDIT, 'audit'],
      [CLEAN, 'enforce'],
    ]);
  });

  it('-l selects namespaces by label, -A takes all', async () => {
    const l = await scan(['-l', `${Labels.enabled}=${LabelValues.audit}`, '-o', 'json']);
    expect(JSON.parse(l.stdout).namespaces.map((n: any) => n.name)).toEqual([AUDIT]);
    const a = await scan(['-A', '-o', 'json']);
    expect(a.code).toBe(1);
    expect(JSON.parse(a.stdout).namespaces.map((n: any) => n.name)).toEqual(
      expect.arrayContaining([NS, CLEAN, AUDIT, BIG, 'default', 'kube-system']),
    );
  });

  it("without -n, the context's namespace", async () => {
    const r = await scan(['-o', 'json'], kubeconfigFor('admin-in-ns', { token: cp.token }));
    expect(JSON.parse(r.stdout).namespaces.map((n: any) => n.name)).toEqual([NS]);
  });
});

describe('RBAC: the shipped ClusterRole is enough, and needed', () => {
  let allowed: string;
  let denied: string;
  let oneNamespace: string;
  beforeAll(async () => {
    await cp.kubectl(['apply', '-k', join(REPO, 'manifests/components/scan-rbac')]);
    await apply([
      ns('scanners'),
      ...['scanner', 'nobody', 'local'].map((name) => ({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name, namespace: 'scanners' },
      })),
    ]);
    // As docs/scan.md tells operators to bind it.
    await cp.kubectl([
      'create',
      'clusterrolebinding',
      'scanner-scan',
      '--clusterrole=pod-hardener-scan',
      '--serviceaccount=scanners:scanner',
    ]);
    await cp.kubectl([
      '-n',
      NS,
      'create',
      'rolebinding',
      'local-scan',
      '--clusterrole=pod-hardener-scan',
      '--serviceaccount=scanners:local',
    ]);
    const token = async (sa: string) =>
      (await cp.kubectl(['create', 'token', sa, '-n', 'scanners', '--duration=1h'])).stdout.trim();
    allowed = kubeconfigFor('scanner', { token: await token('scanner') });
    denied = kubeconfigFor('nobody', { token: await token('nobody') });
    oneNamespace = kubeconfigFor('local', { token: await token('local') });
  });

  it('a ServiceAccount bound only to pod-hardener-scan scans one namespace and all of them', async () => {
    const one = await scan(['-n', NS, '-o', 'json'], allowed);
    expect([one.code, one.stderr]).toEqual([1, '']);
    expect(JSON.parse(one.stdout).summary.pods).toBe(9);
    const all = await scan(['-A', '-o', 'json'], allowed);
    expect([all.code, all.stderr]).toEqual([1, '']);
  });

  it('bound by a RoleBinding in one namespace: that namespace, Namespace object included', async () => {
    const one = await scan(['-n', NS, '-o', 'json'], oneNamespace);
    expect([one.code, one.stderr]).toEqual([1, '']);
    expect(JSON.parse(one.stdout).namespaces[0]).toMatchObject({ name: NS, mode: 'off' });
    expect(oneLineError(await scan(['-n', CLEAN], oneNamespace))).toMatch(
      /forbidden: namespaces "scan-clean" is forbidden/,
    );
  });

  it('without it: forbidden, in one line, exit 2', async () => {
    expect(oneLineError(await scan(['-n', NS], denied))).toMatch(
      /^pod-hardener scan: forbidden: namespaces "scan-e2e" is forbidden: User "system:serviceaccount:scanners:nobody" cannot get resource "namespaces" .*pod-hardener-scan/,
    );
    expect(oneLineError(await scan(['-A'], denied))).toMatch(
      /forbidden: .*cannot list resource "namespaces"/,
    );
  });

  it('an expired token and an invalid one: 401 in one line, exit 2', async () => {
    const valid = (
      await cp.kubectl(['create', 'token', 'scanner', '-n', 'scanners', '--duration=1h'])
    ).stdout.trim();
    // Re-signed as it is, the token is accepted: what fails below is the expiry alone.
    expect(
      (await scan(['-n', CLEAN], kubeconfigFor('resigned', { token: resignToken(valid) }))).code,
    ).toBe(0);
    const now = Math.floor(Date.now() / 1000);
    const expired = kubeconfigFor('expired', {
      token: resignToken(valid, (c) =>
        Object.assign(c, { iat: now - 7200, nbf: now - 7200, exp: now - 3600 }),
      ),
    });
    expect(oneLineError(await scan(['-n', NS], expired))).toMatch(
      /refused the credentials: 401 Unauthorized \(the token is invalid or expired/,
    );
    expect(
      oneLineError(await scan(['-n', NS], kubeconfigFor('garbage', { token: 'not-a-token' }))),
    ).toMatch(/401 Unauthorized/);
  });
});

describe('bad input: one line, exit 2', () => {
  it('an unreachable API server', async () => {
    const port = await freePort();
    const kc = kubeconfigFor(
      'nowhere',
      { token: cp.token },
      { server: `https://127.0.0.1:${port}`, 'certificate-authority': cp.caFile },
    );
    expect(oneLineError(await scan(['-n', NS], kc))).toMatch(
      new RegExp(
        `cannot reach the API server https://127\\.0\\.0\\.1:${port} \\(context "nowhere"\\): connect ECONNREFUSED`,
      ),
    );
  });

  it('an API server whose certificate is not trusted', async () => {
    const kc = kubeconfigFor('untrusted', { token: cp.token }, { server: cp.server });
    expect(oneLineError(await scan(['-n', NS], kc))).toMatch(/TLS with the API server .* failed: /);
  });

  it('a namespace that does not exist', async () => {
    expect(oneLineError(await scan(['-n', NS, '-n', 'nope']))).toBe(
      'pod-hardener scan: namespace "nope" not found\n',
    );
  });

  it('a configuration with an error', async () => {
    const config = join(work, 'bad-config.yaml');
    writeFileSync(config, 'exceptions:\n  capabilityCeiling: NET_ADMIN\n');
    expect(oneLineError(await scan(['-n', NS, '--config', config]))).toMatch(
      /^pod-hardener scan: invalid configuration: config .*bad-config\.yaml: exceptions\.capabilityCeiling: expected a list/,
    );
  });

  it('a kubeconfig that does not exist, and a context it does not have', async () => {
    expect(oneLineError(await scan(['--kubeconfig', join(work, 'none')]))).toMatch(
      /^pod-hardener scan: kubeconfig .*none: ENOENT/,
    );
    expect(oneLineError(await scan(['--context', 'prod']))).toBe(
      'pod-hardener scan: context "prod" is not in the kubeconfig (it has: admin@controlplane)\n',
    );
  });
});

describe(`a namespace with ${BIG_PODS} pods`, () => {
  beforeAll(async () => {
    const started = Date.now();
    await createPods(BIG, BIG_PODS);
    process.stderr.write(`scan e2e: created ${BIG_PODS} pods in ${Date.now() - started} ms\n`);
  });

  it('is read in pages of 500 and every pod is in the report', async () => {
    const r = await scan(['-n', BIG, '-o', 'json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    const names = report.namespaces[0].workloads.flatMap((w: any) =>
      w.pods.map((p: any) => p.name),
    );
    expect(new Set(names).size).toBe(BIG_PODS);
    expect(report.summary).toMatchObject({ pods: BIG_PODS, podsToChange: BIG_PODS });
    process.stderr.write(
      `scan e2e: pod-hardener scan -n ${BIG} -o json (${BIG_PODS} pods, pages of 500): ${r.ms} ms\n`,
    );
    const t = await scan(['-n', BIG]);
    process.stderr.write(`scan e2e: pod-hardener scan -n ${BIG} (table): ${t.ms} ms\n`);
    expect(t.stdout).toContain(`${BIG_PODS} pods`);
  });

  it('shows progress on a terminal when it takes more than a second', async () => {
    // `script` gives the program a terminal; pages of two pods (1,000 requests) make the scan
    // last well beyond the one second after which progress shows.
    const command = [
      process.execPath,
      join(REPO, 'dist/cli/main.js'),
      'scan',
      '-n',
      BIG,
      '--chunk-size',
      '2',
      '-o',
      'json',
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    const r = await exec('script', ['-qec', `${command} >/dev/null`, '/dev/null'], env());
    // Not a speed check: the case only means something if the scan outlasted the delay.
    expect(r.ms).toBeGreaterThan(1000);
    expect(r.code).toBe(1);
    // The progress line is redrawn with ESC [2K (erase line), a control character by design.
    // eslint-disable-next-line no-control-regex
    expect(r.stdout).toMatch(/\r\x1b\[2Kscanning namespace scan-big: \d+ pods listed/);
    // Without a terminal: nothing on stderr.
    expect((await scan(['-n', BIG, '--chunk-size', '10', '-o', 'json'])).stderr).toBe('');
  });
});
