/**
 * Applies a JSON patch to the *text* of one YAML document, touching only the text the patch
 * changes: every comment, blank line, quote style, key order and indentation elsewhere stays
 * byte for byte, so a hardened manifest in Git shows a diff of exactly what changed.
 *
 * The yaml Document API (setIn/deleteIn, then toString) would be simpler, but re-printing a
 * document normalizes the whole of it: comment spacing, `[ a, b ]` padding, one sequence
 * indentation for all lists, long strings. So the patch operations are turned into text edits at
 * the node positions of the document's tree (yaml-tree.ts):
 *
 *   replace a scalar                  the scalar's text (its quote style kept)
 *   add a key to a block mapping      new lines after the mapping, at its indentation
 *   remove a key                      its lines
 *   a scalar list (capabilities)      lines of removed entries out, new `- X` lines in,
 *                                     so a comment on a kept entry stays on that entry
 *   a flow collection (`{}`, `[a]`)   re-printed in place; an empty one under a block key becomes
 *                                     a block
 *
 * The caller parses the result again, and it must equal the expected document exactly; when it
 * does not, or an edit is refused here (anchors, aliases, tags, layouts not foreseen),
 * `applyWithDocument` prints the document again with the `yaml` Document API, and that result is
 * checked the same way. A wrong document is never returned.
 */
import { diffArrays } from 'diff';
import { escapeToken } from '../admission/patch';
import type { PatchOperation as Operation } from '../admission/patch';
import YAML, { isMap, isSeq } from 'yaml';
import type { ENode, EPair } from './yaml-tree';

export type PathKey = string | number;

/**
 * What `yaml` prints is read back by kubectl as YAML 1.1: printing as 1.1 quotes the strings that
 * are booleans there (`"yes"`, `"on"`), which a 1.2 printer leaves bare.
 */
const YAML_VERSION = '1.1';

/** Replace `[start, end)` of the source with `text`; `start === end` inserts. */
export interface Edit {
  start: number;
  end: number;
  text: string;
}

/** Raised when an operation cannot be turned into text edits; the caller falls back to re-printing. */
export class UnsupportedEdit extends Error {}

/** How the document is written, so inserted lines look like their neighbours. */
export interface Style {
  indent: number;
  /** `key:\n  - a` (true) or `key:\n- a` (false). */
  indentSeq: boolean;
  /** `{ a: 1 }` (true) or `{a: 1}` (false). */
  flowPadding: boolean;
  eol: string;
}

/** `/spec/containers/0` → ['spec', 'containers', '0'] (RFC 6901 unescaping). */
export function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function tokensPointer(tokens: readonly PathKey[]): string {
  return tokens.map((t) => `/${escapeToken(String(t))}`).join('');
}

/** The value at a path in plain data; undefined when absent. */
export function valueAt(value: unknown, tokens: readonly PathKey[]): unknown {
  let v = value;
  for (const t of tokens) {
    if (Array.isArray(v)) v = v[Number(t)];
    else if (typeof v === 'object' && v !== null) v = (v as Record<string, unknown>)[String(t)];
    else return undefined;
  }
  return v;
}

const isPlainScalar = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

function findPair(map: ENode, key: string): EPair | undefined {
  return map.pairs.find((p) => p.key.kind === 'scalar' && String(p.key.value) === key);
}

/** The node at a path, or undefined; never through an anchored, tagged or aliased node (its text is shared). */
function nodeAt(root: ENode, tokens: readonly string[]): ENode | undefined {
  let node: ENode | undefined = root;
  for (const t of tokens) {
    if (node.special) throw new UnsupportedEdit('path goes through an anchor, alias or tag');
    if (node.kind === 'map') node = findPair(node, t)?.value;
    else if (node.kind === 'seq') node = node.items[Number(t)];
    else return undefined;
    if (node === undefined) return undefined;
  }
  if (node.special) throw new UnsupportedEdit('path ends at an anchor, alias or tag');
  return node;
}

