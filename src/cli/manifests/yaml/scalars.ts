/**
 * Scalars as kubectl reads them. kubectl turns YAML into JSON with sigs.k8s.io/yaml, on go-yaml
 * v2 (YAML 1.1 with Go's number syntax): a plain `yes`, `on` or `y` is true, `0o17` is 15, `08` is
 * 8 and `1_000` is 1000, while the `yaml` package reads each of them another way. The rules below
 * are go-yaml v2's `resolve` (go.yaml.in/yaml/v2, resolve.go) and what sigs.k8s.io/yaml makes of
 * the result (keys as strings); the tests check them against the real decoder.
 */

export const STR_TAG = 'tag:yaml.org,2002:str';
const BINARY_TAG = 'tag:yaml.org,2002:binary';
const BOOL_TAG = 'tag:yaml.org,2002:bool';
const INT_TAG = 'tag:yaml.org,2002:int';
const FLOAT_TAG = 'tag:yaml.org,2002:float';
const NULL_TAG = 'tag:yaml.org,2002:null';
const TIMESTAMP_TAG = 'tag:yaml.org,2002:timestamp';
export const MERGE_TAG = 'tag:yaml.org,2002:merge';

/** A scalar kubectl cannot turn into JSON, or that go-yaml refuses. */
export class ScalarError extends Error {}

export type Scalar = string | number | boolean | null;

/** The result of resolving a scalar, with its tag, as go-yaml does. */
interface Resolved {
  tag: string;
  value: Scalar;
  /** An integer that a JavaScript number holds only approximately (beyond 2^53): its digits. */
  digits?: string;
  /** An integer beyond int64 (go-yaml's uint64). */
  unsigned?: boolean;
}

const WORDS = new Map<string, Resolved>();
for (const [value, tag, words] of [
  [true, BOOL_TAG, 'y Y yes Yes YES true True TRUE on On ON'],
  [false, BOOL_TAG, 'n N no No NO false False FALSE off Off OFF'],
  [null, NULL_TAG, '~ null Null NULL'],
  [Number.NaN, FLOAT_TAG, '.nan .NaN .NAN'],
  [Number.POSITIVE_INFINITY, FLOAT_TAG, '.inf .Inf .INF +.inf +.Inf +.INF'],
  [Number.NEGATIVE_INFINITY, FLOAT_TAG, '-.inf -.Inf -.INF'],
] as const) {
  for (const word of words.split(' ')) WORDS.set(word, { tag, value });
}
WORDS.set('', { tag: NULL_TAG, value: null });

/** go-yaml's first-character hint: which kinds of value a plain scalar may be. */
function hint(text: string): 'map' | 'number' | 'dot' | undefined {
  if (text === '') return 'map';
  const c = text[0];
  if ((c >= '0' && c <= '9') || c === '+' || c === '-') return 'number';
  if ('yYnNtTfFoO~'.includes(c)) return 'map';
  if (c === '.') return 'dot';
  return undefined;
}

const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const DOT_FLOAT = /^\.[0-9]+([eE][-+]?[0-9]+)?$/;

/** Go's strconv.ParseUint(text, 0, 64) on unsigned digits: 0x, 0o, 0b prefixes, a leading 0 is octal. */
function parseGoUnsigned(text: string): bigint | undefined {
  if (text === '') return undefined;
  let base = 10;
  let digits = text;
  if (text[0] === '0') {
    const p = text[1]?.toLowerCase();
    if (text.length >= 3 && (p === 'b' || p === 'o' || p === 'x')) {
      base = p === 'b' ? 2 : p === 'o' ? 8 : 16;
      digits = text.slice(2);
    } else {
      base = 8;
      digits = text.slice(1);
    }
  }
  let n = 0n;
  for (const c of digits.toLowerCase()) {
    const d =
      c >= '0' && c <= '9'
        ? c.charCodeAt(0) - 48
        : c >= 'a' && c <= 'z'
          ? c.charCodeAt(0) - 87
          : 99;
    if (d >= base) return undefined;
    n = n * BigInt(base) + BigInt(d);
    if (n > UINT64_MAX) return undefined;
  }
  return n;
}

function integer(n: bigint): Resolved {
  const value = Number(n);
  return {
    tag: INT_TAG,
    value,
    ...(BigInt(value) !== n ? { digits: n.toString() } : {}),
    ...(n > INT64_MAX ? { unsigned: true } : {}),
  };
}

/** go-yaml v2 `resolve(tag, text)` for an untagged (implicit) scalar or a resolvable tag. */
function resolveText(text: string, tag: string | undefined): Resolved {
  const h = hint(text);
  if (h === undefined || tag === STR_TAG) return { tag: STR_TAG, value: text };
  const word = WORDS.get(text);
  if (word !== undefined) return word;
  if (h === 'dot') {
    if (DOT_FLOAT.test(text)) return { tag: FLOAT_TAG, value: Number(text) };
  } else if (h === 'number') {
    // A timestamp (2001-12-14) stays the string kubectl sees: go-yaml v2 gives interface{}
    // targets the text of timestamps. No timestamp is also a number, so nothing to check here.
    const plain = text.replace(/_/g, '');
    const negative = plain[0] === '-';
    const unsigned = plain[0] === '-' || plain[0] === '+' ? plain.slice(1) : plain;
    const n = parseGoUnsigned(unsigned);
    if (n !== undefined && (negative ? n <= INT64_MAX + 1n : n <= INT64_MAX))
      return integer(negative ? -n : n);
    if (n !== undefined && plain[0] !== '+' && !negative) return integer(n); // ParseUint: up to 2^64-1
    if (YAML_STYLE_FLOAT.test(plain)) {
      const f = Number(plain);
      // Go's ParseFloat reports an overflow as an error, and the text stays a string.
      if (Number.isFinite(f)) return { tag: FLOAT_TAG, value: f };
    }
  }
  return { tag: STR_TAG, value: text };
}

