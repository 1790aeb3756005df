/**
 * One document's workloads through exactly what the webhook runs on a pod created from each
 * template (`hardenPod`, scope create): the engine and the guarded diff. The result
 * is the patch of the document and the document as it must read after it.
 */
import { hardenPod } from '../../engine/harden-pod';
import type { PatchOperation as Operation } from '../../engine/patch';
import { isJsonObject as isObject } from '../../engine/json';
import type { Policy } from '../../engine/policy';
import type { ImageUser } from '../../engine/types';
import { tokensPointer, valueAt, type PathKey } from './json-pointer';
import { isJsonPatch, partialShape, renderedCheck } from './kustomize';
import { ManifestError, where } from './input-errors';
import type { ManifestNote, WorkloadResult } from './results';
import { withClaimVolumes, withoutClaimVolumes } from './statefulset-claims';
import { apiGroup, objectsOf, podOf, str, WORKLOADS } from './workload-kinds';

type Obj = Record<string, unknown>;

export interface DocumentContext {
  policy: Policy;
  imageUsers?: ReadonlyMap<string, ImageUser>;
  namespace: string;
  source: string;
  /** The directory to render with kustomize, for the note on a patch (the file's, when it holds a kustomization). */
  kustomizeDir?: string;
  /** Line of the node at a path of the document, from 1, when positions are known. */
  lineOf(path: readonly PathKey[]): number | undefined;
}

export interface DocumentHardening {
  workloads: WorkloadResult[];
  notes: ManifestNote[];
  /** Every operation of the document, paths from its root. */
  ops: Operation[];
  /** The document after the operations (the input itself when there are none). */
  expected: unknown;
}

/** `spec.containers[0].name` (InvalidPodError paths) as path tokens. */
function fieldTokens(field: string): string[] {
  return field.split(/\.|\[(\d+)\]/).filter((t): t is string => t !== undefined && t !== '');
}

/** Native sidecars: init containers that keep running (restartPolicy: Always) beside the app. */
function sidecarsOf(spec: Obj): string[] {
  const init = Array.isArray(spec.initContainers) ? spec.initContainers : [];
  return init
    .filter((c) => isObject(c) && c.restartPolicy === 'Always' && typeof c.name === 'string')
    .map((c) => (c as { name: string }).name);
}

/** Hardens the workloads of one parsed document (plain data); the document itself is not modified. */
export function hardenDocument(
  data: unknown,
  index: number,
  ctx: DocumentContext,
): DocumentHardening {
  const out: DocumentHardening = { workloads: [], notes: [], ops: [], expected: data };
  const noteAt = (line: number | undefined, message: string) =>
    out.notes.push({ source: ctx.source, document: index, line, message });
  if (isJsonPatch(data)) {
    noteAt(
      ctx.lineOf([]),
      `a JSON patch (RFC 6902 operations), not an object: left as it is; to check what kustomize renders: ${renderedCheck(ctx.kustomizeDir)}`,
    );
    return out;
  }
  const templates: { path: PathKey[]; value: Obj }[] = [];
  for (const { path, item, object } of objectsOf(data)) {
    const kind = str(object.kind);
    const workload = kind === undefined ? undefined : WORKLOADS[kind];
    if (workload === undefined) continue;
    const line = ctx.lineOf(path);
    const meta = isObject(object.metadata) ? object.metadata : {};
    const name = str(meta.name) ?? str(meta.generateName) ?? '';
    const label = `${kind} ${name || '(no name)'}`;
    const note = (message: string) => noteAt(line, `${label}: ${message}`);

    const apiVersion = str(object.apiVersion) ?? '';
    const group = apiGroup(apiVersion);
    if (apiVersion === '' || !workload.groups.includes(group)) {
      note(`apiVersion ${JSON.stringify(apiVersion)} is not a Kubernetes ${kind}; left as it is`);
      continue;
    }
    const partial = partialShape(object, workload, group);
    if (partial !== undefined) {
      note(
        `a partial object (${partial}), such as a kustomize patch: not hardened as a whole, left as it is; to check what kustomize renders: ${renderedCheck(ctx.kustomizeDir)}`,
      );
      continue;
    }
    const templatePath = [...path, ...workload.template];
    const template = valueAt(data, templatePath) as Obj;
    const namespace = str(meta.namespace) ?? ctx.namespace;
    const pod = podOf(workload, template);
    const enginePod = kind === 'StatefulSet' ? withClaimVolumes(pod, object, name) : pod;

    // The patch compares only security contexts, annotations and hostUsers, so the one made for
    // the StatefulSet's pod with its claim volumes applies to the template as it is.
    const result = hardenPod(enginePod, ctx.policy, {
      scope: { kind: 'create' },
      namespace,
      ...(ctx.imageUsers && { imageUsers: ctx.imageUsers }),
    });
    if (result.error) {
      if (result.invalid === undefined) throw result.error;
      const at = [...templatePath, ...fieldTokens(result.invalid.path)];
      throw new ManifestError([
        `${where(ctx.source, deepestLine(ctx, at) ?? line)}: ${label}: pod template ${result.invalid.message}`,
      ]);
    }
    let hardened = result.pod as Obj;
    if (enginePod !== pod && hardened !== enginePod) hardened = withoutClaimVolumes(hardened, pod);
    const patch = result.patch;
    const prefix = tokensPointer(templatePath);
    const docPatch = patch.map((op) => ({ ...op, path: prefix + op.path }));
    out.ops.push(...docPatch);
    if (patch.length > 0)
      templates.push({
        path: templatePath,
        value: workload.template.length === 0 ? hardened : { ...template, ...hardened },
      });
    out.workloads.push({
      source: ctx.source,
      document: index,
      ...(item !== undefined ? { item } : {}),
      line,
      kind: kind!,
      name,
      namespace,
      template: prefix,
      sidecars: sidecarsOf(template.spec as Obj),
      changes: result.changes,
      notices: result.notices,
      skipped: result.skipped,
      patch: docPatch,
    });
  }
  out.expected = withTemplates(data, templates);
  return out;
}

/** The document with the hardened templates in place: copies along their paths, everything else shared. */
function withTemplates(
  data: unknown,
  templates: readonly { path: PathKey[]; value: Obj }[],
): unknown {
  let root = data;
  for (const { path, value } of templates) {
    const copy = (node: unknown, i: number): unknown => {
      if (i === path.length) return value;
      const key = path[i];
      if (Array.isArray(node)) {
        const next: unknown[] = [...(node as unknown[])];
        next[Number(key)] = copy(node[Number(key)], i + 1);
        return next;
      }
      const obj = node as Obj;
      return { ...obj, [key]: copy(obj[String(key)], i + 1) };
    };
    root = copy(root, 0);
  }
  return root;
}

function deepestLine(ctx: DocumentContext, path: readonly PathKey[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const line = ctx.lineOf(path.slice(0, n));
    if (line !== undefined) return line;
  }
  return undefined;
}