/** Reads the layout of a document from its first nested mappings and lists (a dozen are enough). */
export function inferStyle(src: string, root: ENode, eol: string): Style {
  const indents = new Map<number, number>();
  let seqIndented = 0;
  let seqFlush = 0;
  let flowPadded = 0;
  let flowTight = 0;
  let samples = 0;
  const walk = (node: ENode): void => {
    if (samples >= 12 || node.flow) return;
    if (node.kind === 'seq') {
      for (const item of node.items) walk(item);
      return;
    }
    for (const { key, value } of node.pairs) {
      if (samples >= 12) return;
      if (value.kind === 'scalar' || (value.pairs.length === 0 && value.items.length === 0)) continue;
      if (value.flow) {
        const open = src[value.start + 1];
        if (open === ' ') flowPadded++;
        else if (open !== '\n') flowTight++;
        continue;
      }
      const keyCol = column(src, key.start);
      if (value.kind === 'map') {
        const d = column(src, value.pairs[0].key.start) - keyCol;
        if (d > 0) indents.set(d, (indents.get(d) ?? 0) + 1);
        samples++;
      } else {
        const dash = dashBefore(src, value.items[0].start);
        if (dash >= 0) {
          if (column(src, dash) > keyCol) seqIndented++;
          else seqFlush++;
          samples++;
        }
      }
      walk(value);
    }
  };
  walk(root);
  let indent = 2;
  let best = 0;
  for (const [d, n] of indents) if (n > best) [indent, best] = [d, n];
  return { indent, indentSeq: seqIndented > seqFlush, flowPadding: flowPadded > flowTight, eol };
}

export function column(src: string, offset: number): number {
  return offset - (src.lastIndexOf('\n', offset - 1) + 1);
}

function lineStart(src: string, offset: number): number {
  return src.lastIndexOf('\n', offset - 1) + 1;
}

/** The offset just after the end of the line holding `offset` (after its newline). */
function lineEndAfter(src: string, offset: number): number {
  if (offset > 0 && src[offset - 1] === '\n') return offset;
  const i = src.indexOf('\n', offset);
  return i < 0 ? src.length : i + 1;
}

/** The offset of the `-` of a block sequence entry starting at `offset`, or -1 when the line has more before it. */
function dashBefore(src: string, offset: number): number {
  if (offset < 0) return -1;
  const start = lineStart(src, offset);
  const m = /^( *)- +$/.exec(src.slice(start, offset));
  return m ? start + m[1].length : -1;
}

// Strings written plain in block context: starting with a letter, without `: `, ` #` or a
// trailing space (so no indicator can start or end them), as the pod-hardener.io/hardened
// summary `runAsUser=1000 [pod]; capabilities.drop+=ALL [app]` is. They read back as the same
// string in YAML 1.2 and in the YAML 1.1 of sigs.k8s.io/yaml, except a few words that are
// booleans or null there (yes, no, on, off, y, n): those are quoted.
const PLAIN = /^[A-Za-z](?:[A-Za-z0-9_./=,;+[\] -]*[A-Za-z0-9_./=,;+[\]-])?$/;
const BOOLEAN_LIKE = /^(true|false|null|yes|no|on|off|y|n)$/i;

/** A scalar as YAML text on one line, in the quote style of the scalar it replaces when it has one. */
function scalarText(value: unknown, old?: ENode): string {
  if (typeof value === 'string' && old?.kind === 'scalar') {
    if (old.quote === 'double') return JSON.stringify(value);
    if (old.quote === 'single' && !/[\n\r]/.test(value)) return `'${value.replace(/'/g, "''")}'`;
  }
  if (typeof value === 'string') {
    if (PLAIN.test(value)) return BOOLEAN_LIKE.test(value) ? JSON.stringify(value) : value;
  } else if (typeof value === 'boolean' || value === null || (typeof value === 'number' && Number.isFinite(value))) {
    return String(value);
  }
  const text = YAML.stringify(value, { lineWidth: 0, version: YAML_VERSION }).replace(/\n$/, '');
  return text.includes('\n') ? JSON.stringify(value) : text;
}

