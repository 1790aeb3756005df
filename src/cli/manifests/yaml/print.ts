/**
 * Values written as YAML text that kubectl reads back as exactly those values: strings are left
 * plain only when go-yaml would read them as the same string (not `yes`, `0o17`, `1e3`, `~`)
 * and nothing in them can be taken for YAML syntax; otherwise they are quoted. Printing here,
 * not through a yaml Document, is what keeps the editor fast (a Document per edit costs more
 * than everything else the tool does) and what keeps the output in go-yaml's dialect.
 */
import { readsAsString, scalarValue } from './scalars';

/** Raised when text cannot be written for an edit; the caller tries a coarser edit, or refuses. */
export class UnsupportedEdit extends Error {}

/** How the document is written, so written lines look like their neighbours. */
export interface Style {
  indent: number;
  /** `key:\n  - a` (true) or `key:\n- a` (false). */
  indentSeq: boolean;
  /** `{ a: 1 }` (true) or `{a: 1}` (false). */
  flowPadding: boolean;
  eol: string;
}

const BLOCK_PLAIN = /^[A-Za-z0-9_./](?:[A-Za-z0-9_./=,;+()[\] -]*[A-Za-z0-9_./=,;+()[\]-])?$/;
const FLOW_PLAIN = /^[A-Za-z0-9_./](?:[A-Za-z0-9_./=;+() -]*[A-Za-z0-9_./=;+()-])?$/;
/** Characters YAML does not allow as they are, and line breaks of YAML 1.1 that JSON does not escape. */
// Control characters cannot stand in a single-quoted scalar: matching them is the point.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\x00-\x08\x0a-\x1f]/;
const UNPRINTABLE = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const isScalar = (v: unknown): v is string | number | boolean | null =>
  v === null || ['string', 'number', 'boolean'].includes(typeof v);

function doubleQuoted(text: string): string {
  if (LONE_SURROGATE.test(text)) throw new UnsupportedEdit('a string with a lone UTF-16 surrogate');
  return JSON.stringify(text).replace(
    new RegExp(UNPRINTABLE, 'g'),
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new UnsupportedEdit('a number without a JSON form');
  // Integers as all their digits (String() shortens those beyond 2^53), which go-yaml reads
  // as the same integer; other numbers in the shortest form that reads back the same.
  const text = Number.isInteger(n) ? BigInt(n).toString() : String(n);
  if (scalarValue(text, true, undefined).value !== n)
    throw new UnsupportedEdit(`no plain form for the number ${text}`);
  return text;
}

/**
 * A scalar as YAML text on one line. `old` is the scalar it replaces: its quote style is kept
 * when the new value is a string that style can hold.
 */
export function scalarText(
  value: unknown,
  flow: boolean,
  old?: { quote?: 'double' | 'single' },
): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return numberText(value);
  if (typeof value !== 'string') throw new UnsupportedEdit('not a scalar');
  if (old?.quote === 'double') return doubleQuoted(value);
  if (
    old?.quote === 'single' &&
    !CONTROL_CHARACTERS.test(value) &&
    !UNPRINTABLE.test(value) &&
    !LONE_SURROGATE.test(value)
  ) {
    return `'${value.replace(/'/g, "''")}'`;
  }
  if ((flow ? FLOW_PLAIN : BLOCK_PLAIN).test(value) && readsAsString(value)) return value;
  return doubleQuoted(value);
}

/** A value in flow style: `{a: 1, b: [x]}`. */
export function flowText(value: unknown, style: Pick<Style, 'flowPadding'>): string {
  if (isScalar(value)) return scalarText(value, true);
  const pad = style.flowPadding ? ' ' : '';
  if (Array.isArray(value)) {
    return value.length === 0
      ? '[]'
      : `[${pad}${value.map((v) => flowText(v, style)).join(', ')}${pad}]`;
  }
  const entries = Object.entries(value as object);
  if (entries.length === 0) return '{}';
  return `{${pad}${entries.map(([k, v]) => `${scalarText(k, true)}: ${flowText(v, style)}`).join(', ')}${pad}}`;
}

const spaces = (n: number) => ' '.repeat(n);

/** `key: value` as block lines at column `col` (without line ends). */
export function pairLines(
  key: string,
  value: unknown,
  col: number,
  style: Style,
  out: string[] = [],
): string[] {
  const head = `${spaces(col)}${scalarText(key, false)}:`;
  if (isScalar(value)) {
    out.push(`${head} ${scalarText(value, false)}`);
  } else if (Array.isArray(value)) {
    if (value.length === 0) out.push(`${head} []`);
    else {
      out.push(head);
      for (const item of value)
        itemLines(item, col + (style.indentSeq ? style.indent : 0), style, out);
    }
  } else {
    const entries = Object.entries(value as object);
    if (entries.length === 0) out.push(`${head} {}`);
    else {
      out.push(head);
      for (const [k, v] of entries) pairLines(k, v, col + style.indent, style, out);
    }
  }
  return out;
}

/** A block sequence entry, `- ...`, with its dash at column `col`. */
export function itemLines(item: unknown, col: number, style: Style, out: string[] = []): string[] {
  const body = valueLines(item, col + 2, style);
  out.push(`${spaces(col)}- ${body[0].slice(col + 2)}`, ...body.slice(1));
  return out;
}

/**
 * A value as block lines whose content starts at column `col`: the first line is meant to follow
 * something on the same line (`- ` or nothing), the others are indented to `col`.
 */
export function valueLines(value: unknown, col: number, style: Style): string[] {
  if (isScalar(value)) return [`${spaces(col)}${scalarText(value, false)}`];
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${spaces(col)}[]`];
    return value.flatMap((item) => itemLines(item, col, style));
  }
  const entries = Object.entries(value as object);
  if (entries.length === 0) return [`${spaces(col)}{}`];
  return entries.flatMap(([k, v]) => pairLines(k, v, col, style));
}
