/**
 * The core of `pod-hardener harden`, usable in-process (the benchmark calls it): manifest text in,
 * the hardened text and what changed in each workload out.
 *
 * Each pod template goes through exactly what the webhook runs on a pod created from it: the
 * engine (`harden`, scope create) and the guarded diff (`createPatch`). The patch is then applied
 * to the text of the manifest (yaml-edit.ts), so everything the patch does not touch stays as it
 * was, byte for byte; documents without a change are never re-printed.
 */
import { createPatch, type PatchOperation as Operation } from '../admission/patch';
import { harden } from '../engine/harden';
import { InvalidPodError } from '../engine/pod-shape';
import type { Policy } from '../engine/policy';
import type { Change, Notice } from '../engine/types';
import { applyWithDocument, inferStyle, lineReplacements, planEdits, sameData, splice, tokensPointer, UnsupportedEdit, valueAt, type PathKey } from './yaml-edit';
import { loadData, loadTree, parsesTo, splitDocuments, YamlSyntaxError, type Chunk, type ENode } from './yaml-tree';
import { lineAt, lineStarts } from './line-index';
import { isJsonObject as isObject } from '../engine/json';

/** Where the pod template sits in each kind, and the API groups the kind is recognised in. */
const WORKLOADS: Readonly<Record<string, { groups: readonly string[]; template: readonly string[] }>> = {
  Pod: { groups: [''], template: [] },
  PodTemplate: { groups: [''], template: ['template'] },
  ReplicationController: { groups: [''], template: ['spec', 'template'] },
  Deployment: { groups: ['apps', 'extensions'], template: ['spec', 'template'] },
  ReplicaSet: { groups: ['apps', 'extensions'], template: ['spec', 'template'] },
  DaemonSet: { groups: ['apps', 'extensions'], template: ['spec', 'template'] },
  StatefulSet: { groups: ['apps'], template: ['spec', 'template'] },
  Job: { groups: ['batch'], template: ['spec', 'template'] },
  CronJob: { groups: ['batch'], template: ['spec', 'jobTemplate', 'spec', 'template'] },
};

export const WORKLOAD_KINDS: readonly string[] = Object.keys(WORKLOADS);

export interface HardenManifestsOptions {
  policy: Policy;
  /** The namespace of documents that name none (`--namespace`); `default` when not given. */
  namespace?: string;
  /** Where the text comes from (a path, or `-`), for messages. */
  source?: string;
  /**
   * False when only the changes are wanted (--check, --report, --patch): the hardened text is not
   * written (`output` is the input), which is faster and works where the text cannot be edited.
   */
  rewrite?: boolean;
}

/** One workload (a Pod or an object with a pod template) and what hardening does to it. */
export interface WorkloadResult {
  source: string;
  /** Index of the YAML document in the text, from 0. */
  document: number;
  /** Index in `items` when the workload is an entry of a List. */
  item?: number;
  /** Line of the object in the text, from 1 (undefined for JSON input). */
  line?: number;
  kind: string;
  name: string;
  namespace: string;
  /** JSON pointer of the pod template in the document (`` for a Pod). */
  template: string;
  changes: Change[];
  notices: Notice[];
  skipped: boolean;
  /** RFC 6902 patch of the document (paths from the document root), as `kubectl patch --type json` takes it. */
  patch: Operation[];
}

/** Something said about a document that was left as it is, and why. */
export interface ManifestNote {
  source: string;
  document: number;
  line?: number;
  message: string;
}

/** `[start, end)` of the input replaced by `text`, whole lines; the output is the input with these applied. */
export interface Replacement {
  start: number;
  end: number;
  text: string;
  /** A whole document (or JSON file) printed again, rather than the lines an edit touched. */
  reprinted?: boolean;
}

export interface HardenManifestsResult {
  /** The hardened text; the input itself when nothing changes (or `rewrite` is false). */
  output: string;
  /** Whether hardening changes anything. */
  changed: boolean;
  format: 'yaml' | 'json';
  /** Every workload found, changed or not, in text order. */
  documents: WorkloadResult[];
  notes: ManifestNote[];
  /** How `output` differs from the input (empty when `rewrite` is false). */
  replacements: Replacement[];
}

/** The input cannot be read as manifests: each message names the source and, when known, line and column. */
export class ManifestError extends Error {
  constructor(readonly messages: readonly string[]) {
    super(messages.join('\n'));
    this.name = 'ManifestError';
  }
}

type Obj = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function where(source: string, line?: number, col?: number): string {
  return line === undefined ? source : col === undefined ? `${source}:${line}` : `${source}:${line}:${col}`;
}

interface Located {
  /** Path of the object in the document. */
  path: PathKey[];
  item?: number;
  object: Obj;
}

