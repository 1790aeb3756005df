/**
 * A JSON patch applied to the *text* of one YAML document, touching only the text the patch
 * changes: every comment, blank line, quote style, key order and indentation elsewhere stays
 * byte for byte, so a hardened manifest in Git shows a diff of exactly what changed.
 *
 *   replace a scalar                  the scalar's text (its quote style kept)
 *   add a key to a block mapping      new lines after the mapping, at its indentation
 *   remove a key                      its lines
 *   a scalar list (capabilities)      lines of removed entries out, new `- X` lines in,
 *                                     so a comment on a kept entry stays on that entry
 *   a flow collection (`{}`, `[a]`)   printed again in place
 *
 * Merge keys and aliases are followed as kubectl follows them (read.ts), and the text they
 * share is never edited for one place: a key that comes from a merge gets an explicit key after
 * the merge, which overrides it; a value reached through an alias is written out where the alias
 * was. `level` makes the edits coarser, for the caller to try when finer ones did not give the
 * expected document: at level L the value L steps above each changed field is written out whole,
 * and anchored nodes that aliases share are written out (and their aliases with them) instead of
 * edited in place.
 */
import { diffArrays } from 'diff';
import type { PatchOperation as Operation } from '../../../engine/patch';
import { pointerTokens, tokensPointer, valueAt, type PathKey } from '../json-pointer';
import {
  itemLines,
  pairLines,
  scalarText,
  UnsupportedEdit,
  valueLines,
  flowText,
  type Style,
} from './print';
import { keyOf, type ENode, type EPair } from './read';
import { sameData } from './same-data';
import { column, dashBefore, lineStart } from './style';

/** Replace `[start, end)` of the source with `text`; `start === end` inserts. */
export interface Edit {
  start: number;
  end: number;
  text: string;
}

/** Where a value sits: the value of a mapping's pair, or an entry of a list. */
interface Site {
  node: ENode;
  parent: ENode;
  pair?: EPair;
  path: PathKey[];
}

/** Why a value is written out rather than edited where it is written: it is shared, or merged. */
type Why = 'alias' | 'merge';

type Action = (
  | { kind: 'add'; map: ENode; path: PathKey[]; key: string }
  | { kind: 'remove'; pair: EPair; path: PathKey[] }
  | { kind: 'set'; site: Site }
  | { kind: 'flow'; node: ENode; path: PathKey[] }
  | { kind: 'list'; seq: ENode; path: PathKey[] }
) & { why?: Why };

/** How coarse the edits are: see the module comment. */
export interface EditLevel {
  /** 0 for the finest edits; at L, the value L steps above each changed field is written out. */
  level: number;
  /**
   * Leave operations that reach their field through an alias to the anchor's own edit: where
   * every place the anchor stands for changes alike, the text stays shared.
   */
  keepAliases?: boolean;
}

export interface PlannedEdits {
  edits: Edit[];
  /** Pointers of the values written out explicitly because they came from an alias or a merge key. */
  explicit: string[];
}

/** Which pair gives a mapping its value for a key, as go-yaml decodes it: the last writer. */
interface Provider {
  pair: EPair;
  /** Written by the mapping's own pair (not through a merge key). */
  explicit: boolean;
}

function provider(map: ENode, key: string): Provider | undefined {
  let found: Provider | undefined;
  for (const pair of map.pairs) {
    if (pair.merge) {
      if (merged(pair.value, key, new Set())) found = { pair, explicit: false };
    } else if (keyOf(pair.key) === key) {
      found = { pair, explicit: true };
    }
  }
  return found;
}

/** Whether the value of a merge key gives this key. */
function merged(node: ENode, key: string, seen: Set<ENode>): boolean {
  if (seen.has(node)) return false;
  seen.add(node);
  if (node.kind === 'alias') return node.target !== undefined && merged(node.target, key, seen);
  if (node.kind === 'seq') return node.items.some((item) => merged(item, key, seen));
  return (
    node.kind === 'map' &&
    node.pairs.some((p) => (p.merge ? merged(p.value, key, seen) : keyOf(p.key) === key))
  );
}

const isEmpty = (node: ENode) => node.pairs.length === 0 && node.items.length === 0;
const explicitPair = (map: ENode, key: string) =>
  map.pairs.find((p) => !p.merge && keyOf(p.key) === key);
const shadowed = (map: ENode, key: string) =>
  map.pairs.some((p) => p.merge && merged(p.value, key, new Set()));

