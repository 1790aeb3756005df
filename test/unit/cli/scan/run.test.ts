/**
 * `pod-hardener scan` as a user runs it, through main() and the kubectl plugin, against an
 * in-memory API server: arguments, exit codes, one-line errors, progress on a terminal.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KUBECTL_HARDEN, pluginArgv } from '../../../../src/cli/kubectl-harden';
import { main, POD_HARDENER, type Io, type Program } from '../../../../src/cli/main';
import { parseScanArgs } from '../../../../src/cli/scan/args';
import { scanCommand, type Cluster, type Connect } from '../../../../src/cli/scan/command';
import { ApiError } from '../../../../src/cli/scan/errors';
import { Labels } from '../../../../src/names';
import { FakeKubeApi } from '../../../support/fake-kube-api';
import { HARDENED_SPEC, storedPod } from '../../../support/stored-pods';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function io(
  o: { tty?: boolean; now?: () => number; env?: Record<string, string> } = {},
): Io & { out: Result } {
  const out: Result = { code: -1, stdout: '', stderr: '' };
  return {
    out,
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    readStdin: async () => '',
    env: o.env ?? {},
    readFile: (p) => readFileSync(p, 'utf8'),
    writeFile: () => undefined,
    stderrIsTTY: o.tty ?? false,
    now: o.now ?? (() => Date.now()),
  };
}

function cluster(api: FakeKubeApi, namespace = 'shop'): Connect {
  return () =>
    ({ api, context: 'e2e', server: 'https://127.0.0.1:6443', namespace }) satisfies Cluster;
}

function apiWith(pods: unknown[], labels: Record<string, string> = {}): FakeKubeApi {
  return new FakeKubeApi([{ name: 'shop', labels }]).set('/api/v1/namespaces/shop/pods', pods);
}

/** `pod-hardener scan ARGS` as main() runs it, with scan reaching `connect`'s cluster. */
async function scan(
  argv: string[],
  connect: Connect,
  o: Parameters<typeof io>[0] = {},
  program: Program = POD_HARDENER,
): Promise<Result> {
  const x = io(o);
  x.out.code = await main(['scan', ...argv], x, program, {
    scan: async () => scanCommand(connect),
  });
  return x.out;
}

const legacy = () => storedPod('legacy', { containers: [{ name: 'app', image: 'app' }] });
const hardened = () => storedPod('hardened', HARDENED_SPEC);

let tmp: string;
beforeEach(() => (tmp = mkdtempSync(join(tmpdir(), 'pod-hardener-scan-'))));
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe('exit codes', () => {
  it('0 when nothing would change, 1 when something would', async () => {
    expect(await scan([], cluster(apiWith([hardened()])))).toMatchObject({ code: 0, stderr: '' });
    const r = await scan([], cluster(apiWith([hardened(), legacy()])));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^shop\s+off\s+Pod\/legacy\s+1\s+yes\s/m);
  });

  it('pods the webhook never sees do not make it 1', async () => {
    const api = new FakeKubeApi([{ name: 'kube-system' }]).set(
      '/api/v1/namespaces/kube-system/pods',
      [legacy()],
    );
    expect((await scan(['-n', 'kube-system'], cluster(api))).code).toBe(0);
  });

  it('an audit namespace shows what enforcing would change, and is 1 too', async () => {
    const r = await scan(
      ['-o', 'json'],
      cluster(apiWith([legacy()], { [Labels.enabled]: 'audit' })),
    );
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).namespaces[0]).toMatchObject({ mode: 'audit', label: 'audit' });
  });
});

