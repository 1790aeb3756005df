// docs/policy-mode.md as a user follows it: every command of its code blocks, as written, run
// with bash against a real kube-apiserver 1.36.5 (pod-hardener is the built CLI, kubectl and
// helm the project's own builds), in a directory holding the repository's manifests/ and charts/
// and the shipped config.yaml; and its alert expression checked by promtool.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BUILD_TIMEOUT_MS, goTool, REPO } from '../support/tools';
import { startControlPlane, type ControlPlane } from './support/controlplane';

const BUILD_AND_START_TIMEOUT_MS = 60 * 60 * 1000;
const DOC = readFileSync(join(REPO, 'docs', 'policy-mode.md'), 'utf8');

/** The fenced blocks of a language ('' for none), in order. */
function blocks(lang: string): string[] {
  const out: string[] = [];
  let open: { lang: string; lines: string[] } | undefined;
  for (const line of DOC.split('\n')) {
    if (open === undefined && line.startsWith('```'))
      open = { lang: line.slice(3).trim(), lines: [] };
    else if (open !== undefined && line.trim() === '```') {
      if (open.lang === lang) out.push(open.lines.join('\n'));
      open = undefined;
    } else open?.lines.push(line);
  }
  return out;
}
const commands = (block: string) =>
  block.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));

let cp: ControlPlane;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  cp = await startControlPlane();
  dir = mkdtempSync(join(tmpdir(), 'pod-hardener-docs-'));
  const bin = join(dir, 'bin');
  execFileSync('mkdir', ['-p', bin]);
  writeFileSync(
    join(bin, 'pod-hardener'),
    `#!/bin/sh\nexec "${process.execPath}" "${join(REPO, 'dist', 'cli', 'main.js')}" "$@"\n`,
  );
  chmodSync(join(bin, 'pod-hardener'), 0o755);
  symlinkSync(join(REPO, 'manifests'), join(dir, 'manifests'));
  symlinkSync(join(REPO, 'charts'), join(dir, 'charts'));
  copyFileSync(join(REPO, 'manifests', 'base', 'config.yaml'), join(dir, 'config.yaml'));
  env = {
    ...cp.env,
    PATH: [bin, cp.binDir, dirname(goTool('helm')), process.env.PATH].join(':'),
    HELM_CACHE_HOME: join(dir, 'helm-cache'),
    HELM_CONFIG_HOME: join(dir, 'helm-config'),
    HELM_DATA_HOME: join(dir, 'helm-data'),
  };
}, BUILD_AND_START_TIMEOUT_MS);

afterAll(async () => {
  await cp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function sh(line: string): { status: number | null; out: string } {
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', line], {
    cwd: dir,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

async function names(resources: string): Promise<string[]> {
  return (await cp.kubectl(['get', resources, '-o', 'name'])).stdout
    .split('\n')
    .filter(Boolean)
    .sort();
}

const POLICY_OBJECTS = [
  'mutatingadmissionpolicy.admissionregistration.k8s.io/pod-hardener',
  'mutatingadmissionpolicybinding.admissionregistration.k8s.io/pod-hardener',
];

test('the code blocks: check, install three ways, switch from the webhook and back', async () => {
  const [check, install, toPolicy, toWebhook] = blocks('sh');
  const ran: string[] = [];
  const run = (line: string) => {
    const r = sh(line);
    ran.push(line);
    expect([line, r.status, r.status === 0 ? '' : r.out]).toEqual([line, 0, '']);
    return r.out;
  };

  expect(commands(check)).toEqual(['pod-hardener policy --check-cluster']);
  expect(run(commands(check)[0])).toMatch(/v1\.36\.5 serves MutatingAdmissionPolicy/);

  for (const line of commands(install)) {
    // Each way installs the same objects; Helm takes over only objects it created.
    if (line.startsWith('helm '))
      await cp.kubectl([
        'delete',
        'mutatingadmissionpolicy,mutatingadmissionpolicybinding,validatingadmissionpolicy,validatingadmissionpolicybinding',
        '--all',
      ]);
    run(line);
    expect(await names('mutatingadmissionpolicy,mutatingadmissionpolicybinding')).toEqual(
      POLICY_OBJECTS,
    );
    expect(await names('validatingadmissionpolicy')).toEqual([
      'validatingadmissionpolicy.admissionregistration.k8s.io/pod-hardener-audit',
      'validatingadmissionpolicy.admissionregistration.k8s.io/pod-hardener-guard',
    ]);
  }
  // No webhook, Deployment or Service in policy mode.
  expect(await names('mutatingwebhookconfigurations')).toEqual([]);
  expect(
    (await cp.kubectl(['get', 'deployments,services', '-n', 'pod-hardener', '-o', 'name'])).stdout,
  ).toBe('');

  // From webhook mode: the webhook installed as manifests/ installs it.
  await cp.kubectl(['apply', '-k', join(REPO, 'manifests')]);
  expect(await names('mutatingwebhookconfigurations')).toEqual([
    'mutatingwebhookconfiguration.admissionregistration.k8s.io/pod-hardener',
  ]);
  for (const line of commands(toPolicy)) run(line);
  expect(await names('mutatingwebhookconfigurations')).toEqual([]);
  expect(
    (await cp.kubectl(['get', 'deployments,services', '-n', 'pod-hardener', '-o', 'name'])).stdout,
  ).toBe('');
  expect(await names('mutatingadmissionpolicy,mutatingadmissionpolicybinding')).toEqual(
    POLICY_OBJECTS,
  );

  // And back: the webhook installed again, then the policy removed; the guard stays.
  await cp.kubectl(['apply', '-k', join(REPO, 'manifests')]);
  for (const line of commands(toWebhook)) run(line);
  expect(await names('mutatingadmissionpolicy,mutatingadmissionpolicybinding')).toEqual([]);
  expect(await names('validatingadmissionpolicy')).toEqual([
    'validatingadmissionpolicy.admissionregistration.k8s.io/pod-hardener-guard',
  ]);
  expect(ran.length).toBe(
    [check, install, toPolicy, toWebhook].reduce((n, b) => n + commands(b).length, 0),
  );
  expect(blocks('sh')).toHaveLength(4);
});

test(
  'the alert expression is valid PromQL (promtool)',
  () => {
    const [expr] = blocks('');
    const rules = join(dir, 'rules.yaml');
    writeFileSync(
      rules,
      JSON.stringify({
        groups: [
          { name: 'docs', rules: [{ alert: 'PodHardenerPolicyErrors', expr: expr.trim() }] },
        ],
      }),
    );
    const r = spawnSync(goTool('promtool'), ['check', 'rules', rules], { encoding: 'utf8' });
    expect([r.status, r.stdout + r.stderr]).toEqual([0, expect.stringContaining('SUCCESS')]);
  },
  BUILD_TIMEOUT_MS,
);