/** What to change in the text for one operation; undefined when it is left to an anchor's edit. */
function actionFor(
  root: ENode,
  op: Operation,
  { level, keepAliases }: EditLevel,
): Action | undefined {
  const tokens = pointerTokens(op.path);
  if (tokens.length === 0) throw new UnsupportedEdit('an operation on the whole document');
  let node = root;
  let site: Site | undefined;
  const rewrite = (why?: Why): Action => {
    if (site === undefined)
      throw new UnsupportedEdit('the whole document would have to be written again');
    return why === undefined ? { kind: 'set', site } : { kind: 'set', site, why };
  };
  for (let d = 0; d < tokens.length; d++) {
    const path: PathKey[] = tokens.slice(0, d);
    const key = tokens[d];
    const last = d === tokens.length - 1;
    if (level > 0 && d === tokens.length - level)
      return rewrite(node.kind === 'alias' || node.aliased ? 'alias' : undefined);
    // Through an alias, the text is the anchor's: the value is written out here instead.
    if (node.kind === 'alias') return keepAliases ? undefined : rewrite('alias');
    if (level > 0 && node.aliased) return rewrite('alias');
    // In a flow collection, the one that holds the change is printed again.
    if (node.flow && last) {
      if (isEmpty(node) && site?.pair && !site.parent.flow) return { kind: 'set', site };
      return node.pairs.some((p) => p.merge)
        ? { kind: 'flow', node, path, why: 'merge' }
        : { kind: 'flow', node, path };
    }
    if (node.kind === 'seq') {
      if (last) return { kind: 'list', seq: node, path };
      const i = Number(key);
      const item = node.items[i];
      if (item === undefined) throw new UnsupportedEdit(`no entry ${i} at ${tokensPointer(path)}`);
      site = { node: item, parent: node, path: [...path, i] };
      node = item;
      continue;
    }
    if (node.kind !== 'map') throw new UnsupportedEdit(`no collection at ${tokensPointer(path)}`);
    const p = provider(node, key);
    if (p !== undefined && !p.explicit) {
      // Given by a merge key: an explicit key after it overrides it, unless the mapping also has
      // the key before the merge (go-yaml lets the merge win), or the key is to go.
      if (node.flow) return { kind: 'flow', node, path, why: 'merge' };
      if ((op.op === 'remove' && last) || explicitPair(node, key) !== undefined)
        return rewrite('merge');
      return { kind: 'add', map: node, path, key, why: 'merge' };
    }
    if (last) {
      if (op.op === 'remove') {
        if (p === undefined) throw new UnsupportedEdit(`nothing to remove at ${op.path}`);
        // Without the explicit key, a merged one would show through.
        if (shadowed(node, key)) return rewrite('merge');
        return { kind: 'remove', pair: p.pair, path: tokens };
      }
      if (p === undefined) return { kind: 'add', map: node, path, key };
      const value = p.pair.value;
      if (
        (value.kind === 'map' || value.kind === 'seq') &&
        value.flow &&
        !isEmpty(value) &&
        !(level > 0 && value.aliased)
      )
        return { kind: 'flow', node: value, path: tokens };
      return { kind: 'set', site: { node: value, parent: node, pair: p.pair, path: tokens } };
    }
    if (p === undefined) throw new UnsupportedEdit(`nothing at ${tokensPointer([...path, key])}`);
    site = { node: p.pair.value, parent: node, pair: p.pair, path: [...path, key] };
    node = p.pair.value;
  }
  throw new UnsupportedEdit('unreachable');
}

const id = (path: readonly PathKey[]) => path.map((t) => `\0${String(t)}`).join('');

function actionPath(a: Action): PathKey[] {
  return a.kind === 'set' ? a.site.path : a.kind === 'add' ? [...a.path, a.key] : a.path;
}

/** The text `[from, to)` that an action writes anew (anchors and aliases in it are gone after). */
function rewrittenRange(a: Action): [number, number] | undefined {
  if (a.kind === 'flow') return [a.node.start, a.node.end];
  if (a.kind === 'set' && (a.site.node.kind !== 'scalar' || a.site.node.anchor === undefined))
    return [a.site.node.propsStart, a.site.node.end];
  return undefined;
}

