/**
 * Reading manifests fast: the text split into its documents, each parsed by js-yaml, which also
 * reports where every node starts and ends (its `listener`); from those events, a tree of the
 * positions the text editor needs.
 *
 * Why js-yaml and not the `yaml` package used elsewhere: `yaml` builds a full concrete syntax tree
 * through generators and reads `process.env` for every token; it parses about a tenth as fast
 * (0.5 ms against 0.05 ms for a 40-line Deployment on the development machine), and parsing was
 * most of the time of a 10,000-document run. `yaml` stays for the rare document that is printed
 * again as a whole (yaml-edit.ts, applyWithDocument).
 */
import jsyaml from 'js-yaml';

/** A node of a parsed document, with the offsets of its content in the whole text. */
export interface ENode {
  kind: 'map' | 'seq' | 'scalar';
  flow: boolean;
  /** First character of the content (after any anchor or tag). */
  start: number;
  /** Just after the last character of the content (comments and trailing spaces excluded). */
  end: number;
  pairs: EPair[];
  items: ENode[];
  /** The value of a scalar (null for an empty value). */
  value: unknown;
  quote?: 'double' | 'single';
  /** Anchored, tagged or an alias: its text may stand for more than one place; never edited. */
  special: boolean;
}

export interface EPair {
  key: ENode;
  value: ENode;
}

/** One document of a stream: its text, where it starts, and whether it has a `---` marker. */
export interface Chunk {
  start: number;
  end: number;
  /** 0-based line of `start` in the whole text. */
  line: number;
  /** Starts with `---` (or directives): a document even when empty. */
  marker: boolean;
}

/**
 * Splits a stream at its document markers: `---` starts a document, `...` ends one (both only at
 * the start of a line, where YAML never allows them as content). Directives (`%YAML`) just before
 * a `---` belong to the document it starts.
 */
export function splitDocuments(text: string): Chunk[] {
  const chunks: Chunk[] = [];
  let start = 0;
  let startLine = 0;
  let line = 0;
  let startMarker = false;
  let directivesFrom = -1;
  let directivesLine = 0;
  for (let i = 0; i < text.length; ) {
    const next = text.indexOf('\n', i);
    const lineEnd = next < 0 ? text.length : next + 1;
    const c = text.charCodeAt(i);
    if (c === 0x25 /* % */) {
      if (directivesFrom < 0) [directivesFrom, directivesLine] = [i, line];
    } else if (c === 0x2d /* - */ && marker(text, i, '---')) {
      const at = directivesFrom >= 0 ? directivesFrom : i;
      if (at > start) chunks.push({ start, end: at, line: startLine, marker: startMarker });
      [start, startLine] = directivesFrom >= 0 ? [directivesFrom, directivesLine] : [i, line];
      startMarker = true;
      directivesFrom = -1;
    } else if (c === 0x2e /* . */ && marker(text, i, '...')) {
      chunks.push({ start, end: lineEnd, line: startLine, marker: startMarker });
      [start, startLine] = [lineEnd, line + 1];
      startMarker = false;
      directivesFrom = -1;
    } else if (c !== 0x23 /* # */ && c !== 0x0a && c !== 0x0d && c !== 0x20) {
      directivesFrom = -1;
    }
    i = lineEnd;
    line++;
  }
  if (start < text.length || chunks.length === 0) chunks.push({ start, end: text.length, line: startLine, marker: startMarker });
  return chunks;
}

function marker(text: string, i: number, m: string): boolean {
  if (!text.startsWith(m, i)) return false;
  const after = text.charCodeAt(i + 3);
  return Number.isNaN(after) || after === 0x20 || after === 0x09 || after === 0x0a || after === 0x0d;
}

/** A document that cannot be read: message and position (1-based) in the whole text. */
export class YamlSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number | undefined,
    readonly column: number | undefined,
  ) {
    super(reason);
    this.name = 'YamlSyntaxError';
  }
}

/**
 * Booleans as kubectl reads them: sigs.k8s.io/yaml decodes YAML 1.1, where unquoted yes, no, on,
 * off, y and n are booleans too. `privileged: yes` is privileged to the API server, so it must be
 * to the engine, or a hardened manifest would keep it next to allowPrivilegeEscalation: false
 * (which the API server refuses).
 */
const BOOLEAN_11 = new jsyaml.Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (data: string) => /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/.test(data),
  construct: (data: string) => /^(?:y|Y|yes|Yes|YES|true|True|TRUE|on|On|ON)$/.test(data),
  predicate: (value: unknown) => typeof value === 'boolean',
  represent: { lowercase: (value: unknown) => (value ? 'true' : 'false') },
  defaultStyle: 'lowercase',
});

