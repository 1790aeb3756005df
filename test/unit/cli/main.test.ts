/**
 * `pod-hardener` as a user runs it: main(argv, io) in-process with captured output and exit code,
 * and the built program itself.
 */
import { applyPatch as applyTextPatch } from 'diff';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { KUBECTL_HARDEN, pluginArgv } from '../../../src/cli/kubectl-harden';
import { COMMANDS, main, type Io, type Program } from '../../../src/cli/main';
import { Annotations } from '../../../src/names';
import { hardenedWorkloads, manifestText, missingOneRule } from '../../support/hardened-workloads';
import { elidedMismatch } from '../../support/markdown';
import { pod } from '../../support/pods';
import { podReview } from '../../support/reviews';
import { applyStrict, decodePatch } from '../../support/strict-patch';

const ROOT = join(__dirname, '..', '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'manifests');
const fixture = (file: string) => join(FIXTURES, file);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  written: Record<string, string>;
}

async function run(
  argv: string[],
  o: { stdin?: string; env?: Record<string, string> } = {},
  program?: Program,
): Promise<Run> {
  const out: Run = { code: -1, stdout: '', stderr: '', written: {} };
  const io: Io = {
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    readStdin: async () => o.stdin ?? '',
    env: o.env ?? {},
    readFile: (path) => readFileSync(path, 'utf8'),
    writeFile: (path, text) => {
      out.written[path] = text;
      writeFileSync(path, text);
    },
    stderrIsTTY: false,
    now: () => Date.now(),
  };
  out.code = await main(argv, io, program);
  return out;
}

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'pod-hardener-cli-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const path = join(tmp, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
};