/** Nodes below `node` (aliases followed), for the checks below. */
function* reach(node: ENode, seen = new Set<ENode>()): Generator<ENode> {
  if (seen.has(node)) return;
  seen.add(node);
  yield node;
  if (node.kind === 'alias' && node.target) yield* reach(node.target, seen);
  for (const p of node.pairs) {
    yield* reach(p.key, seen);
    yield* reach(p.value, seen);
  }
  for (const item of node.items) yield* reach(item, seen);
}

/** The nodes of a value as written (aliases not followed). */
function* written(node: ENode): Generator<ENode> {
  yield node;
  for (const p of node.pairs) {
    yield* written(p.key);
    yield* written(p.value);
  }
  for (const item of node.items) yield* written(item);
}

/** Every alias of the document with the site it can be written out at, when it has one. */
function aliasSites(root: ENode): { alias: ENode; site?: Site }[] {
  const found: { alias: ENode; site?: Site }[] = [];
  const walk = (
    node: ENode,
    path: PathKey[] | undefined,
    shared: boolean,
    site: Site | undefined,
  ): void => {
    // Inside an anchored node that aliases repeat, one text stands for several places.
    const here = shared || node.aliased === true;
    if (node.kind === 'alias') {
      found.push(here ? { alias: node } : { alias: node, site });
      return;
    }
    node.items.forEach((item, i) => {
      const at = path && [...path, i];
      walk(item, at, here, at && { node: item, parent: node, path: at });
    });
    for (const pair of node.pairs) {
      if (pair.key.kind === 'alias') found.push({ alias: pair.key });
      if (pair.merge) {
        // An alias in a merge key's value is written out by writing out the whole mapping.
        for (const n of written(pair.value))
          if (n.kind === 'alias') found.push(here ? { alias: n } : { alias: n, site });
        continue;
      }
      const key = keyOf(pair.key);
      const at = path && key !== undefined ? [...path, key] : undefined;
      walk(pair.value, at, here, at && { node: pair.value, parent: node, pair, path: at });
    }
  };
  walk(root, [], false, undefined);
  return found;
}

/**
 * Text edits that turn the document's source into the expected document. `ops` are the JSON patch
 * operations (paths from the document root) and `expected` the document after them; values are
 * taken from `expected`, so the order of operations inside a list does not matter.
 */
export function planEdits(
  src: string,
  root: ENode,
  ops: readonly Operation[],
  original: unknown,
  expected: unknown,
  style: Style,
  level: EditLevel = { level: 0 },
): PlannedEdits {
  const actions = ops
    .map((op) => actionFor(root, op, level))
    .filter((a): a is Action => a !== undefined);

  // Text written anew loses its anchors: the aliases of those anchors elsewhere are written out too.
  let sites: ReturnType<typeof aliasSites> | undefined;
  for (let i = 0; i < actions.length; i++) {
    const range = rewrittenRange(actions[i]);
    if (range === undefined) continue;
    for (const n of reach(
      actions[i].kind === 'set'
        ? (actions[i] as { site: Site }).site.node
        : (actions[i] as { node: ENode }).node,
    )) {
      if (n.kind === 'scalar' && n.digits !== undefined)
        throw new UnsupportedEdit(`the integer ${n.digits} cannot be written again exactly`);
    }
    sites ??= aliasSites(root);
    for (const { alias, site } of sites) {
      const target = alias.target;
      if (target === undefined || target.propsStart < range[0] || target.end > range[1]) continue;
      if (alias.start >= range[0] && alias.end <= range[1]) continue;
      if (actions.some((a) => a.kind === 'set' && a.site.node === alias)) continue;
      if (site === undefined)
        throw new UnsupportedEdit(
          'an alias of a value that changes is used where it cannot be written out',
        );
      actions.push({ kind: 'set', site, why: 'alias' });
    }
  }

  // An action that writes a whole value (set, flow, list) covers every other action inside that
  // value; an addition to a mapping that is written whole is covered too.
  const whole = actions
    .filter((a) => a.kind !== 'add' && a.kind !== 'remove')
    .map((a) => id(actionPath(a)));
  const covered = (a: Action) => {
    const p = id(actionPath(a));
    return whole.some((r) => p.startsWith(`${r}\0`) || (a.kind === 'add' && id(a.path) === r));
  };
  const seen = new Set<string>();
  const edits: Edit[] = [];
  const explicit = new Set<string>();
  for (const action of actions) {
    const key = `${action.kind}:${id(actionPath(action))}`;
    if (seen.has(key) || covered(action)) continue;
    seen.add(key);
    if (action.why !== undefined) explicit.add(tokensPointer(actionPath(action)));
    const value = valueAt(expected, actionPath(action));
    switch (action.kind) {
      case 'add':
        edits.push(addEdit(src, action.map, action.key, value, style));
        break;
      case 'remove': {
        const keyNode = action.pair.key;
        const start = lineStart(src, keyNode.propsStart);
        if (src.slice(start, keyNode.propsStart).trim() !== '')
          throw new UnsupportedEdit('the key shares its line (e.g. after "- ")');
        edits.push({
          start,
          end: lineEndAfter(src, Math.max(action.pair.value.end, keyNode.end)),
          text: '',
        });
        break;
      }
      case 'set':
        edits.push(...setEdits(src, action.site, value, style));
        break;
      case 'flow':
        edits.push(
          keepCommentColumn(src, {
            start: action.node.start,
            end: action.node.end,
            text: flowText(value, style),
          }),
        );
        break;
      case 'list':
        edits.push(...listEdits(src, action.seq, valueAt(original, action.path), value, style));
        break;
    }
  }
  return { edits, explicit: [...explicit] };
}