function flowText(value: unknown, style: Style): string {
  const doc = new YAML.Document(value, { flow: true, version: YAML_VERSION });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: style.flowPadding }).replace(/\n$/, '');
}

/** `key: value` as block lines at column `col`, each line ending with the document's end of line. */
function pairLines(key: string, value: unknown, col: number, style: Style): string {
  const lines: string[] = [];
  if (!blockLines(key, value, col, style, lines)) return pairLinesByDocument(key, value, col, style);
  return lines.map((l) => l + style.eol).join('');
}

/**
 * The values hardening writes (mappings, lists of scalars, scalars) printed directly: printing
 * them through a yaml Document costs more than everything else the editor does. Returns false
 * for anything else (a list of mappings), which goes through the Document.
 */
function blockLines(key: string, value: unknown, col: number, style: Style, out: string[]): boolean {
  const head = `${' '.repeat(col)}${scalarText(key)}:`;
  if (isPlainScalar(value)) {
    out.push(`${head} ${scalarText(value)}`);
  } else if (Array.isArray(value)) {
    if (!value.every(isPlainScalar)) return false;
    if (value.length === 0) out.push(`${head} []`);
    else {
      out.push(head);
      const pad = ' '.repeat(col + (style.indentSeq ? style.indent : 0));
      for (const v of value) out.push(`${pad}- ${scalarText(v)}`);
    }
  } else if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    if (entries.length === 0) out.push(`${head} {}`);
    else {
      out.push(head);
      for (const [k, v] of entries) if (!blockLines(k, v, col + style.indent, style, out)) return false;
    }
  } else {
    return false;
  }
  return true;
}

function pairLinesByDocument(key: string, value: unknown, col: number, style: Style): string {
  const text = new YAML.Document({ [key]: value }, { version: YAML_VERSION }).toString({
    indent: style.indent,
    indentSeq: style.indentSeq,
    lineWidth: 0,
    flowCollectionPadding: style.flowPadding,
  });
  const pad = ' '.repeat(col);
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => (l === '' ? l : pad + l) + style.eol)
    .join('');
}

/**
 * Text edits that turn the document's source into the expected document. `ops` are the JSON patch
 * operations (paths from the document root) and `expected` the document after them; values are
 * taken from `expected`, so the order of operations inside a list does not matter.
 */