describe('harden: output', () => {
  it('prints the hardened manifests; notices go to stderr', async () => {
    const r = await run(['harden', '-f', fixture('web-deployment.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('        - NET_BIND_SERVICE  # port 80\n'.padStart(37));
    expect(r.stdout).toContain(`${Annotations.hardened}: "runAsUser=1000 [pod,nginx]`);
    expect(r.stderr).toContain('container "nginx": keeps NET_BIND_SERVICE in capabilities.add');
  });

  it('reads standard input with -f -', async () => {
    const text = readFileSync(fixture('report-cronjob.yaml'), 'utf8');
    const r = await run(['harden', '-f', '-'], { stdin: text });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('allowPrivilegeEscalation: false');
  });

  it('walks directories (.yaml, .yml, .json), in name order, and joins files into one stream', async () => {
    write('b/deploy.yml', readFileSync(fixture('report-cronjob.yaml'), 'utf8'));
    write('a/pod.json', readFileSync(fixture('pod-templates.json'), 'utf8'));
    write('a/notes.txt', 'not a manifest: {');
    write('c.yaml', readFileSync(fixture('configmap-and-service.yaml'), 'utf8'));
    const r = await run(['harden', '-f', tmp, '--report']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/a\/pod\.json items\[0\] +PodTemplate batch\/batch-runner/);
    expect(r.stdout).toMatch(/b\/deploy\.yml:2 +CronJob reporting\/sales-report/);
    expect(r.stdout.indexOf('pod.json')).toBeLessThan(r.stdout.indexOf('deploy.yml'));

    const stream = await run(['harden', '-f', tmp]);
    const docs = YAML.parseAllDocuments(stream.stdout).map((d) => d.toJS());
    expect(docs.map((d) => d.kind)).toEqual(['List', 'CronJob', 'ConfigMap', 'Service']);
  });

  it('--diff prints a unified diff per changed file that applies to the original', async () => {
    const r = await run([
      'harden',
      '-f',
      fixture('web-deployment.yaml'),
      '-f',
      fixture('configmap-and-service.yaml'),
      '--diff',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^--- a\//gm)).toHaveLength(1);
    expect(r.stdout).toContain(
      `--- a/${fixture('web-deployment.yaml')}\n+++ b/${fixture('web-deployment.yaml')}\n@@ `,
    );
    expect(r.stdout).toContain(
      '-          runAsUser: 0          # the old image needed root to write /var/cache/nginx\n',
    );
    expect(r.stdout).toContain(
      '+          runAsUser: 1000       # the old image needed root to write /var/cache/nginx\n',
    );
    const original = readFileSync(fixture('web-deployment.yaml'), 'utf8');
    const hardened = (await run(['harden', '-f', fixture('web-deployment.yaml')])).stdout;
    expect(applyTextPatch(original, r.stdout)).toBe(hardened);
  });

  it('--diff of a large file: every hunk has its context, and the diff applies', async () => {
    const one = readFileSync(fixture('helm-rendered.yaml'), 'utf8');
    const text = Array.from({ length: 200 }, (_, i) => one.replace(/shop-api/g, `api-${i}`)).join(
      '',
    );
    const path = write('big.yaml', text);
    const r = await run(['harden', '-f', path, '--diff']);
    const hardened = (await run(['harden', '-f', path])).stdout;
    expect(applyTextPatch(text, r.stdout)).toBe(hardened);
    expect(r.stdout.match(/^@@ /gm)!.length).toBe(400);
  });

  it('--patch prints RFC 6902 patches per workload, with document index, kind and name, that apply to the document', async () => {
    const r = await run(['harden', '-f', fixture('queue-workers.yaml'), '--patch']);
    expect(r.code).toBe(0);
    const patches = JSON.parse(r.stdout);
    expect(patches.map((p: any) => [p.document, p.kind, p.namespace, p.name])).toEqual([
      [1, 'Deployment', 'orders', 'order-worker'],
      [2, 'Job', 'orders', 'migrate-orders'],
      [3, 'Pod', 'orders', 'toolbox'],
    ]);
    const docs = YAML.parseAllDocuments(readFileSync(fixture('queue-workers.yaml'), 'utf8')).map(
      (d) => d.toJS(),
    );
    const hardened = YAML.parseAllDocuments(
      (await run(['harden', '-f', fixture('queue-workers.yaml')])).stdout,
    ).map((d) => d.toJS());
    for (const p of patches)
      expect(applyStrict(docs[p.document], p.patch)).toEqual(hardened[p.document]);
    expect(patches[0].patch[0].path.startsWith('/spec/template/')).toBe(true);
  });

  it('--report tells each change per workload and container, in the words of the webhook warnings', async () => {
    const r = await run([
      'harden',
      '-f',
      fixture('web-deployment.yaml'),
      '-f',
      fixture('queue-workers.yaml'),
      '--report',
    ]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^SOURCE +WORKLOAD +TARGET +CHANGE$/);
    expect(r.stdout).toMatch(
      /web-deployment\.yaml:3 +Deployment shop\/web +pod +runAsUser unset -> 1000\n/,
    );
    expect(r.stdout).toMatch(/ container "nginx" +runAsUser 0 -> 1000\n/);
    expect(r.stdout).toContain('capabilities.add: removed SYS_TIME (not allowlisted)');
    expect(r.stdout).toContain(
      'sysctls: added net.ipv4.ip_unprivileged_port_start=0, so that non-root processes bind ports below 1024 (needed by nginx:80,nginx:NET_BIND_SERVICE)',
    );
    expect(r.stdout).toContain(
      'note: runs as UID 1000: NET_BIND_SERVICE is in its bounding set only, effective only through file capabilities on the binary (setcap)',
    );
    // Outside the namespaces the operator allows, the skip annotations are ignored and said so.
    expect(r.stdout).toMatch(
      /Pod orders\/toolbox +pod +runAsUser unset -> 1000\n.*\n.*\n.*\n +note: annotation pod-hardener\.io\/skip ignored: skipping is not allowed in namespace "orders"; a cluster operator can allow it by adding the namespace to exceptions\.skipNamespaces/,
    );
    expect(r.stdout).toMatch(/init container "wait-for-db" +runAsUser 0 -> 1000/);
    expect(r.stdout).toContain(
      '4 workloads: 4 to harden (37 changes), 0 already hardened, 0 skipped',
    );
  });

  it('calls a native sidecar (an init container with restartPolicy: Always) a sidecar container', async () => {
    const path = write(
      'sidecar.yaml',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers:\n  - {name: setup, image: a}\n  - {name: logs, image: a, restartPolicy: Always}\n  containers:\n  - {name: app, image: a}\n',
    );
    const report = await run(['harden', '-f', path, '--report']);
    expect(report.stdout).toMatch(/ sidecar container "logs" +capabilities\.drop: added ALL\n/);
    expect(report.stdout).toMatch(/ init container "setup" +capabilities\.drop: added ALL\n/);
    const check = await run(['harden', '-f', path, '--check']);
    expect(check.stdout).toContain(
      '  sidecar container "logs": allowPrivilegeEscalation unset -> false\n',
    );
  });

  it('says which documents it left alone and why', async () => {
    const path = write(
      'patches.yaml',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: scale}\nspec: {replicas: 5}\n---\napiVersion: batch.volcano.sh/v1alpha1\nkind: Job\nmetadata: {name: vj}\nspec: {tasks: []}\n',
    );
    const r = await run(['harden', '-f', path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(path, 'utf8'));
    expect(r.stderr).toContain(
      'patches.yaml:1: Deployment scale: a partial object (no pod template with containers at spec.template), such as a kustomize patch: not hardened as a whole, left as it is; to check what kustomize renders: kubectl kustomize DIR | kubectl harden -f - --check',
    );
    expect(r.stderr).toContain(
      'patches.yaml:6: Job vj: apiVersion "batch.volcano.sh/v1alpha1" is not a Kubernetes Job; left as it is',
    );
  });
});

describe('harden --check', () => {
  it('exits 1 on a legacy file and prints what would change', async () => {
    const r = await run(['harden', '-f', fixture('web-deployment.yaml'), '--check']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('web-deployment.yaml:3: Deployment shop/web: 13 changes\n');
    expect(r.stdout).toContain(
      '  container "nginx": capabilities.add: removed SYS_TIME (not allowlisted)\n',
    );
    expect(r.stdout).not.toContain('apiVersion');
  });

  it('exits 0 on an already hardened file and prints nothing to change', async () => {
    const r = await run(['harden', '-f', fixture('already-hardened.yaml'), '--check']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('nothing to change\n');
  });

  it('exits 0 on hardened shapes charts ship (container level only, a native sidecar) and writes nothing', async () => {
    const text = manifestText(hardenedWorkloads());
    const path = write('hardened-workloads.yaml', text);
    const r = await run(['harden', '-f', path, '--check']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('nothing to change\n');
    // With --write too: a file with nothing to change is not rewritten, not even reformatted.
    const rewrite = await run(['harden', '-f', path, '--check', '--write']);
    expect(rewrite.code).toBe(0);
    expect(rewrite.written).toEqual({});
    expect(readFileSync(path, 'utf8')).toBe(text);
  });

  it.each(
    missingOneRule().map((m) => [
      `${m.workload.metadata.name} ${m.list}[${m.index}] ${m.field}`,
      m,
    ]),
  )(
    'exits 1 when one container misses one rule (%s), naming that container only',
    async (_name, m) => {
      const others = hardenedWorkloads().filter(
        (w) => w.metadata.name !== m.workload.metadata.name,
      );
      const path = write('one-missing.yaml', manifestText([...others, m.workload]));
      const r = await run(['harden', '-f', path, '--check']);
      expect(r.code).toBe(1);
      const { kind, metadata } = m.workload;
      const container = m.workload.spec.template.spec[m.list][m.index].name;
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(
        new RegExp(
          `^${escapeRegExp(path)}:\\d+: ${kind} ${metadata.namespace}/${metadata.name}: 1 change$`,
        ),
      );
      expect(lines[1]).toMatch(
        // A native sidecar is named as one ("sidecar container"); the change by its field.
        new RegExp(`^  (sidecar |init )?container "${container}": ${m.field}`),
      );
      expect(lines).toHaveLength(3); // and the totals line
    },
  );

  it('exits 0 on files it hardened itself, and on files without workloads', async () => {
    const hardened = (await run(['harden', '-f', FIXTURES])).stdout;
    const path = write('hardened.yaml', hardened);
    const r = await run([
      'harden',
      '-f',
      path,
      '-f',
      fixture('configmap-and-service.yaml'),
      '--check',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('nothing to change\n');
  });

  it('combines with --diff (the diff, exit 1) and --patch (JSON stays clean)', async () => {
    const diff = await run(['harden', '-f', fixture('report-cronjob.yaml'), '--diff', '--check']);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toMatch(/^--- a\//);
    const patch = await run([
      'harden',
      '-f',
      fixture('already-hardened.yaml'),
      '--patch',
      '--check',
    ]);
    expect(patch.code).toBe(0);
    expect(JSON.parse(patch.stdout)).toEqual([]);
    expect(patch.stderr).toContain('nothing to change');
  });
});

describe('harden --write', () => {
  it('rewrites the changed files in place, and leaves the others alone', async () => {
    const legacy = write('web.yaml', readFileSync(fixture('web-deployment.yaml'), 'utf8'));
    const plain = write('cm.yaml', readFileSync(fixture('configmap-and-service.yaml'), 'utf8'));
    const r = await run(['harden', '-f', tmp, '--write']);
    expect(r.code).toBe(0);
    expect(Object.keys(r.written)).toEqual([legacy]);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`hardened ${legacy} (1 workloads changed)`);
    expect(readFileSync(plain, 'utf8')).toBe(
      readFileSync(fixture('configmap-and-service.yaml'), 'utf8'),
    );
    expect((await run(['harden', '-f', tmp, '--check'])).code).toBe(0);
  });

  it('with --check, rewrites and still exits 1 (a pre-commit hook)', async () => {
    write('web.yaml', readFileSync(fixture('web-deployment.yaml'), 'utf8'));
    expect((await run(['harden', '-f', tmp, '--write', '--check'])).code).toBe(1);
    expect((await run(['harden', '-f', tmp, '--write', '--check'])).code).toBe(0);
  });
});

/** A file path as a literal inside a regular expression. */
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('harden: unreadable input exits 2 with file and line, and prints nothing else', () => {
  it('bad YAML', async () => {
    const path = write(
      'bad.yaml',
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   labels: {a: b}\nspec: {}\n',
    );
    const r = await run(['harden', '-f', fixture('web-deployment.yaml'), '-f', path]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    // The yaml parser reads `x` and the over-indented `labels` as one key over two lines.
    expect(r.stderr).toBe(
      `pod-hardener: ${path}:4:9: Nested mappings are not allowed in compact mappings\n`,
    );
  });

  it('duplicate keys', async () => {
    const path = write('dup.yaml', 'kind: Pod\nkind: Deployment\n');
    const r = await run(['harden', '-f', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path}:2:1: duplicated mapping key`);
  });

  it('bad JSON', async () => {
    const path = write('bad.json', '{\n  "kind": "Pod",\n  "spec": {\n}}}\n');
    const r = await run(['harden', '-f', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${escapeRegExp(path)}:4:\\d+: not valid JSON`));
  });

  it('a missing file, an empty directory', async () => {
    const r = await run(['harden', '-f', join(tmp, 'nope.yaml'), '-f', tmp]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${join(tmp, 'nope.yaml')}: cannot read it: no such file or directory`,
    );
    expect(r.stderr).toContain(`${tmp}: no .yaml, .yml or .json file in this directory`);
  });

  it('a pod template the engine cannot work with, at the line of the bad field', async () => {
    const path = write(
      'shape.yaml',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: a\n    securityContext:\n      capabilities:\n        add: NET_ADMIN\n',
    );
    const r = await run(['harden', '-f', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${path}:10: Pod p: pod template spec.containers[0].securityContext.capabilities.add: must be a list of strings`,
    );
  });
});

describe('--config: the webhook configuration file, through the same loader', () => {
  it('uses its hardening settings', async () => {
    const config = write('config.yaml', 'hardening:\n  runAsUser: 4242\n  runAsGroup: 4343\n');
    const r = await run(['harden', '-f', fixture('report-cronjob.yaml'), '--config', config]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('runAsUser: 4242\n');
    expect(r.stdout).toContain('runAsGroup: 4343\n');
  });

  it('accepts the shipped manifests/base/config.yaml, whose certificate source comes from the Deployment', async () => {
    const r = await run([
      'harden',
      '-f',
      fixture('web-deployment.yaml'),
      '--check',
      '--config',
      join(ROOT, 'manifests', 'base', 'config.yaml'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain('configuration');
    const selfManaged = write('sm.yaml', 'certificates:\n  source: self-managed\n');
    expect(
      (
        await run([
          'harden',
          '-f',
          fixture('already-hardened.yaml'),
          '--check',
          '--config',
          selfManaged,
        ])
      ).code,
    ).toBe(0);
  });

  it('reads the POD_HARDENER_* environment as the webhook does', async () => {
    const r = await run(['harden', '-f', fixture('report-cronjob.yaml')], {
      env: { POD_HARDENER_RUN_AS_USER: '5000' },
    });
    expect(r.stdout).toContain('runAsUser: 5000\n');
  });

  it('an invalid configuration exits 2 with every error and its path', async () => {
    const config = write('config.yaml', 'hardening:\n  runAsUser: 0\n  runAsGrop: 1\n');
    const r = await run(['harden', '-f', fixture('report-cronjob.yaml'), '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      'hardening.runAsUser: expected an integer from 1 to 2147483647, got 0',
    );
    expect(r.stderr).toContain('hardening.runAsGrop: unknown key (did you mean runAsGroup?)');
    expect(
      (
        await run([
          'harden',
          '-f',
          fixture('report-cronjob.yaml'),
          '--config',
          join(tmp, 'missing.yaml'),
        ])
      ).code,
    ).toBe(2);
  });

  it("honours skip annotations only in the operator's skipNamespaces, with the namespace of the document or --namespace", async () => {
    const config = write('config.yaml', 'exceptions:\n  skipNamespaces: ["dev-*"]\n');
    const manifest = write(
      'pod.yaml',
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    pod-hardener.io/skip: "true"\nspec:\n  containers:\n  - name: a\n    image: a\n',
    );
    const inDev = await run([
      'harden',
      '-f',
      manifest,
      '--check',
      '--config',
      config,
      '--namespace',
      'dev-1',
    ]);
    expect(inDev.code).toBe(0);
    const inDefault = await run(['harden', '-f', manifest, '--check', '--config', config]);
    expect(inDefault.code).toBe(1);
    expect(inDefault.stderr).toContain('skipping is not allowed in namespace "default"');
  });
});

describe('arguments', () => {
  it.each([
    [['harden'], 'harden needs at least one -f FILE, DIR or -'],
    [['harden', '-f'], '-f needs a value'],
    [['harden', '-f', '--diff'], '-f needs a value'],
    [['harden', '-f', ' '], '-f needs a value'],
    [['harden', 'x.yaml'], 'unexpected argument "x.yaml" (files are given with -f)'],
    [['harden', '-f', 'x', '--diff', '--report'], '--diff and --report: choose one'],
    [['harden', '-f', '-', '--write'], '--write cannot rewrite standard input'],
    [
      ['harden', '-k', 'x', '--write'],
      '--write cannot rewrite what kustomize renders (harden the base and overlays with -f)',
    ],
    [['harden', '-f', 'x', '--bogus'], 'unknown option --bogus'],
    [['harden', '-f', 'x', '--check=yes'], '--check takes no value'],
    [['review', '--mode', 'warn'], '--mode: expected enforce or audit, got "warn"'],
    [['guard-params', '--mode', 'audit'], 'unknown option --mode'],
  ])('%j exits 2 with one line and a hint to --help: %s', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `pod-hardener ${argv[0]}: ${message}\nSee 'pod-hardener ${argv[0]} --help'.\n`,
    );
  });

  it('an unknown command, and no command at all', async () => {
    expect(await run(['frobnicate'])).toMatchObject({
      code: 2,
      stderr: 'pod-hardener: unknown command "frobnicate"\nSee \'pod-hardener --help\'.\n',
    });
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^Usage: pod-hardener COMMAND/);
  });

  it('--help prints the usage and exits 0; -f=FILE and --filename work', async () => {
    const help = await run(['harden', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: pod-hardener harden -f FILE\|DIR\|-/);
    expect(help.stdout).not.toContain('pod-hardener review');
    const all = await run(['--help']);
    for (const command of Object.keys(COMMANDS))
      expect(all.stdout).toContain(`pod-hardener ${command}`);
    expect((await run(['harden', `-f=${fixture('already-hardened.yaml')}`, '--check'])).code).toBe(
      0,
    );
    expect(
      (await run(['harden', '--filename', fixture('already-hardened.yaml'), '--check'])).code,
    ).toBe(0);
    expect(
      (await run(['harden', `--filename=${fixture('already-hardened.yaml')}`, '--check'])).code,
    ).toBe(0);
  });

  it('kubectl harden: options are the harden command; a first word is any subcommand, so new ones need no change here', async () => {
    expect(pluginArgv(['-f', 'x.yaml', '--diff'])).toEqual(['harden', '-f', 'x.yaml', '--diff']);
    for (const command of [...Object.keys(COMMANDS), 'scan'])
      expect(pluginArgv([command, '--config', 'c.yaml'])).toEqual([command, '--config', 'c.yaml']);
    expect(pluginArgv([])).toEqual(['--help']);
    const policy = await run(pluginArgv(['policy', '-n', 'security']));
    expect(policy.code).toBe(0);
    expect(
      YAML.parseAllDocuments(policy.stdout)[1].toJS().spec.matchResources.namespaceSelector
        .matchExpressions[1].values,
    ).toEqual(['kube-system', 'security']);
    const bad = await run(pluginArgv(['review', '--bogus']), {}, KUBECTL_HARDEN);
    expect(bad.stderr).toBe(
      "pod-hardener review: unknown option --bogus\nSee 'kubectl harden review --help'.\n",
    );
  });
});

describe('guard-params: the guard policy for a configuration', () => {
  const variables = (stdout: string) =>
    Object.fromEntries(
      YAML.parse(stdout)
        .spec.variables.slice(0, 3)
        .map((v: any) => [v.name, v.expression]),
    );

  it('prints the guard with the exceptions written in as CEL literals, no parameter object', async () => {
    const config = write(
      'config.yaml',
      'exceptions:\n  skipNamespaces: [team-*]\n  exemptContainers: [{name: istio-init, image: "docker.io/istio/proxyv2:*"}]\n  capabilityCeiling: [cap_net_raw]\n',
    );
    const r = await run(['guard-params', '--config', config]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^# .*written by `pod-hardener guard-params` from .*config\.yaml/);
    const policy = YAML.parse(r.stdout);
    expect(policy).toMatchObject({
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: 'pod-hardener-guard' },
    });
    expect(policy.spec.paramKind).toBeUndefined();
    expect(variables(r.stdout)).toEqual({
      skipNamespaces: "'team-.*'",
      exemptContainers: "'istio-init=docker\\\\.io/istio/proxyv2:.*'",
      capabilityCeiling: "'NET_RAW'",
    });
  });

  it('without a configuration, the defaults; a bad option or configuration exits 2', async () => {
    const r = await run(['guard-params']);
    expect(YAML.parse(r.stdout).metadata).toEqual({ name: 'pod-hardener-guard' });
    // Skipping is allowed in no namespace by default: the empty expression matches none.
    expect(variables(r.stdout).skipNamespaces).toBe("''");
    expect((await run(['guard-params', '--mode', 'audit'])).code).toBe(2);
    const bad = await run([
      'guard-params',
      '--config',
      write('bad.yaml', 'exceptions:\n  skipNamespaces: [Team_A]\n'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/skipNamespaces/);
    expect(bad.stdout).toBe('');
  });
});

describe('review: the response the webhook would give to one AdmissionReview', () => {
  it('prints the response as JSON, and on stderr the decoded patch and the warnings', async () => {
    const review = podReview(pod({ securityContext: { runAsUser: 0 } }), {
      namespace: 'team',
      uid: 'u-1',
    });
    const r = await run(['review'], { stdin: JSON.stringify(review) });
    expect(r.code).toBe(0);
    const response = JSON.parse(r.stdout);
    expect(response).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'u-1', allowed: true, patchType: 'JSONPatch' },
    });
    const applied = applyStrict(review.request.object, decodePatch(response.response));
    expect(applied.spec.securityContext.runAsUser).toBe(1000);
    expect(r.stderr).toContain(
      'HTTP 200, allowed, decision patched (mode enforce, pod team/p, uid u-1)\n',
    );
    expect(r.stderr).toContain('  replace /spec/securityContext/runAsUser = 1000\n');
    // What may stop working comes first, then every change.
    expect(r.stderr).toMatch(
      /warnings:\n {2}pod-hardener: container "app": may stop working: runs as root today/,
    );
    expect(r.stderr).toContain('\n  pod-hardener: pod: runAsUser 0 -> 1000\n');
    expect(r.stderr).toContain('audit annotations:\n  mode: enforce\n  decision: patched\n');
  });

  it('--mode audit: no patch, the warnings say what would change', async () => {
    const r = await run(['review', '--mode', 'audit'], { stdin: JSON.stringify(podReview(pod())) });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).response.patch).toBeUndefined();
    expect(r.stderr).toContain(
      'audit only, nothing changed): would change pod: runAsUser unset -> 1000',
    );
  });

  it('uses --config', async () => {
    const config = write('config.yaml', 'hardening:\n  runAsUser: 7777\n');
    const r = await run(['review', '--config', config], {
      stdin: JSON.stringify(podReview(pod())),
    });
    expect(r.stderr).toContain('add /spec/securityContext/runAsUser = 7777');
  });

  it('a bare Pod is reviewed as its creation', async () => {
    const r = await run(['review'], { stdin: JSON.stringify(pod()) });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('input is a Pod: reviewed as its CREATE in namespace team');
  });

  it('a request the webhook refuses exits 1; input that is not JSON exits 2', async () => {
    const bad = podReview({ kind: 'Pod', metadata: { name: 'x' }, spec: { containers: 'nope' } });
    const refused = await run(['review'], { stdin: JSON.stringify(bad) });
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).response.status.code).toBe(400);
    expect(refused.stderr).toContain('HTTP 400, not allowed, decision invalid');
    expect(refused.stderr).toContain(
      'message: pod-hardener BAD_POD: request.object is not a valid Pod: spec.containers: must be a list of containers',
    );

    const notJson = await run(['review'], { stdin: 'review' });
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain('standard input is not JSON');
    expect((await run(['review'], { stdin: '' })).stderr).toContain('standard input is empty');
  });
});

/** The page that documents the offline tool; every example there is run below. */
const HARDEN_DOC = 'docs/kubectl-harden.md';

describe(`${HARDEN_DOC} shows what the tool prints`, () => {
  const page = readFileSync(join(ROOT, HARDEN_DOC), 'utf8');
  // Every `$ pod-hardener harden ...` line of the page's code blocks, with the lines it prints.
  const examples = [...page.matchAll(/```\w*\n([\s\S]*?)```/g)].flatMap(([, block]) =>
    block
      .split(/^(?=\$ )/m)
      .filter((part) => part.startsWith('$ pod-hardener harden '))
      .map((part) => {
        const [command, ...output] = part.split('\n');
        return [command.slice(2), output.join('\n')] as const;
      }),
  );

  it('has examples', () => expect(examples.length).toBeGreaterThanOrEqual(4));

  it.each(examples)('%s', async (command, output) => {
    const echo = command.endsWith('; echo "exit $?"');
    const argv = command
      .replace(/; echo "exit \$\?"$/, '')
      .split(' ')
      .slice(1);
    const cwd = process.cwd();
    // The examples run where the fixtures are, so the file names are as short as on the page.
    process.chdir(FIXTURES);
    try {
      const r = await run(argv);
      expect(r.stdout + (echo ? `exit ${r.code}\n` : '')).toBe(output);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe(`${HARDEN_DOC}: what \`review\` prints`, () => {
  const page = readFileSync(join(ROOT, HARDEN_DOC), 'utf8');
  // `$ pod-hardener review < FILE > response.json`, then what it prints on stderr, with elisions.
  const block: string | undefined = /```\w*\n(\$ pod-hardener review [\s\S]*?)```/.exec(page)?.[1];

  it('is on the page', () => expect(block).toBeDefined());

  it('prints what the page shows, for the fixture it names', async () => {
    const [command, ...shown] = (block ?? '').trimEnd().split('\n');
    const input = /< (\S+)/.exec(command)![1];
    const r = await run(['review'], { stdin: readFileSync(join(ROOT, input), 'utf8') });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).response.allowed).toBe(true);
    expect(elidedMismatch(shown, r.stderr.trimEnd().split('\n'))).toBeUndefined();
  });
});

/**
 * The built program, as a user runs it: dist/ when it is newer than every source file, else a
 * build of its own (tsc, as `npm run build` does) in a directory removed afterwards.
 */
function builtProgram(): string {
  const dist = join(ROOT, 'dist');
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce(
      (m, e) =>
        Math.max(
          m,
          e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
        ),
      0,
    );
  if (
    existsSync(join(dist, 'cli', 'main.js')) &&
    statSync(join(dist, 'cli', 'main.js')).mtimeMs >= newest(join(ROOT, 'src'))
  )
    return dist;
  // Under node_modules, so that the build finds its dependencies as dist/ does.
  const cache = join(ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const out = mkdtempSync(join(cache, 'pod-hardener-dist-'));
  const build = spawnSync(
    process.execPath,
    [
      require.resolve('typescript/bin/tsc'),
      '-p',
      join(ROOT, 'tsconfig.build.json'),
      '--outDir',
      out,
    ],
    { encoding: 'utf8' },
  );
  if (build.status !== 0)
    throw new Error(
      `cannot build the program for this test (tsc -p tsconfig.build.json): ${build.stdout}${build.stderr}`,
    );
  return out;
}

describe('the built program', () => {
  let dist: string;
  beforeAll(() => {
    dist = builtProgram();
  }, 180_000);
  afterAll(() => {
    if (dist !== join(ROOT, 'dist')) rmSync(dist, { recursive: true, force: true });
  });
  const node = (script: string, args: string[]) =>
    spawnSync(process.execPath, [join(dist, 'cli', script), ...args], {
      encoding: 'utf8',
      cwd: ROOT,
    });

  it('pod-hardener harden --check: exit 1 on a legacy file, 0 on a hardened one', () => {
    const legacy = node('main.js', ['harden', '-f', fixture('web-deployment.yaml'), '--check']);
    expect(legacy.status).toBe(1);
    expect(legacy.stdout).toContain('Deployment shop/web: 13 changes');
    const hardened = node('main.js', ['harden', '-f', fixture('already-hardened.yaml'), '--check']);
    expect(hardened.status).toBe(0);
    expect(hardened.stdout).toBe('nothing to change\n');
  });

  it('kubectl-harden: options are the harden command, a first word any subcommand (guard-params and policy among them)', () => {
    expect(
      node('kubectl-harden.js', ['-f', fixture('already-hardened.yaml'), '--check']).stdout,
    ).toBe('nothing to change\n');
    const guard = node('kubectl-harden.js', ['guard-params', '--name', 'ph-guard']);
    expect(guard.status).toBe(0);
    expect(YAML.parse(guard.stdout).metadata).toEqual({ name: 'ph-guard' });
    const policy = node('kubectl-harden.js', ['policy']);
    expect(policy.status).toBe(0);
    expect(YAML.parseAllDocuments(policy.stdout).map((d) => d.toJS().kind)).toContain(
      'MutatingAdmissionPolicy',
    );
    const bad = node('kubectl-harden.js', ['--bogus']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(
      "pod-hardener harden: unknown option --bogus\nSee 'kubectl harden --help'.\n",
    );
  });
});