const RESOLVABLE = new Set([STR_TAG, BOOL_TAG, INT_TAG, FLOAT_TAG, NULL_TAG, TIMESTAMP_TAG]);

/**
 * The value of a scalar node for kubectl. `plain` says whether it was written without quotes and
 * not as a block scalar (only those are resolved without a tag); `tag` is its explicit tag.
 */
export interface ScalarResult {
  value: Scalar;
  /** The exact digits of an integer that `value` holds only approximately. */
  digits?: string;
  unsigned?: boolean;
  /** A float for go-yaml (`1e3`), which matters for keys: they are written as float32. */
  float?: boolean;
}

function result(r: Resolved): ScalarResult {
  const { tag, ...rest } = r;
  return tag === FLOAT_TAG ? { ...rest, float: true } : rest;
}

export function scalarValue(text: string, plain: boolean, tag: string | undefined): ScalarResult {
  if (tag === undefined) return plain ? result(resolveText(text, undefined)) : { value: text };
  if (tag === BINARY_TAG) return { value: binary(text) };
  // Other tags (`!foo`, `!!map` on a scalar) are ignored: the value is the text.
  if (!RESOLVABLE.has(tag)) return { value: text };
  if (tag === STR_TAG) return { value: text };
  const r = resolveText(text, tag);
  if (tag === TIMESTAMP_TAG) {
    if (!/^\d{4}-/.test(text))
      throw new ScalarError(`cannot decode ${JSON.stringify(text)} as a !!timestamp`);
    return { value: text };
  }
  if (r.tag === tag) return result(r);
  if (tag === FLOAT_TAG && r.tag === INT_TAG) return { value: r.value, float: true };
  throw new ScalarError(
    `cannot decode ${JSON.stringify(text)} as a !!${tag.slice(tag.lastIndexOf(':') + 1)}`,
  );
}

/** Go's base64.StdEncoding: strict padding, line breaks ignored. */
function binary(text: string): string {
  const compact = text.replace(/[\r\n]/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact))
    throw new ScalarError('!!binary value contains invalid base64 data');
  return Buffer.from(compact, 'base64').toString('utf8');
}

/**
 * A map key as the JSON key sigs.k8s.io/yaml makes of it: strings as they are, integers in
 * decimal, booleans as true/false, floats as Go's FormatFloat(key, 'g', -1, 32). kubectl refuses
 * null keys and integers beyond int64.
 */
export function keyString(key: ScalarResult): string {
  const { value } = key;
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number' && key.float) return goFloat32(value);
  // Not String(value): above 2^53 it prints the shortest text that reads as the same double.
  if (typeof value === 'number' && !key.unsigned) return key.digits ?? BigInt(value).toString();
  throw new ScalarError(
    value === null
      ? 'a null map key (kubectl cannot read it)'
      : `the map key ${key.digits ?? String(value)} (beyond int64: kubectl cannot read it)`,
  );
}

/** Go's strconv.FormatFloat(value, 'g', -1, 32), with go-yaml's names for infinities and NaN. */
function goFloat32(value: number): string {
  const f = Math.fround(value);
  if (Number.isNaN(f)) return '.nan';
  if (!Number.isFinite(f)) return f > 0 ? '.inf' : '-.inf';
  const sign = f < 0 || Object.is(f, -0) ? '-' : '';
  if (f === 0) return `${sign}0`;
  // The shortest digits that read back as the same float32.
  let digits = '';
  let exp = 0;
  for (let p = 1; p <= 9; p++) {
    const e = Math.abs(f).toExponential(p - 1);
    if (Math.fround(Number(e)) === Math.abs(f) || p === 9) {
      const [mantissa, exponent] = e.split('e');
      digits = mantissa.replace('.', '');
      // Exactly half way between two candidates: toExponential takes the larger, Go the even one.
      const longer = Math.abs(f)
        .toExponential(Math.min(100, p + 40))
        .split('e')[0]
        .replace('.', '');
      const odd = Number(digits[digits.length - 1]) % 2 === 1;
      if (odd && /^50*$/.test(longer.slice(p)) && longer.slice(0, p) !== digits)
        digits = longer.slice(0, p);
      digits = digits.replace(/0+$/, '') || '0';
      exp = Number(exponent);
      break;
    }
  }
  if (exp < -4 || exp >= 6) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : '';
    return `${sign}${digits[0]}${frac}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const dp = exp + 1;
  if (dp <= 0) return `${sign}0.${'0'.repeat(-dp)}${digits}`;
  if (digits.length <= dp) return `${sign}${digits}${'0'.repeat(dp - digits.length)}`;
  return `${sign}${digits.slice(0, dp)}.${digits.slice(dp)}`;
}

/** Whether the text, written as a plain scalar, reads back as exactly this string. */
export function readsAsString(text: string): boolean {
  const r = resolveText(text, undefined);
  return r.tag === STR_TAG || r.tag === TIMESTAMP_TAG;
}