/** The objects of a document: the document itself, or the entries of a List. */
function objectsOf(data: unknown): Located[] {
  if (!isObject(data)) return [];
  const kind = str(data.kind);
  if (kind !== undefined && kind.endsWith('List') && Array.isArray(data.items)) {
    return data.items.flatMap((item, i) => (isObject(item) ? [{ path: ['items', i], item: i, object: item }] : []));
  }
  return [{ path: [], object: data }];
}

/** `spec.containers[0].name` (InvalidPodError paths) as path tokens. */
function fieldTokens(field: string): string[] {
  return field.split(/\.|\[(\d+)\]/).filter((t): t is string => t !== undefined && t !== '');
}

interface Context {
  policy: Policy;
  namespace: string;
  source: string;
  /** Line of the node at a path of the document, from 1, when positions are known. */
  lineOf(path: readonly PathKey[]): number | undefined;
}

type Base = Omit<Context, 'lineOf'> & { rewrite: boolean };

interface DocumentHardening {
  workloads: WorkloadResult[];
  notes: ManifestNote[];
  /** Every operation of the document, paths from its root. */
  ops: Operation[];
  /** The hardened pod templates, by path: the document after the operations. */
  templates: { path: PathKey[]; value: Obj }[];
}

/** Hardens the workloads of one parsed document (plain data); the document itself is not modified. */
function hardenDocument(data: unknown, index: number, ctx: Context): DocumentHardening {
  const out: DocumentHardening = { workloads: [], notes: [], ops: [], templates: [] };
  for (const { path, item, object } of objectsOf(data)) {
    const kind = str(object.kind);
    const workload = kind === undefined ? undefined : WORKLOADS[kind];
    if (workload === undefined) continue;
    const line = ctx.lineOf(path);
    const meta = isObject(object.metadata) ? object.metadata : {};
    const name = str(meta.name) ?? str(meta.generateName) ?? '';
    const label = `${kind} ${name || '(no name)'}`;
    const note = (message: string) => out.notes.push({ source: ctx.source, document: index, line, message: `${label}: ${message}` });

    const apiVersion = str(object.apiVersion) ?? '';
    const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
    if (apiVersion === '' || !workload.groups.includes(group)) {
      note(`apiVersion ${JSON.stringify(apiVersion)} is not a Kubernetes ${kind}; left as it is`);
      continue;
    }
    const templatePath = [...path, ...workload.template];
    const template = valueAt(data, templatePath);
    // A kustomize patch or a partial document: nothing the API server would make a pod of.
    if (!isObject(template) || !isObject(template.spec) || template.spec.containers === undefined) {
      note(workload.template.length === 0 ? 'no spec.containers; left as it is' : `no pod template with containers at ${workload.template.join('.')}; left as it is`);
      continue;
    }
    const namespace = str(meta.namespace) ?? ctx.namespace;
    // The pod as the controller creates it from the template; for a Pod, the Pod itself.
    const pod: Obj = workload.template.length === 0 ? template : {};
    if (workload.template.length > 0) {
      if ('metadata' in template) pod.metadata = template.metadata;
      pod.spec = template.spec;
    }
    const enginePod = kind === 'StatefulSet' ? withClaimVolumes(pod, object, name) : pod;

    let result;
    try {
      result = harden(enginePod, ctx.policy, { scope: { kind: 'create' }, namespace });
    } catch (err) {
      if (!(err instanceof InvalidPodError)) throw err;
      const at = [...templatePath, ...fieldTokens(err.path)];
      throw new ManifestError([`${where(ctx.source, deepestLine(ctx, at) ?? line)}: ${label}: pod template ${err.message}`]);
    }
    let hardened = result.pod as Obj;
    if (enginePod !== pod && hardened !== enginePod) hardened = withoutClaimVolumes(hardened, pod);
    const patch = result.changes.length > 0 ? createPatch(pod, hardened) : [];
    const prefix = tokensPointer(templatePath);
    const docPatch = patch.map((op) => ({ ...op, path: prefix + op.path }));
    out.ops.push(...docPatch);
    if (patch.length > 0) {
      const value = workload.template.length === 0 ? hardened : { ...template, ...hardened };
      out.templates.push({ path: templatePath, value });
    }
    out.workloads.push({
      source: ctx.source,
      document: index,
      ...(item !== undefined ? { item } : {}),
      line,
      kind: kind!,
      name,
      namespace,
      template: prefix,
      changes: result.changes,
      notices: result.notices,
      skipped: result.skipped,
      patch: docPatch,
    });
  }
  return out;
}