export function planEdits(src: string, root: ENode, ops: readonly Operation[], expected: unknown, style: Style): Edit[] {
  type Action =
    | { kind: 'add'; map: ENode; path: string[]; key: string }
    | { kind: 'remove'; pair: EPair; path: string[] }
    | { kind: 'set'; pair: EPair; path: string[] }
    | { kind: 'flow'; node: ENode; path: string[] }
    | { kind: 'list'; seq: ENode; path: string[] };
  const actions: Action[] = [];
  const isEmpty = (n: ENode) => n.kind !== 'scalar' && n.pairs.length === 0 && n.items.length === 0;

  /** A flow collection that changes: re-printed, or as a block when it was empty under a block key. */
  const flowAction = (node: ENode, path: string[]): Action => {
    if (path.length > 0 && isEmpty(node)) {
      const parent = nodeAt(root, path.slice(0, -1));
      if (parent?.kind === 'map' && !parent.flow) {
        const pair = findPair(parent, path[path.length - 1]);
        if (pair) return { kind: 'set', pair, path };
      }
    }
    return { kind: 'flow', node, path };
  };

  for (const op of ops) {
    const tokens = pointerTokens(op.path);
    if (tokens.length === 0) throw new UnsupportedEdit('operation on the whole document');
    const parentPath = tokens.slice(0, -1);
    const key = tokens[tokens.length - 1];
    const parent = nodeAt(root, parentPath);
    if (parent === undefined || parent.kind === 'scalar') throw new UnsupportedEdit(`no collection at ${tokensPointer(parentPath)}`);
    if (parent.flow) {
      actions.push(flowAction(parent, parentPath));
    } else if (parent.kind === 'seq') {
      actions.push({ kind: 'list', seq: parent, path: parentPath });
    } else {
      const pair = findPair(parent, key);
      if (pair?.value.special) throw new UnsupportedEdit('value is an anchor, alias or tag');
      if (op.op === 'remove') {
        if (!pair) throw new UnsupportedEdit(`nothing to remove at ${op.path}`);
        actions.push({ kind: 'remove', pair, path: tokens });
      } else if (!pair) {
        actions.push({ kind: 'add', map: parent, path: parentPath, key });
      } else if (pair.value.kind !== 'scalar' && pair.value.flow) {
        actions.push(flowAction(pair.value, tokens));
      } else {
        actions.push({ kind: 'set', pair, path: tokens });
      }
    }
  }

  // An action that rewrites a whole value (set, flow, list) covers every other action inside that
  // value; an addition to a mapping that is rewritten is covered too.
  const id = (path: readonly string[]) => path.map((t) => `\0${t}`).join('');
  const rewritten = actions.filter((a) => a.kind === 'set' || a.kind === 'flow' || a.kind === 'list').map((a) => id(a.path));
  const covered = (a: Action) => {
    const p = id(a.path);
    return rewritten.some((r) => p.startsWith(`${r}\0`) || (a.kind === 'add' && p === r));
  };
  const seen = new Set<string>();
  const edits: Edit[] = [];
  for (const action of actions) {
    const key = `${action.kind}:${id(action.path)}:${action.kind === 'add' ? action.key : ''}`;
    if (seen.has(key) || covered(action)) continue;
    seen.add(key);
    switch (action.kind) {
      case 'add': {
        const first = action.map.pairs[0];
        if (first === undefined) throw new UnsupportedEdit('empty block mapping');
        const col = column(src, first.key.start);
        const lines = pairLines(action.key, valueAt(expected, [...action.path, action.key]), col, style);
        // A pod template without metadata gets it where kubectl prints it: before spec.
        const spec = action.key === 'metadata' ? findPair(action.map, 'spec')?.key : undefined;
        if (spec && column(src, spec.start) === col && src.slice(lineStart(src, spec.start), spec.start).trim() === '') {
          const at = lineStart(src, spec.start);
          edits.push({ start: at, end: at, text: lines });
        } else {
          edits.push(insertion(src, action.map.end, lines, style));
        }
        break;
      }
      case 'remove': {
        const keyNode = action.pair.key;
        const start = lineStart(src, keyNode.start);
        if (src.slice(start, keyNode.start).trim() !== '') throw new UnsupportedEdit('key shares its line (e.g. after "- ")');
        edits.push({ start, end: lineEndAfter(src, Math.max(action.pair.value.end, keyNode.end)), text: '' });
        break;
      }
      case 'set':
        edits.push(...setValue(src, action.pair, valueAt(expected, action.path), style));
        break;
      case 'flow':
        edits.push(keepCommentColumn(src, { start: action.node.start, end: action.node.end, text: flowText(valueAt(expected, action.path), style) }));
        break;
      case 'list':
        edits.push(...listEdits(src, action.seq, valueAt(expected, action.path), style));
        break;
    }
  }
  return edits;
}

function insertion(src: string, offset: number, text: string, style: Style): Edit {
  const at = lineEndAfter(src, offset);
  // The last line of the file may have no end of line.
  const lead = at === src.length && src.length > 0 && !src.endsWith('\n') ? style.eol : '';
  return { start: at, end: at, text: lead + text };
}

