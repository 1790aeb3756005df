/**
 * Kustomize patches are not objects: a strategic-merge patch of a Deployment names only the
 * fields it changes, and hardening it as if it were the whole Deployment writes values that
 * kustomize then merges over the base (a wrong runAsUser, a `hardened` annotation that is not
 * true). So the files a kustomization lists as patches, and documents that are partial objects
 * by their shape, are left as they are, with a note that points to the rendered result:
 * `kubectl kustomize DIR | kubectl harden -f - --check`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isJsonObject as isObject } from '../../engine/json';
import { valueAt } from './json-pointer';
import { splitDocuments } from './yaml/split';
import { readDocument } from './yaml/read';
import type { WorkloadKind } from './workload-kinds';

/** The names kustomize looks for in a directory. */
export const KUSTOMIZATION_FILES: readonly string[] = [
  'kustomization.yaml',
  'kustomization.yml',
  'Kustomization',
];

export function kustomizationIn(dir: string): string | undefined {
  return KUSTOMIZATION_FILES.map((name) => join(dir, name)).find((path) => existsSync(path));
}

/** The command that checks what kustomize renders from a directory. */
export function renderedCheck(dir: string | undefined): string {
  return `kubectl kustomize ${dir ?? 'DIR'} | kubectl harden -f - --check`;
}

/** The kustomization that lists a patch: its directory, and whether it is a Component (which is not rendered alone). */
export interface PatchOf {
  dir: string;
  component: boolean;
}

/** What to say of a file that a kustomization lists as a patch. */
export function patchNote(of: PatchOf): string {
  const check = of.component
    ? `${renderedCheck('OVERLAY')}, with an OVERLAY that uses the component`
    : renderedCheck(of.dir);
  return `a kustomize patch (listed by ${of.component ? 'the component ' : ''}${of.dir}): not hardened as a whole object; left as it is; to check what kustomize renders: ${check}`;
}

/**
 * The patch files the kustomizations list (`patches`, `patchesStrategicMerge`,
 * `patchesJson6902`), by real path, each with the kustomization listing it.
 */
export function patchFiles(
  kustomizations: readonly string[],
  readFile: (path: string) => string,
): Map<string, PatchOf> {
  const patches = new Map<string, PatchOf>();
  for (const file of kustomizations) {
    let text: string;
    try {
      text = readFile(file);
    } catch {
      continue;
    }
    const [chunk] = splitDocuments(text);
    const data = chunk === undefined ? undefined : readDocument(text, chunk.start, chunk.end).data;
    if (!isObject(data)) continue;
    const dir = dirname(file);
    const entries = [data.patches, data.patchesStrategicMerge, data.patchesJson6902].flatMap(
      (list): unknown[] => (Array.isArray(list) ? (list as unknown[]) : []),
    );
    for (const entry of entries) {
      // `patchesStrategicMerge` entries are paths or inline patches; the others name a `path`.
      const path =
        typeof entry === 'string'
          ? entry.includes('\n')
            ? undefined
            : entry
          : isObject(entry) && typeof entry.path === 'string'
            ? entry.path
            : undefined;
      if (path === undefined) continue;
      try {
        patches.set(realpathSync(resolve(dir, path)), {
          dir,
          component: data.kind === 'Component',
        });
      } catch {
        // A patch that does not exist is kustomize's error to report, not ours.
      }
    }
  }
  return patches;
}

const SMP_DIRECTIVE = /^\$(patch|retainKeys|setElementOrder\/|deleteFromPrimitiveList\/)/;

function hasDirective(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasDirective);
  if (!isObject(value)) return false;
  return Object.entries(value).some(([k, v]) => SMP_DIRECTIVE.test(k) || hasDirective(v));
}

/**
 * Why an object of a workload kind is a partial object (a patch), or undefined when it is whole:
 * no pod template with containers, a container without an image, no selector where apps/v1
 * requires one, or strategic-merge directives (`$patch: delete`).
 */
export function partialShape(
  object: Record<string, unknown>,
  workload: WorkloadKind,
  group: string,
): string | undefined {
  const template = valueAt(object, workload.template);
  const spec = isObject(template) ? template.spec : undefined;
  if (!isObject(spec) || spec.containers === undefined) {
    return workload.template.length === 0
      ? 'no spec.containers'
      : `no pod template with containers at ${workload.template.join('.')}`;
  }
  if (hasDirective(object)) return 'strategic-merge directives ($patch, $setElementOrder, ...)';
  for (const list of ['containers', 'initContainers'] as const) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    const bare = (containers as unknown[]).find(
      (c) => isObject(c) && (c.image === undefined || c.image === null),
    );
    if (bare !== undefined)
      return `${list === 'containers' ? 'container' : 'init container'} ${JSON.stringify((bare as { name?: unknown }).name ?? '')} has no image`;
  }
  if (workload.selector && group === 'apps' && valueAt(object, ['spec', 'selector']) === undefined)
    return 'no spec.selector';
  return undefined;
}

/** A document that is a JSON patch (RFC 6902 operations), as kustomize's patchesJson6902 takes. */
export function isJsonPatch(data: unknown): boolean {
  return (
    Array.isArray(data) &&
    data.length > 0 &&
    data.every((op) => isObject(op) && typeof op.op === 'string' && typeof op.path === 'string')
  );
}

/** `kubectl kustomize DIR`: the rendered objects, or why they could not be had. */
export function render(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
): { text: string } | { error: string } {
  const run = spawnSync('kubectl', ['kustomize', dir], {
    encoding: 'utf8',
    env: env,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (run.error) {
    const missing = (run.error as NodeJS.ErrnoException).code === 'ENOENT';
    return {
      error: missing
        ? `--kustomize needs kubectl on PATH (or: ${renderedCheck(dir)})`
        : `kubectl kustomize ${dir}: ${run.error.message}`,
    };
  }
  if (run.status !== 0)
    return { error: `kubectl kustomize ${dir}: ${run.stderr.trim() || `exit ${run.status}`}` };
  return { text: run.stdout };
}