/** The offset just after the end of the line holding `offset` (after its newline). */
function lineEndAfter(src: string, offset: number): number {
  if (offset > 0 && src[offset - 1] === '\n') return offset;
  const i = src.indexOf('\n', offset);
  return i < 0 ? src.length : i + 1;
}

const lines = (list: readonly string[], eol: string) => list.map((l) => l + eol).join('');

function insertion(src: string, offset: number, text: string, style: Style): Edit {
  const at = lineEndAfter(src, offset);
  // The last line of the file may have no end of line.
  const lead = at === src.length && src.length > 0 && !src.endsWith('\n') ? style.eol : '';
  return { start: at, end: at, text: lead + text };
}

/** A new key at the end of a block mapping (after any merge key, which it then overrides). */
function addEdit(src: string, map: ENode, key: string, value: unknown, style: Style): Edit {
  const first = map.pairs[0];
  if (first === undefined) throw new UnsupportedEdit('an empty block mapping');
  const col = column(src, first.key.propsStart);
  const text = lines(pairLines(key, value, col, style), style.eol);
  // A pod template without metadata gets it where kubectl prints it: before spec.
  const spec = key === 'metadata' ? explicitPair(map, 'spec')?.key : undefined;
  if (
    spec &&
    column(src, spec.start) === col &&
    src.slice(lineStart(src, spec.start), spec.start).trim() === ''
  ) {
    const at = lineStart(src, spec.start);
    return { start: at, end: at, text };
  }
  return insertion(src, map.end, text, style);
}

const isEmptyCollection = (v: unknown) =>
  typeof v === 'object' && v !== null && Object.keys(v).length === 0;
const isScalar = (v: unknown) => v === null || typeof v !== 'object';

/** A value written where another was: in place when it fits on the line, else as block lines. */
function setEdits(src: string, site: Site, value: unknown, style: Style): Edit[] {
  const old = site.node;
  const oldIsBlock = (old.kind === 'map' || old.kind === 'seq') && !old.flow;
  const inFlow = site.parent.flow;
  const from = old.kind === 'scalar' ? old.start : old.propsStart;
  // A flow collection stays one; an empty one under a block key (`securityContext: {}`) becomes a block.
  if (
    inFlow ||
    ((old.kind === 'map' || old.kind === 'seq') && old.flow && !isEmpty(old) && !isScalar(value))
  ) {
    return [
      keepCommentColumn(src, {
        start: from,
        end: old.end,
        text: isScalar(value) ? scalarText(value, true, old) : flowText(value, style),
      }),
    ];
  }
  if (site.pair === undefined) return itemEdits(src, old, value, style);

  const key = site.pair.key;
  if (isScalar(value) || isEmptyCollection(value)) {
    const text = isScalar(value)
      ? scalarText(value, false, old)
      : Array.isArray(value)
        ? '[]'
        : '{}';
    if (!oldIsBlock && old.start < old.end)
      return [
        blockScalarAware(
          src,
          keepCommentColumn(src, { start: from, end: old.end, text }),
          old,
          style,
        ),
      ];
    // An empty value (`key:`) or a block collection: the key line gets the value.
    const end = oldIsBlock ? lineEndAfter(src, old.end) : colonEnd(src, key.end);
    return [{ start: key.end, end, text: `: ${text}${oldIsBlock ? style.eol : ''}` }];
  }
  const body = lines(pairLines('x', value, column(src, key.propsStart), style).slice(1), style.eol);
  if (oldIsBlock || old.block)
    return [{ start: key.end, end: lineEndAfter(src, old.end), text: `:${style.eol}${body}` }];
  // `key:`, `key: null`, `key: {}`, `key: *alias` (any comment after it stays on the key's line):
  // the key line keeps only the colon, the block goes on the lines below.
  const at = lineEndAfter(src, Math.max(old.end, key.end));
  const lead = at === src.length && !src.endsWith('\n') ? style.eol : '';
  return [
    { start: key.end, end: old.start < old.end ? old.end : colonEnd(src, key.end), text: ':' },
    { start: at, end: at, text: lead + body },
  ];
}