/** A key's value replaced: a scalar in place, a collection as a block below the key. */
function setValue(src: string, pair: EPair, value: unknown, style: Style): Edit[] {
  const { key, value: old } = pair;
  const oldIsBlock = old.kind !== 'scalar' && !old.flow;
  const inline = isPlainScalar(value) || (typeof value === 'object' && Object.keys(value as object).length === 0);
  if (inline) {
    const text = isPlainScalar(value) ? scalarText(value, old) : Array.isArray(value) ? '[]' : '{}';
    if (!oldIsBlock && old.start < old.end) return [keepCommentColumn(src, { start: old.start, end: old.end, text })];
    // An empty value (`key:`) or a block collection: the key line gets the value.
    const end = oldIsBlock ? lineEndAfter(src, old.end) : key.end + (src.slice(key.end, old.end).match(/^\s*:/)?.[0].length ?? 0);
    return [{ start: key.end, end, text: `: ${text}${oldIsBlock ? style.eol : ''}` }];
  }

  const col = column(src, key.start);
  const lines = pairLines(String(key.value), value, col, style);
  const body = lines.slice(lines.indexOf(style.eol) + style.eol.length);
  if (oldIsBlock) return [{ start: key.end, end: lineEndAfter(src, old.end), text: `:${style.eol}${body}` }];
  // `key:`, `key: null`, `key: {}` (any comment after it stays on the key's line): the key line
  // keeps only the colon, the block goes on the lines below.
  const oldEnd = Math.max(old.end, key.end);
  const at = lineEndAfter(src, oldEnd);
  const lead = at === src.length && !src.endsWith('\n') ? style.eol : '';
  return [
    { start: key.end, end: old.start < old.end ? old.end : colonEnd(src, key.end), text: ':' },
    { start: at, end: at, text: lead + body },
  ];
}

/** Just after the `:` that follows a key. */
function colonEnd(src: string, keyEnd: number): number {
  const i = src.indexOf(':', keyEnd);
  return i < 0 ? keyEnd : i + 1;
}

/** `runAsUser: 0      # why` stays aligned: the spaces before a comment after the value absorb the change in width. */
function keepCommentColumn(src: string, edit: Edit): Edit {
  const m = /^( +)#/.exec(src.slice(edit.end, edit.end + 200));
  if (!m) return edit;
  const spaces = Math.max(1, m[1].length - (edit.text.length - (edit.end - edit.start)));
  return { start: edit.start, end: edit.end + m[1].length, text: edit.text + ' '.repeat(spaces) };
}

/** A block list of scalars brought to its new entries, keeping the lines (and comments) of entries that stay. */
function listEdits(src: string, seq: ENode, value: unknown, style: Style): Edit[] {
  if (!Array.isArray(value) || !value.every(isPlainScalar)) throw new UnsupportedEdit('list is not a list of scalars');
  const items = seq.items;
  if (items.length === 0 || !items.every((i) => i.kind === 'scalar' && !i.special)) throw new UnsupportedEdit('list entries are not scalars');
  const dashes = items.map((i) => dashBefore(src, i.start));
  if (dashes.some((d) => d < 0)) throw new UnsupportedEdit('list entry shares its line');
  const pad = ' '.repeat(column(src, dashes[0]));
  const edits: Edit[] = [];
  let at = lineStart(src, dashes[0]);
  let i = 0;
  for (const part of diffArrays(items.map((n) => n.value), value)) {
    for (const v of part.value) {
      if (part.added) {
        edits.push({ start: at, end: at, text: `${pad}- ${scalarText(v)}${style.eol}` });
        continue;
      }
      const node = items[i++];
      const end = lineEndAfter(src, node.end);
      if (part.removed) edits.push({ start: lineStart(src, dashes[i - 1]), end, text: '' });
      at = end;
    }
  }
  return edits;
}

/** A stretch of whole lines `[start, end)` of the source and the text that replaces it. */
export interface LineReplacement {
  start: number;
  end: number;
  text: string;
}

/**
 * Non-overlapping edits as replacements of whole lines (edits on the same or touching lines are
 * one replacement), in order: what the diff shows, and what makes the output.
 */