/** The document with the hardened templates in place: copies along their paths, everything else shared. */
function hardenedData(data: unknown, templates: DocumentHardening['templates']): unknown {
  let root = data;
  for (const { path, value } of templates) {
    const copy = (node: unknown, i: number): unknown => {
      if (i === path.length) return value;
      const key = path[i];
      if (Array.isArray(node)) {
        const next = [...node];
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

function deepestLine(ctx: Context, path: readonly PathKey[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const line = ctx.lineOf(path.slice(0, n));
    if (line !== undefined) return line;
  }
  return undefined;
}

/**
 * The StatefulSet controller gives each pod a volume for every volumeClaimTemplate
 * (`<claim>-<statefulset>-<ordinal>`), so the pod the webhook sees mounts writable volumes that
 * the template does not list, and gets fsGroup for them. The engine is shown those volumes too;
 * they are taken out of the result again, since they are not part of the manifest.
 */
function withClaimVolumes(pod: Obj, statefulSet: Obj, name: string): Obj {
  const claims = isObject(statefulSet.spec) ? statefulSet.spec.volumeClaimTemplates : undefined;
  const spec = pod.spec as Obj;
  if (!Array.isArray(claims) || claims.length === 0) return pod;
  const volumes = Array.isArray(spec.volumes) ? spec.volumes : [];
  const present = new Set(volumes.map((v) => (isObject(v) ? v.name : undefined)));
  const extra = claims
    .map((c) => (isObject(c) && isObject(c.metadata) ? str(c.metadata.name) : undefined))
    .filter((claim): claim is string => claim !== undefined && !present.has(claim))
    .map((claim) => ({ name: claim, persistentVolumeClaim: { claimName: `${claim}-${name}-0` } }));
  return extra.length === 0 ? pod : { ...pod, spec: { ...spec, volumes: [...volumes, ...extra] } };
}

function withoutClaimVolumes(hardened: Obj, pod: Obj): Obj {
  const original = pod.spec as Obj;
  const spec = { ...(hardened.spec as Obj) };
  if ('volumes' in original) spec.volumes = original.volumes;
  else delete spec.volumes;
  return { ...hardened, spec };
}

/**
 * Hardens every workload in a text of manifests: multi-document YAML or JSON, List kinds
 * included. Throws ManifestError when the text cannot be read.
 */
export function hardenManifests(text: string, options: HardenManifestsOptions): HardenManifestsResult {
  const base = {
    policy: options.policy,
    namespace: options.namespace ?? 'default',
    source: options.source ?? '-',
    rewrite: options.rewrite ?? true,
  };
  // A byte order mark is kept on the output, and out of the parsers' way (js-yaml drops it, which
  // would shift every position by one).
  if (text.charCodeAt(0) === 0xfeff) {
    const result = hardenManifests(text.slice(1), options);
    return {
      ...result,
      output: `\ufeff${result.output}`,
      replacements: result.replacements.map((r) => ({ ...r, start: r.start + 1, end: r.end + 1 })),
    };
  }
  if (!/^\s*[{[]/.test(text)) return hardenYaml(text, base);
  try {
    return hardenJson(text, base);
  } catch (jsonError) {
    // YAML in flow style (`{kind: Pod, ...}`) is not JSON; a JSON error is reported if it is not YAML either.
    try {
      return hardenYaml(text, base);
    } catch {
      throw jsonError;
    }
  }
}

function hardenJson(text: string, base: Base): HardenManifestsResult {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message);
    const pos = at ? lineCol(text, Number(at[1])) : yamlPosition(text);
    throw new ManifestError([`${where(base.source, pos?.line, pos?.col)}: not valid JSON: ${message.replace(/ in JSON at position \d+.*$/, '')}`]);
  }
  const ctx: Context = { ...base, lineOf: () => undefined };
  const result = hardenDocument(data, 0, ctx);
  if (result.ops.length === 0 || !base.rewrite) {
    return { output: text, changed: result.ops.length > 0, format: 'json', documents: result.workloads, notes: result.notes, replacements: [] };
  }
  const hardened = hardenedData(data, result.templates);
  const indent = /\n(\s+)"/.exec(text)?.[1].replace(/\r?\n/g, '') ?? (text.trim().includes('\n') ? '  ' : '');
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  let output = JSON.stringify(hardened, null, indent);
  if (eol !== '\n') output = output.replace(/\n/g, eol);
  if (/\r?\n$/.test(text)) output += eol;
  return {
    output,
    changed: true,
    format: 'json',
    documents: result.workloads,
    notes: result.notes,
    replacements: [{ start: 0, end: text.length, text: output, reprinted: true }],
  };
}

/** Where a YAML parser stops in a text (V8 does not always say where JSON.parse did). */
function yamlPosition(text: string): { line: number; col: number } | undefined {
  try {
    loadData(text, { start: 0, end: text.length, line: 0, marker: false });
  } catch (err) {
    if (err instanceof YamlSyntaxError && err.line !== undefined) return { line: err.line, col: err.column ?? 1 };
  }
  return undefined;
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

/** `kind: X` at the start of a line: the kind of a document that is a block mapping. */
const KIND_LINE = /^kind:[ \t]*["']?([A-Za-z]+)/m;

/** 1-based line numbers of nodes; the index is built on first use. */
function lineIndex(text: string): (offset: number) => number {
  let starts: number[] | undefined;
  return (offset) => lineAt((starts ??= lineStarts(text)), offset) + 1;
}

function nodeAtPath(root: ENode, path: readonly PathKey[]): ENode | undefined {
  let node: ENode | undefined = root;
  for (const t of path) {
    if (node === undefined) return undefined;
    node = node.kind === 'map' ? node.pairs.find((p) => String(p.key.value) === String(t))?.value : node.kind === 'seq' ? node.items[Number(t)] : undefined;
  }
  return node;
}

function hardenYaml(text: string, base: Base): HardenManifestsResult {
  const out: HardenManifestsResult = { output: '', changed: false, format: 'yaml', documents: [], notes: [], replacements: [] };
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lineAt = lineIndex(text);
  const errors: string[] = [];
  let cursor = 0;
  let index = -1;
  for (const chunk of splitDocuments(text)) {
    const kind = KIND_LINE.exec(text.slice(chunk.start, chunk.end))?.[1];
    const mayHold = kind === undefined || kind in WORKLOADS || kind.endsWith('List');
    let data: unknown;
    let root: ENode | undefined;
    try {
      if (mayHold) ({ data, root } = loadTree(text, chunk));
      else data = loadData(text, chunk);
    } catch (err) {
      if (!(err instanceof YamlSyntaxError)) throw err;
      errors.push(`${where(base.source, err.line, err.column)}: ${err.reason}`);
      continue;
    }
    if (data === undefined && !chunk.marker) continue;
    index++;
    if (root === undefined || errors.length > 0) continue;
    const tree = root;
    const lineOf = (path: readonly PathKey[]) => {
      const node = nodeAtPath(tree, path);
      return node === undefined ? undefined : lineAt(node.start);
    };
    const result = hardenDocument(data, index, { ...base, lineOf });
    out.documents.push(...result.workloads);
    out.notes.push(...result.notes);
    if (result.ops.length === 0) continue;
    out.changed = true;
    if (!base.rewrite) continue;

    const expected = hardenedData(data, result.templates);
    const edited = editDocument(text, chunk, tree, result.ops, expected, eol);
    if (edited === undefined) {
      errors.push(
        `${where(base.source, lineOf([]))}: cannot write the hardened document back into this YAML (anchors or aliases in the pod template?); ` +
          'expand them, or see the changes with --report or --patch',
      );
      continue;
    }
    if (edited.reprinted) {
      out.notes.push({
        source: base.source,
        document: index,
        line: lineOf([]),
        message: 'hardened, but printed again as a whole: its layout could not be kept (anchors or aliases?); comments are kept',
      });
    }
    for (const replacement of edited.replacements) {
      out.output += text.slice(cursor, replacement.start) + replacement.text;
      out.replacements.push(replacement);
      cursor = replacement.end;
    }
  }
  if (errors.length > 0) throw new ManifestError(errors);
  out.output += text.slice(cursor);
  return out;
}

/**
 * The new text of one document: the patch applied to its text, then parsed again, which must give
 * the expected data; else the document printed again whole (checked the same way).
 */
function editDocument(
  text: string,
  chunk: Chunk,
  root: ENode,
  ops: Operation[],
  expected: unknown,
  eol: string,
): { replacements: Replacement[]; reprinted: boolean } | undefined {
  const style = inferStyle(text, root, eol);
  const { start, end } = chunk;
  try {
    const replacements = lineReplacements(text, planEdits(text, root, ops, expected, style));
    if (replacements.every((r) => r.start >= start && r.end <= end) && parsesTo(splice(text, replacements, start, end), expected, sameData)) {
      return { replacements, reprinted: false };
    }
  } catch (err) {
    if (!(err instanceof UnsupportedEdit)) throw err;
  }
  let printed = '';
  try {
    printed = applyWithDocument(text.slice(start, end), ops, style);
  } catch {
    // Not editable through the Document API either.
  }
  if (eol !== '\n') printed = printed.replace(/\r?\n/g, eol);
  if (printed !== '' && parsesTo(printed, expected, sameData)) return { replacements: [{ start, end, text: printed, reprinted: true }], reprinted: true };
  return undefined;
}
