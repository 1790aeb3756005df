/**
 * The core of `pod-hardener harden`, usable in-process (the benchmark calls it): manifest text in,
 * the hardened text and what changed in each workload out.
 *
 * Each pod template goes through exactly what the webhook runs on a pod created from it: the
 * engine (`harden`, scope create) and the guarded diff (`createPatch`). The patch is then applied
 * to the text of the manifest (yaml-edit.ts), so everything the patch does not touch stays as it
 * was, byte for byte; documents without a change are never re-printed.
 */
import { applyPatch, type Operation } from 'fast-json-patch';
import YAML, { LineCounter, type Document } from 'yaml';
import { createPatch } from '../admission/patch';
import { harden } from '../engine/harden';
import { InvalidPodError } from '../engine/pod-shape';
import type { Policy } from '../engine/policy';
import type { Change, Notice } from '../engine/types';
import {
  applyEdits,
  applyWithDocument,
  documentData,
  holds,
  inferStyle,
  planEdits,
  tokensPointer,
  UnsupportedEdit,
  valueAt,
  type PathKey,
} from './yaml-edit';

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
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
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
}

/** Hardens the workloads of one parsed document (plain data); the document itself is not modified. */
function hardenDocument(data: unknown, index: number, ctx: Context): DocumentHardening {
  const out: DocumentHardening = { workloads: [], notes: [], ops: [] };
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
  const base = { policy: options.policy, namespace: options.namespace ?? 'default', source: options.source ?? '-', rewrite: options.rewrite ?? true };
  return /^\s*[{[]/.test(text) && !/^\s*\[\s*\]\s*$/.test(text) ? hardenJson(text, base) : hardenYaml(text, base);
}

function hardenJson(text: string, base: Base): HardenManifestsResult {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message);
    const pos = at ? lineCol(text, Number(at[1])) : undefined;
    throw new ManifestError([`${where(base.source, pos?.line, pos?.col)}: not valid JSON: ${message.replace(/ in JSON at position \d+.*$/, '')}`]);
  }
  const ctx: Context = { ...base, lineOf: () => undefined };
  const result = hardenDocument(data, 0, ctx);
  if (result.ops.length === 0 || !base.rewrite) {
    return { output: text, changed: result.ops.length > 0, format: 'json', documents: result.workloads, notes: result.notes, replacements: [] };
  }
  const hardened = applyPatch(structuredClone(data), result.ops, false, true).newDocument;
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
    replacements: [{ start: 0, end: text.length, text: output }],
  };
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

/** Documents whose kind can never hold a pod template are not converted to data at all. */
function mayHoldWorkload(doc: Document): boolean {
  const kind = doc.get('kind');
  return typeof kind === 'string' && (kind in WORKLOADS || kind.endsWith('List'));
}

function hardenYaml(text: string, base: Base): HardenManifestsResult {
  const lineCounter = new LineCounter();
  const docs = YAML.parseAllDocuments(text, { lineCounter, uniqueKeys: true });
  const parsed: Document.Parsed[] = Array.isArray(docs) ? docs : [];
  const errors = parsed.flatMap((d) =>
    d.errors.map((e) => {
      const pos = e.linePos?.[0];
      const message = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      return `${where(base.source, pos?.line, pos?.col)}: ${message}`;
    }),
  );
  if (errors.length > 0) throw new ManifestError(errors);

  const out: HardenManifestsResult = { output: '', changed: false, format: 'yaml', documents: [], notes: [], replacements: [] };
  let cursor = 0;
  parsed.forEach((doc, index) => {
    const previousEnd = index === 0 ? 0 : lineEnd(text, parsed[index - 1].range[2]);
    if (!mayHoldWorkload(doc)) return;
    const lineOf = (path: readonly PathKey[]) => {
      const node = path.length === 0 ? doc.contents : doc.getIn(path, true);
      const start = (node as { range?: [number, number, number] } | null)?.range?.[0];
      return start === undefined ? undefined : lineCounter.linePos(start).line;
    };
    const data = documentData(doc);
    const result = hardenDocument(data, index, { ...base, lineOf });
    out.documents.push(...result.workloads);
    out.notes.push(...result.notes);
    if (result.ops.length === 0) return;
    out.changed = true;
    if (!base.rewrite) return;

    const expected = applyPatch(structuredClone(data), result.ops, false, true).newDocument;
    const replacement = editDocument(text, doc, previousEnd, result.ops, expected, base.source, lineOf([]));
    out.output += text.slice(cursor, replacement.start) + replacement.text;
    out.replacements.push(replacement);
    cursor = replacement.end;
  });
  out.output += text.slice(cursor);
  return out;
}

/** The new text of one document: the patch applied to its text, checked by parsing it again. */
function editDocument(
  text: string,
  doc: Document.Parsed,
  previousEnd: number,
  ops: Operation[],
  expected: unknown,
  source: string,
  line: number | undefined,
): Replacement {
  const style = inferStyle(text, doc);
  const end = lineEnd(text, doc.range[2]);
  const start = text.lastIndexOf('\n', doc.range[0] - 1) + 1;
  try {
    const edits = planEdits(text, doc, ops, expected, style);
    const edited = applyEdits(text, edits, start, end);
    if (holds(edited, expected)) return { start, end, text: edited };
  } catch (err) {
    if (!(err instanceof UnsupportedEdit)) throw err;
  }
  // Re-printed whole, from the end of the document before: the comments before a `---` are
  // printed with the document they belong to.
  let printed = '';
  try {
    printed = applyWithDocument(doc, ops, style);
  } catch {
    // Not editable through the Document API either: reported below.
  }
  if (style.eol !== '\n') printed = printed.replace(/\r?\n/g, style.eol);
  if (printed !== '' && holds(printed, expected)) return { start: previousEnd, end, text: printed };
  throw new ManifestError([
    `${where(source, line)}: cannot write the hardened document back into this YAML (anchors or aliases in the pod template?); ` +
      'expand them, or see the changes with --report or --patch',
  ]);
}

function lineEnd(text: string, offset: number): number {
  if (offset === 0 || text[offset - 1] === '\n') return offset;
  const i = text.indexOf('\n', offset);
  return i < 0 ? text.length : i + 1;
}
