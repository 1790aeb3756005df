/**
 * Applies a JSON patch to the *text* of one YAML document, touching only the text the patch
 * changes: every comment, blank line, quote style, key order and indentation elsewhere stays
 * byte for byte, so a hardened manifest in Git shows a diff of exactly what changed.
 *
 * The yaml Document API (setIn/deleteIn, then toString) would be simpler, but re-printing a
 * document normalizes the whole of it: comment spacing, `[ a, b ]` padding, one sequence
 * indentation for all lists, long strings. So the patch operations are turned into text edits at
 * the node ranges the parser reports:
 *
 *   replace a scalar                  the scalar's text (its quote style kept)
 *   add a key to a block mapping      new lines after the mapping, at its indentation
 *   remove a key                      its lines
 *   a scalar list (capabilities)      lines of removed entries out, new `- X` lines in,
 *                                     so a comment on a kept entry stays on that entry
 *   a flow collection (`{}`, `[a]`)   re-printed in place; an empty one under a block key becomes
 *                                     a block
 *
 * The result is then parsed again and must equal the expected document exactly; when it does not
 * (anchors and aliases, layouts not foreseen), `applyWithDocument` re-prints the document with the
 * Document API instead, and that result is checked the same way. A wrong document is never
 * returned.
 */
import { diffArrays } from 'diff';
import type { Operation } from 'fast-json-patch';
import YAML, { isAlias, isCollection, isMap, isScalar, isSeq, type Document, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';

export type PathKey = string | number;

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
  return tokens.map((t) => `/${String(t).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
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

function findPair(map: YAMLMap, key: string): Pair<Node, Node | null> | undefined {
  return (map.items as Pair<Node, Node | null>[]).find((p) => isScalar(p.key) && String(p.key.value) === key);
}

/** The node at a path of the parsed document, or undefined; aliases are not followed (their target is shared). */
function nodeAt(doc: Document, tokens: readonly string[]): Node | null | undefined {
  let node: Node | null | undefined = doc.contents as Node | null;
  for (const t of tokens) {
    if (isAlias(node)) throw new UnsupportedEdit('path goes through a YAML alias');
    if (isMap(node)) node = findPair(node, t)?.value;
    else if (isSeq(node)) node = node.items[Number(t)] as Node | undefined;
    else return undefined;
  }
  if (isAlias(node)) throw new UnsupportedEdit('path ends at a YAML alias');
  return node;
}

/** Reads the layout of a document from its own nested mappings and lists. */
export function inferStyle(src: string, doc: Document): Style {
  const indents = new Map<number, number>();
  let seqIndented = 0;
  let seqFlush = 0;
  let flowPadded = 0;
  let flowTight = 0;
  let samples = 0;
  YAML.visit(doc, {
    Pair(_, pair) {
      if (samples > 50) return YAML.visit.BREAK;
      const key = pair.key as Node | null;
      const value = pair.value as Node | null;
      if (!key?.range || !value?.range || !isCollection(value) || value.items.length === 0) return undefined;
      if (value.flow) {
        const open = src[value.range[0] + 1];
        if (open === ' ') flowPadded++;
        else if (open !== '\n') flowTight++;
        return undefined;
      }
      const keyCol = column(src, key.range[0]);
      if (isMap(value)) {
        const first = (value.items[0] as Pair<Node, unknown>).key;
        if (first?.range) {
          const d = column(src, first.range[0]) - keyCol;
          if (d > 0) indents.set(d, (indents.get(d) ?? 0) + 1);
          samples++;
        }
      } else if (isSeq(value)) {
        const dash = dashBefore(src, (value.items[0] as Node).range?.[0] ?? -1);
        if (dash >= 0) {
          if (column(src, dash) > keyCol) seqIndented++;
          else seqFlush++;
          samples++;
        }
      }
      return undefined;
    },
  });
  let indent = 2;
  let best = 0;
  for (const [d, n] of indents) if (n > best) [indent, best] = [d, n];
  return {
    indent,
    indentSeq: seqIndented > seqFlush,
    flowPadding: flowPadded > flowTight,
    eol: src.includes('\r\n') ? '\r\n' : '\n',
  };
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

/** A scalar as YAML text on one line, in the quote style of the scalar it replaces when it has one. */
function scalarText(value: unknown, old?: Node | null): string {
  if (typeof value === 'string' && isScalar(old)) {
    if (old.type === 'QUOTE_DOUBLE') return JSON.stringify(value);
    if (old.type === 'QUOTE_SINGLE' && !/[\n\r]/.test(value)) return `'${value.replace(/'/g, "''")}'`;
  }
  const text = YAML.stringify(value, { lineWidth: 0 }).replace(/\n$/, '');
  return text.includes('\n') ? JSON.stringify(value) : text;
}