describe('argument errors: the words and the hint of every command, exit 2', () => {
  // The tool's own words (command.ts), not node:util's, which change between Node.js versions;
  // the hint names the program as it was called (`kubectl harden scan` through the plugin).
  it.each([
    [['--bogus'], 'unknown option --bogus'],
    [['pods'], 'unexpected argument "pods"'],
    [['-n', 'a', '-A'], '-n and -A: choose one way to pick namespaces'],
    [['-o', 'wide'], '--output: expected one of table, json, yaml, got "wide"'],
    [['--chunk-size', '0'], '--chunk-size: expected a whole number from 1 to 10000, got "0"'],
    [
      ['--request-timeout', '1h'],
      '--request-timeout: expected a whole number from 1 to 3600, got "1h"',
    ],
    [['-n'], '-n needs a value'],
    [['--context', ' '], '--context needs a value'],
  ])('%j: %s', async (argv, message) => {
    const connect = jest.fn();
    expect(await scan(argv, connect)).toEqual({
      code: 2,
      stdout: '',
      stderr: `pod-hardener scan: ${message}\nSee 'pod-hardener scan --help'.\n`,
    });
    expect(connect).not.toHaveBeenCalled();
  });

  it("through the kubectl plugin, the hint is the plugin's", async () => {
    expect((await scan(['--bogus'], jest.fn(), {}, KUBECTL_HARDEN)).stderr).toBe(
      "pod-hardener scan: unknown option --bogus\nSee 'kubectl harden scan --help'.\n",
    );
  });
});

describe('one-line errors, exit 2', () => {
  const oneLine = (r: Result) => {
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    return r.stderr;
  };

  it('a configuration with errors: the first, and how many more', async () => {
    const config = join(tmp, 'config.yaml');
    writeFileSync(config, 'hardening:\n  runAsUser: 0\n  runAsGroop: 3\n');
    const text = oneLine(await scan(['--config', config], cluster(apiWith([]))));
    expect(text).toMatch(
      /^pod-hardener scan: invalid configuration: config .*config\.yaml: hardening\.runAsUser: expected an integer from 1 to 2147483647, got 0 \(and 1 more\)\n$/,
    );
  });

  it('a configuration file that cannot be read', async () => {
    expect(oneLine(await scan(['--config', join(tmp, 'none.yaml')], cluster(apiWith([]))))).toMatch(
      /invalid configuration: config .*none\.yaml: cannot read it: ENOENT/,
    );
  });

  it('forbidden, with what the API server said and where the ClusterRole is', async () => {
    const api = apiWith([]);
    api.failures.push({
      match: /pods$/,
      error: () =>
        new ApiError(
          403,
          'Forbidden',
          'pods is forbidden: User "system:serviceaccount:x:y" cannot list resource "pods" in API group "" in the namespace "shop"',
          '/api/v1/namespaces/shop/pods',
        ),
    });
    expect(oneLine(await scan([], cluster(api)))).toBe(
      'pod-hardener scan: forbidden: pods is forbidden: User "system:serviceaccount:x:y" cannot list resource "pods" in API group "" in the namespace "shop" (scan needs the ClusterRole pod-hardener-scan: manifests/components/scan-rbac)\n',
    );
  });

  it('a namespace that does not exist', async () => {
    expect(oneLine(await scan(['-n', 'shop', '-n', 'nope'], cluster(apiWith([]))))).toBe(
      'pod-hardener scan: namespace "nope" not found\n',
    );
  });

  it('the API server unreachable', async () => {
    const api = apiWith([]);
    api.failures.push({
      match: /./,
      error: () =>
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }),
    });
    expect(oneLine(await scan([], cluster(api)))).toBe(
      'pod-hardener scan: cannot reach the API server https://127.0.0.1:6443 (context "e2e"): connect ECONNREFUSED 127.0.0.1:6443\n',
    );
  });

  it('a failure to connect at all (kubeconfig) is one line too', async () => {
    const { ScanError } = await import('../../../../src/cli/scan/errors');
    const connect: Connect = () => {
      throw new ScanError('context "prod" is not in the kubeconfig (it has: dev)');
    };
    expect(oneLine(await scan(['--context', 'prod'], connect))).toBe(
      'pod-hardener scan: context "prod" is not in the kubeconfig (it has: dev)\n',
    );
  });

  it('a bug is not hidden as an operational error', async () => {
    const api = apiWith([]);
    api.get = async () => {
      throw new TypeError('boom');
    };
    await expect(scan([], cluster(api))).rejects.toThrow('boom');
    api.get = async () => {
      throw Object.assign(new TypeError('The "path" argument must be of type string'), {
        code: 'ERR_INVALID_ARG_TYPE',
      });
    };
    await expect(scan([], cluster(api))).rejects.toThrow('"path" argument');
  });
});

