/**
 * The external programs the chart and monitoring tests drive: helm and promtool, built from their
 * Go modules by scripts/build-go-tool.sh (a cache hit returns at once; a first build takes a few
 * minutes, hence the long beforeAll timeouts of their callers), and kubectl for `kubectl
 * kustomize`. Every command has a time limit and reports its stderr when it fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import YAML from 'yaml';

export const REPO = resolve(__dirname, '..', '..');
export const CHART = join(REPO, 'charts', 'pod-hardener');
/** How long a first build of a tool may take on two shared cores. */
export const BUILD_TIMEOUT_MS = 30 * 60_000;

const cache = new Map<string, string>();

/** Runs a build script of scripts/ and returns the path it prints last (a directory or a binary). */
export function buildScriptBin(script: string, args: string[]): string {
  const out = execFileSync('bash', [join(REPO, 'scripts', script), ...args], {
    cwd: REPO,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: BUILD_TIMEOUT_MS,
  });
  const dir = out.trim().split('\n').pop() ?? '';
  if (!existsSync(dir))
    throw new Error(
      `${script} ${args.join(' ')} printed no existing path (got ${JSON.stringify(dir)})`,
    );
  return dir;
}

/** The path of a program built by scripts/build-go-tool.sh. */
export function goTool(name: 'helm' | 'promtool'): string {
  let path = cache.get(name);
  if (path === undefined) {
    path = join(buildScriptBin('build-go-tool.sh', [name]), name);
    cache.set(name, path);
  }
  return path;
}

/**
 * A kubectl with `kustomize`: POD_HARDENER_KUBECTL, else the one on PATH, else the one built
 * with the e2e control plane (scripts/build-controlplane.sh).
 */
export function kubectl(): string {
  let path = cache.get('kubectl');
  if (path === undefined) {
    const fromEnv = process.env.POD_HARDENER_KUBECTL;
    const onPath =
      spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 30_000 }).status ===
      0
        ? 'kubectl'
        : undefined;
    path = fromEnv || onPath || join(buildScriptBin('build-controlplane.sh', []), 'kubectl');
    cache.set('kubectl', path);
  }
  return path;
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(
  program: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): RunResult {
  const r = spawnSync(program, args, {
    cwd: options.cwd ?? REPO,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    env: {
      ...process.env,
      HELM_CACHE_HOME: helmHome('cache'),
      HELM_CONFIG_HOME: helmHome('config'),
      HELM_DATA_HOME: helmHome('data'),
    },
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a command that must succeed; its output on success, its stderr in the error otherwise. */
export function runOk(
  program: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): string {
  const r = run(program, args, options);
  if (r.status !== 0)
    throw new Error(`${program} ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

// Helm keeps repositories and plugins under the user's home; the tests use none, and must not
// depend on (or write to) what the user has there.
let helmHomeDir: string | undefined;
function helmHome(part: string): string {
  helmHomeDir ??= mkdtempSync(join(tmpdir(), 'pod-hardener-helm-home-'));
  return join(helmHomeDir, part);
}

export type K8sObject = Record<string, any> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, any>;
};

/** Every non-empty document of a multi-document YAML stream. */
export function parseObjects(text: string): K8sObject[] {
  return YAML.parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`YAML does not parse: ${doc.errors[0].message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/** `helm template` of the chart in namespace pod-hardener (release pod-hardener unless given). */
export function helmTemplate(
  values: Record<string, unknown> = {},
  options: { release?: string; namespace?: string; extraArgs?: string[] } = {},
): K8sObject[] {
  return parseObjects(runOk(goTool('helm'), helmTemplateArgs(values, options)));
}

export function helmTemplateArgs(
  values: Record<string, unknown>,
  options: { release?: string; namespace?: string; extraArgs?: string[] } = {},
): string[] {
  const args = [
    'template',
    options.release ?? 'pod-hardener',
    CHART,
    '--namespace',
    options.namespace ?? 'pod-hardener',
  ];
  if (Object.keys(values).length > 0) args.push('--values', valuesFile(values));
  return [...args, ...(options.extraArgs ?? [])];
}

/**
 * Values as a file for --values, in JSON: Helm reads YAML 1.1, where an unquoted `yes` or `0440`
 * that YAML 1.2 writers leave bare would mean true or 288.
 */
export function valuesFile(values: Record<string, unknown>): string {
  return writeTemp('values.yaml', JSON.stringify(values));
}

/** `kubectl kustomize DIR`. */
export function kustomize(dir: string): K8sObject[] {
  return parseObjects(runOk(kubectl(), ['kustomize', dir]));
}

/** A kustomization in a temporary directory: one of the overlays plus components of manifests/. */
export function kustomizeWith(overlay: string, components: string[]): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'pod-hardener-kustomize-'));
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    YAML.stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      // kustomize refuses absolute paths to other kustomizations.
      resources: [relative(dir, join(REPO, 'manifests', overlay))],
      components: components.map((c) => relative(dir, join(REPO, 'manifests', 'components', c))),
    }),
  );
  return kustomize(dir);
}

export function writeTemp(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pod-hardener-test-')), name);
  writeFileSync(file, text);
  return file;
}

/** `Kind/namespace/name`, the identity of an object in a rendering. */
export const objectKey = (o: K8sObject): string =>
  `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