// The core schema of YAML 1.2 (what `yaml` reads by default: no timestamps, no `<<` merge keys),
// with the booleans of YAML 1.1 (a later type of the same tag replaces the earlier one).
const SCHEMA = jsyaml.CORE_SCHEMA.extend({ implicit: [BOOLEAN_11] });
const OPTIONS = { schema: SCHEMA, json: false } as const;

/** Whether the text of a document holds exactly this data (parsed the same way). */
export function parsesTo(text: string, expected: unknown, same: (a: unknown, b: unknown) => boolean): boolean {
  try {
    return same(jsyaml.load(text, OPTIONS), expected);
  } catch {
    return false;
  }
}

/** The data of one document; `undefined` for a document with no content (comments only). */
export function loadData(text: string, chunk: Chunk): unknown {
  try {
    return jsyaml.load(text.slice(chunk.start, chunk.end), OPTIONS);
  } catch (err) {
    throw syntaxError(err, chunk);
  }
}

function syntaxError(err: unknown, chunk: Chunk): Error {
  if (!(err instanceof jsyaml.YAMLException)) return err as Error;
  const mark = err.mark as { line?: number; column?: number } | undefined;
  return new YamlSyntaxError(err.reason ?? err.message, mark?.line === undefined ? undefined : chunk.line + mark.line + 1, mark?.column === undefined ? undefined : mark.column + 1);
}

interface Frame {
  open: number;
  children: ENode[];
}

/**
 * The node tree of one document, from js-yaml's open/close events: `open` comes before the
 * spaces, line breaks and comments that precede a node, `close` after the node (and, for a block
 * collection, after what it read ahead). Positions are made exact here.
 */
export function loadTree(text: string, chunk: Chunk): { data: unknown; root: ENode | undefined } {
  const src = text.slice(chunk.start, chunk.end);
  const base = chunk.start;
  const stack: Frame[] = [{ open: 0, children: [] }];
  let data: unknown;
  try {
    data = jsyaml.load(src, {
      ...OPTIONS,
      listener(event, state) {
        if (event === 'open') {
          stack.push({ open: state.position, children: [] });
          return;
        }
        const frame = stack.pop()!;
        stack[stack.length - 1].children.push(makeNode(src, base, frame, state.kind, state.position, state.result));
      },
    });
  } catch (err) {
    throw syntaxError(err, chunk);
  }
  return { data, root: stack[0].children[0] };
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function makeNode(src: string, base: number, frame: Frame, kind: string | null, close: number, result: unknown): ENode {
  let start = frame.open;
  let special = false;
  // Spaces, line breaks and comments before the node, then its properties (&anchor, !tag).
  for (;;) {
    while (start < src.length && isSpace(src.charCodeAt(start))) start++;
    const c = src[start];
    if (c === '#') {
      const eol = src.indexOf('\n', start);
      start = eol < 0 ? src.length : eol + 1;
    } else if ((c === '&' || c === '!') && kind !== null) {
      special = true;
      while (start < src.length && !isSpace(src.charCodeAt(start))) start++;
    } else {
      break;
    }
  }
  if (src[start] === '*') special = true;
  const node: ENode = { kind: 'scalar', flow: false, start: base + start, end: base + start, pairs: [], items: [], value: null, special };
  if (kind === null) {
    // An empty value (`key:`): a point right where the node would have been.
    node.start = node.end = base + frame.open;
    return node;
  }
  // A node is sometimes reported twice, nested (a block sequence entry, then the key it tried;
  // a flow collection on the line below its key): one node.
  const only = frame.children.length === 1 ? frame.children[0] : undefined;
  const same = kind === 'scalar' ? 'scalar' : kind === 'mapping' ? 'map' : 'seq';
  if (only !== undefined && only.kind === same && only.start === base + start) return special ? { ...only, special } : only;
  let end = close;
  while (end > start && isSpace(src.charCodeAt(end - 1))) end--;
  if (kind === 'scalar') {
    node.value = result;
    node.end = base + end;
    if (src[start] === '"') node.quote = 'double';
    else if (src[start] === "'") node.quote = 'single';
    return node;
  }
  node.flow = src[start] === '{' || src[start] === '[';
  const children = frame.children;
  if (kind === 'mapping') {
    node.kind = 'map';
    if (children.length % 2 !== 0) node.special = true;
    for (let i = 0; i + 1 < children.length; i += 2) node.pairs.push({ key: children[i], value: children[i + 1] });
  } else {
    node.kind = 'seq';
    node.items = children;
  }
  const last = children[children.length - 1];
  node.end = node.flow || last === undefined ? base + end : last.end;
  return node;
}