export function lineReplacements(src: string, edits: readonly Edit[]): LineReplacement[] {
  const insertion = (e: Edit) => e.end === e.start;
  const sorted = edits
    .map((e, i) => ({ ...e, i }))
    .sort(
      (a, b) =>
        a.start - b.start ||
        (insertion(a) ? 0 : 1) - (insertion(b) ? 0 : 1) ||
        // Insertions at one place (the end of a block that closes several mappings at once): the
        // deeper one first, since it continues the inner mapping before the outer one goes on.
        (insertion(a) && insertion(b) ? indentOf(b.text) - indentOf(a.text) : 0) ||
        a.i - b.i,
    );
  const groups: { start: number; end: number; edits: Edit[] }[] = [];
  let cursor = 0;
  for (const e of sorted) {
    if (e.start < cursor) throw new UnsupportedEdit('overlapping edits');
    cursor = e.end;
    const start = lineStart(src, e.start);
    const end = e.end === start || (e.end > 0 && src[e.end - 1] === '\n') ? e.end : lineEndAfter(src, e.end);
    const last = groups[groups.length - 1];
    if (last && start <= last.end) {
      last.end = Math.max(last.end, end);
      last.edits.push(e);
    } else {
      groups.push({ start, end, edits: [e] });
    }
  }
  return groups.map((g) => ({ start: g.start, end: g.end, text: splice(src, g.edits, g.start, g.end) }));
}

/** The indentation of the first line of an inserted block (after a line end it may start with). */
function indentOf(text: string): number {
  const body = text.replace(/^\r?\n/, '');
  return body.length - body.trimStart().length;
}

/** `[from, to)` of the source with sorted, non-overlapping edits (or replacements) applied. */
export function splice(src: string, edits: readonly Edit[], from = 0, to = src.length): string {
  let out = '';
  let cursor = from;
  for (const e of edits) {
    out += src.slice(cursor, e.start) + e.text;
    cursor = e.end;
  }
  return out + src.slice(cursor, to);
}

/**
 * Deep equality of parsed data (key order aside). Not util.isDeepStrictEqual: it compares
 * prototypes, and data cloned in another realm (a test runner's vm context) has other ones.
 */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return Number.isNaN(a) && Number.isNaN(b);
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => sameData(v, b[i]));
  if (Array.isArray(b) || a instanceof Map || b instanceof Map) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * The fallback: the operations applied with the `yaml` Document API and the document printed
 * again (comments are kept; the layout of the document is normalized). `text` is the document's
 * text, directives and markers included.
 */
export function applyWithDocument(text: string, ops: readonly Operation[], style: Style): string {
  const copy = YAML.parseDocument(text, { version: YAML_VERSION });
  if (copy.errors.length > 0) throw new UnsupportedEdit(copy.errors[0].message);
  for (const op of ops) {
    const tokens: PathKey[] = pointerTokens(op.path);
    const parentTokens = tokens.slice(0, -1);
    const parent = parentTokens.length === 0 ? copy.contents : copy.getIn(parentTokens, true);
    const last = tokens[tokens.length - 1];
    if (isSeq(parent)) {
      const i = last === '-' ? parent.items.length : Number(last);
      if (op.op === 'add') parent.items.splice(i, 0, copy.createNode(op.value));
      else if (op.op === 'replace') parent.items[i] = copy.createNode(op.value);
      else if (op.op === 'remove') parent.items.splice(i, 1);
    } else if (!isMap(parent)) {
      throw new UnsupportedEdit(`no mapping at ${tokensPointer(parentTokens)}`);
    } else if (op.op === 'remove') {
      copy.deleteIn(tokens);
    } else {
      copy.setIn(tokens, copy.createNode(op.value));
    }
  }
  return copy.toString({ indent: style.indent, indentSeq: style.indentSeq, lineWidth: 0, flowCollectionPadding: style.flowPadding });
}