describe('arguments', () => {
  it('kubectl flags mean what they mean to kubectl, -l selects namespaces', () => {
    expect(
      parseScanArgs(['-n', 'a', '--namespace=b', '-n', 'a', '--context', 'c', '--kubeconfig', 'k']),
    ).toMatchObject({
      namespaces: { kind: 'named', names: ['a', 'b'] },
      context: 'c',
      kubeconfig: 'k',
      output: 'table',
      chunkSize: 500,
      requestTimeoutMs: 30000,
      webhookNamespace: 'pod-hardener',
    });
    expect(parseScanArgs(['-l', 'team=shop', '-A']).namespaces).toEqual({
      kind: 'selector',
      selector: 'team=shop',
    });
    expect(parseScanArgs(['-A']).namespaces).toEqual({ kind: 'all' });
    expect(parseScanArgs([]).namespaces).toEqual({ kind: 'context' });
    expect(parseScanArgs(['--request-timeout', '5s', '--chunk-size', '100'])).toMatchObject({
      requestTimeoutMs: 5000,
      chunkSize: 100,
    });
  });

  it('--help prints the usage and exits 0 without connecting', async () => {
    const connect = jest.fn();
    const r = await scan(['--help'], connect);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Usage: pod-hardener scan \[-n NS/);
    expect(r.stdout).toContain('ClusterRole pod-hardener-scan');
    expect(connect).not.toHaveBeenCalled();
  });

  it('is a command of pod-hardener and of the kubectl plugin', async () => {
    expect(pluginArgv(['scan', '-A'])).toEqual(['scan', '-A']);
    const x = io();
    expect(await main(['scan', '--help'], x)).toBe(0);
    expect(x.out.stdout).toMatch(/^Usage: pod-hardener scan /);
    const y = io();
    expect(await main(['scan', '--nope'], y)).toBe(2);
    expect(y.out.stderr).toMatch(/^pod-hardener scan: unknown option --nope\n/);
  });

  it('--webhook-namespace names the namespace excluded besides kube-system', async () => {
    const r = await scan(
      ['--webhook-namespace', 'shop', '-o', 'json'],
      cluster(apiWith([legacy()])),
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      webhookNamespace: 'shop',
      namespaces: [{ name: 'shop', mode: 'excluded' }],
    });
  });
});

describe('progress', () => {
  function slowClock() {
    let t = 0;
    return () => (t += 400);
  }
  const manyPods = () => Array.from({ length: 12 }, (_, i) => storedPod(`p${i}`, HARDENED_SPEC));

  it('on a terminal, once it has taken more than a second, on stderr, cleared at the end', async () => {
    const r = await scan(['--chunk-size', '3', '-o', 'json'], cluster(apiWith(manyPods())), {
      tty: true,
      now: slowClock(),
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('\r\x1b[2Kscanning namespace shop: 9 pods listed');
    expect(r.stderr.endsWith('\r\x1b[2K')).toBe(true);
    expect(r.stderr).not.toContain('scanning namespace shop: 3 pods listed');
    expect(JSON.parse(r.stdout).summary.pods).toBe(12);
  });

  it('never when stderr is not a terminal, and never for a quick scan', async () => {
    expect(
      (
        await scan(['--chunk-size', '3'], cluster(apiWith(manyPods())), {
          tty: false,
          now: slowClock(),
        })
      ).stderr,
    ).toBe('');
    expect(
      (await scan(['--chunk-size', '3'], cluster(apiWith(manyPods())), { tty: true, now: () => 0 }))
        .stderr,
    ).toBe('');
  });
});