/** A block scalar (`|`) ends with its line break: the value that replaces it keeps one. */
function blockScalarAware(src: string, edit: Edit, old: ENode, style: Style): Edit {
  if (!old.block || !/\n$/.test(src.slice(edit.start, edit.end))) return edit;
  return { ...edit, text: edit.text + style.eol };
}

/** An entry of a block list written again, after its `- `. */
function itemEdits(src: string, old: ENode, value: unknown, style: Style): Edit[] {
  const from = old.kind === 'scalar' ? old.start : old.propsStart;
  if (dashBefore(src, from) < 0) throw new UnsupportedEdit('a list entry that shares its line');
  const col = column(src, from);
  if (isScalar(value))
    return [
      blockScalarAware(
        src,
        keepCommentColumn(src, { start: from, end: old.end, text: scalarText(value, false, old) }),
        old,
        style,
      ),
    ];
  const written = valueLines(value, col, style);
  const text = [written[0].slice(col), ...written.slice(1)].join(style.eol);
  return [blockScalarAware(src, { start: from, end: old.end, text }, old, style)];
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

/** A block list brought to its new entries, keeping the lines (and comments) of entries that stay. */
function listEdits(src: string, seq: ENode, before: unknown, after: unknown, style: Style): Edit[] {
  const items = seq.items;
  if (!Array.isArray(before) || !Array.isArray(after) || items.length === 0)
    throw new UnsupportedEdit('not a list with entries');
  const dashes = items.map((i) => dashBefore(src, i.propsStart));
  if (dashes.some((d) => d < 0)) throw new UnsupportedEdit('a list entry shares its line');
  const col = column(src, dashes[0]);
  const edits: Edit[] = [];
  let at = lineStart(src, dashes[0]);
  let i = 0;
  for (const part of diffArrays(before, after, { comparator: sameData })) {
    for (const v of part.value) {
      if (part.added) {
        edits.push({ start: at, end: at, text: lines(itemLines(v, col, style), style.eol) });
        continue;
      }
      const node = items[i++];
      const end = lineEndAfter(src, node.end);
      if (part.removed) {
        // An entry that holds an anchor used elsewhere cannot go.
        for (const n of written(node))
          if (n.aliased)
            throw new UnsupportedEdit('a list entry to remove holds an anchor used elsewhere');
        edits.push({ start: lineStart(src, dashes[i - 1]), end, text: '' });
      }
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
  const isInsertion = (e: Edit) => e.end === e.start;
  const sorted = edits
    .map((e, i) => ({ ...e, i }))
    .sort(
      (a, b) =>
        a.start - b.start ||
        (isInsertion(a) ? 0 : 1) - (isInsertion(b) ? 0 : 1) ||
        // Insertions at one place (the end of a block that closes several mappings at once): the
        // deeper one first, since it continues the inner mapping before the outer one goes on.
        (isInsertion(a) && isInsertion(b) ? indentOf(b.text) - indentOf(a.text) : 0) ||
        a.i - b.i,
    );
  const groups: { start: number; end: number; edits: Edit[] }[] = [];
  let cursor = 0;
  for (const e of sorted) {
    if (e.start < cursor) throw new UnsupportedEdit('overlapping edits');
    cursor = e.end;
    const start = lineStart(src, e.start);
    const end =
      e.end === start || (e.end > 0 && src[e.end - 1] === '\n') ? e.end : lineEndAfter(src, e.end);
    const last = groups[groups.length - 1];
    if (last && start <= last.end) {
      last.end = Math.max(last.end, end);
      last.edits.push(e);
    } else {
      groups.push({ start, end, edits: [e] });
    }
  }
  return groups.map((g) => ({
    start: g.start,
    end: g.end,
    text: splice(src, g.edits, g.start, g.end),
  }));
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