function flowText(value: unknown, style: Style): string {
  const doc = new YAML.Document(value, { flow: true });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: style.flowPadding }).replace(/\n$/, '');
}

/** `key: value` as block lines at column `col`, each line ending with the document's end of line. */
function pairLines(key: string, value: unknown, col: number, style: Style): string {
  const text = new YAML.Document({ [key]: value }).toString({
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
export function planEdits(src: string, doc: Document, ops: readonly Operation[], expected: unknown, style: Style): Edit[] {
  type Action =
    | { kind: 'add'; map: YAMLMap; path: string[]; key: string }
    | { kind: 'remove'; map: YAMLMap; pair: Pair<Node, Node | null>; path: string[] }
    | { kind: 'set'; pair: Pair<Node, Node | null>; path: string[] }
    | { kind: 'flow'; node: Node; path: string[] }
    | { kind: 'list'; seq: YAMLSeq; path: string[] };
  const actions: Action[] = [];

  /** A flow collection that changes: re-printed, or as a block when it was empty under a block key. */
  const flowAction = (node: Node, path: string[]): Action => {
    if (path.length > 0 && isCollection(node) && node.items.length === 0) {
      const parent = nodeAt(doc, path.slice(0, -1));
      if (isMap(parent) && !parent.flow) {
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
    const parent = nodeAt(doc, parentPath);
    if (!isCollection(parent)) throw new UnsupportedEdit(`no collection at ${tokensPointer(parentPath)}`);
    if (parent.flow) {
      actions.push(flowAction(parent, parentPath));
    } else if (isSeq(parent)) {
      actions.push({ kind: 'list', seq: parent, path: parentPath });
    } else if (isMap(parent)) {
      const pair = findPair(parent, key);
      const value = pair?.value;
      if (op.op === 'remove') {
        if (!pair) throw new UnsupportedEdit(`nothing to remove at ${op.path}`);
        actions.push({ kind: 'remove', map: parent, pair, path: tokens });
      } else if (!pair) {
        actions.push({ kind: 'add', map: parent, path: parentPath, key });
      } else if (isCollection(value) && value.flow) {
        actions.push(flowAction(value, tokens));
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
        const first = action.map.items[0] as Pair<Node, unknown> | undefined;
        if (!first?.key?.range || !action.map.range) throw new UnsupportedEdit('empty block mapping');
        const col = column(src, first.key.range[0]);
        const lines = pairLines(action.key, valueAt(expected, [...action.path, action.key]), col, style);
        // A pod template without metadata gets it where kubectl prints it: before spec.
        const spec = action.key === 'metadata' ? findPair(action.map, 'spec')?.key : undefined;
        if (spec?.range && column(src, spec.range[0]) === col && src.slice(lineStart(src, spec.range[0]), spec.range[0]).trim() === '') {
          const at = lineStart(src, spec.range[0]);
          edits.push({ start: at, end: at, text: lines });
        } else {
          edits.push(insertion(src, action.map.range[1], lines, style));
        }
        break;
      }
      case 'remove': {
        const keyNode = action.pair.key;
        if (!keyNode.range) throw new UnsupportedEdit('key without position');
        const start = lineStart(src, keyNode.range[0]);
        if (src.slice(start, keyNode.range[0]).trim() !== '') throw new UnsupportedEdit('key shares its line (e.g. after "- ")');
        const value = action.pair.value;
        const end = value?.range ? lineEndAfter(src, value.range[1]) : lineEndAfter(src, keyNode.range[1]);
        edits.push({ start, end, text: '' });
        break;
      }
      case 'set':
        edits.push(...setValue(src, action.pair, valueAt(expected, action.path), style));
        break;
      case 'flow': {
        if (!action.node.range) throw new UnsupportedEdit('flow collection without position');
        edits.push(keepCommentColumn(src, { start: action.node.range[0], end: action.node.range[1], text: flowText(valueAt(expected, action.path), style) }));
        break;
      }
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
function setValue(src: string, pair: Pair<Node, Node | null>, value: unknown, style: Style): Edit[] {
  const key = pair.key;
  const old = pair.value;
  if (!key.range) throw new UnsupportedEdit('key without position');
  const oldIsBlock = isCollection(old) && !old.flow;
  const oldEnd = old?.range ? old.range[1] : key.range[1];

  const inline = isPlainScalar(value) || (typeof value === 'object' && Object.keys(value as object).length === 0);
  if (inline) {
    const text = isPlainScalar(value) ? scalarText(value, old) : Array.isArray(value) ? '[]' : '{}';
    if (old?.range && !oldIsBlock && old.range[0] < old.range[1]) return [keepCommentColumn(src, { start: old.range[0], end: old.range[1], text })];
    // An empty value (`key:`) or a block collection: the key line gets the value.
    const end = oldIsBlock ? lineEndAfter(src, oldEnd) : oldEnd;
    return [{ start: key.range[1], end, text: `: ${text}${oldIsBlock ? style.eol : ''}` }];
  }

  const col = column(src, key.range[0]);
  const lines = pairLines(String((key as YAML.Scalar).value), value, col, style);
  const body = lines.slice(lines.indexOf(style.eol) + style.eol.length);
  if (oldIsBlock) {
    return [{ start: key.range[1], end: lineEndAfter(src, oldEnd), text: `:${style.eol}${body}` }];
  }
  // `key:`, `key: null`, `key: {}` (any comment after it stays on the key's line): the key line
  // keeps only the colon, the block goes on the lines below.
  const at = lineEndAfter(src, oldEnd);
  const lead = at === src.length && !src.endsWith('\n') ? style.eol : '';
  return [
    { start: key.range[1], end: oldEnd, text: ':' },
    { start: at, end: at, text: lead + body },
  ];
}

/** `runAsUser: 0      # why` stays aligned: the spaces before a comment after the value absorb the change in width. */
function keepCommentColumn(src: string, edit: Edit): Edit {
  const m = /^( +)#/.exec(src.slice(edit.end, edit.end + 200));
  if (!m) return edit;
  const spaces = Math.max(1, m[1].length - (edit.text.length - (edit.end - edit.start)));
  return { start: edit.start, end: edit.end + m[1].length, text: edit.text + ' '.repeat(spaces) };
}

/** A block list of scalars brought to its new entries, keeping the lines (and comments) of entries that stay. */
function listEdits(src: string, seq: YAMLSeq, value: unknown, style: Style): Edit[] {
  if (!Array.isArray(value) || !value.every(isPlainScalar)) throw new UnsupportedEdit('list is not a list of scalars');
  const items = seq.items as Node[];
  if (!items.every((i) => isScalar(i) && i.range)) throw new UnsupportedEdit('list entries are not scalars');
  const dashes = items.map((i) => dashBefore(src, i.range![0]));
  if (dashes.some((d) => d < 0)) throw new UnsupportedEdit('list entry shares its line');
  const pad = ' '.repeat(column(src, dashes[0]));
  const edits: Edit[] = [];
  let at = lineStart(src, dashes[0]);
  let i = 0;
  for (const part of diffArrays(items.map((n) => (n as YAML.Scalar).value), value)) {
    for (const v of part.value) {
      if (part.added) {
        edits.push({ start: at, end: at, text: `${pad}- ${scalarText(v)}${style.eol}` });
        continue;
      }
      const node = items[i++];
      const end = lineEndAfter(src, node.range![1]);
      if (part.removed) edits.push({ start: lineStart(src, dashes[i - 1]), end, text: '' });
      at = end;
    }
  }
  return edits;
}

/** Applies non-overlapping edits (insertions at one offset keep their order). */
export function applyEdits(src: string, edits: readonly Edit[], from = 0, to = src.length): string {
  const sorted = edits
    .map((e, i) => ({ ...e, i }))
    .sort((a, b) => a.start - b.start || (a.end - a.start === 0 ? 0 : 1) - (b.end - b.start === 0 ? 0 : 1) || a.i - b.i);
  let out = '';
  let cursor = from;
  for (const e of sorted) {
    if (e.start < cursor || e.end > to) throw new UnsupportedEdit('overlapping edits');
    out += src.slice(cursor, e.start) + e.text;
    cursor = e.end;
  }
  return out + src.slice(cursor, to);
}

/** The document's data, as it is compared before and after editing. */
export function documentData(doc: Document): unknown {
  return doc.toJS({ maxAliasCount: 100 });
}

/** Parses a stretch of text holding exactly one YAML document and says whether it holds `expected`. */
export function holds(text: string, expected: unknown): boolean {
  const docs = YAML.parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length !== 1 || docs[0].errors.length > 0) return false;
  return sameData(documentData(docs[0]), expected);
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
 * The fallback: the operations applied with the Document API and the document printed again
 * (comments are kept; the layout of the document is normalized).
 */
export function applyWithDocument(doc: Document, ops: readonly Operation[], style: Style): string {
  const copy = doc.clone();
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
    } else if (op.op === 'remove') {
      copy.deleteIn(tokens);
    } else if (op.op === 'add' || op.op === 'replace') {
      copy.setIn(tokens, copy.createNode((op as { value: unknown }).value));
    } else {
      throw new UnsupportedEdit(`unsupported operation ${op.op}`);
    }
  }
  return copy.toString({ indent: style.indent, indentSeq: style.indentSeq, lineWidth: 0, flowCollectionPadding: style.flowPadding });
}
