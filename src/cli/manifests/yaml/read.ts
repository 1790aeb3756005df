/**
 * One YAML document read as kubectl reads it, with the positions the text editor needs.
 *
 * The `yaml` package parses (Parser: the CST with its source tokens; Composer: the Document), but
 * with the failsafe schema, so that every scalar keeps its text: its value, the merge keys and
 * the aliases are then resolved here with go-yaml v2's rules (scalars.ts), which is what kubectl
 * runs. The differences matter: go-yaml reads `privileged: yes` as true and `0o0` as 0, and a
 * merge key (`<<`) overrides the keys written before it in its mapping, where the YAML 1.1 spec
 * (and the `yaml` package) keep explicit keys.
 */
import {
  Composer,
  CST,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  Parser,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import { keyString, MERGE_TAG, scalarValue, ScalarError, type Scalar } from './scalars';

/** A node of a document, with offsets in the whole text. */
export interface ENode {
  kind: 'map' | 'seq' | 'scalar' | 'alias';
  flow: boolean;
  /** First character of the content (after any anchor or tag). */
  start: number;
  /** Just after the content (comments and trailing spaces excluded; a block collection ends with its last entry). */
  end: number;
  /** Where the node's anchor or tag starts; `start` when it has none. */
  propsStart: number;
  pairs: EPair[];
  items: ENode[];
  /** A scalar's value for kubectl. */
  value: Scalar;
  /** The exact digits of an integer that `value` holds only approximately (beyond 2^53). */
  digits?: string;
  /** An integer beyond int64. */
  unsigned?: boolean;
  /** A float for go-yaml, even when its value is whole (`1e3`). */
  float?: boolean;
  quote?: 'double' | 'single';
  /** A block scalar (`|`, `>`). */
  block?: boolean;
  anchor?: string;
  /** An explicit tag. */
  tag?: string;
  /** An alias: the node it stands for. */
  target?: ENode;
  /** An anchored node that an alias refers to: its text stands for more than one place. */
  aliased?: boolean;
}

export interface EPair {
  key: ENode;
  value: ENode;
  /** A merge key (`<<: *base`): its value's mappings are merged into the mapping. */
  merge: boolean;
}

/** Something in a document that kubectl (or YAML) cannot read, at an offset of the whole text. */
export interface ReadError {
  offset: number;
  message: string;
}

export interface ReadDocument {
  /** kubectl's view of the document: plain JSON data; undefined for a document without content. */
  data: unknown;
  root: ENode | undefined;
  errors: ReadError[];
  /** Offset of text after a `...` document end, which kubectl ignores. */
  ignoredFrom?: number;
}

const COMPOSE_OPTIONS = {
  version: '1.1',
  schema: 'failsafe',
  uniqueKeys: false,
  prettyErrors: false,
} as const;
const EMPTY_NODE = (at: number): ENode => ({
  kind: 'scalar',
  flow: false,
  start: at,
  end: at,
  propsStart: at,
  pairs: [],
  items: [],
  value: null,
});

/**
 * Reads `[start, end)` of `text` as one document (kubectl's split: see split.ts). Offsets in the
 * result are offsets in `text`.
 */
export function readDocument(text: string, start: number, end: number): ReadDocument {
  const src = text.slice(start, end);
  const tokens = Array.from(new Parser().parse(src));
  // Anchors start with `&` and tags with `!`: most manifests have neither, and need no CST walk.
  const props = /[&!]/.test(src) ? propsStarts(tokens) : new Map<string, number>();
  const docs = Array.from<Document.Parsed>(
    new Composer(COMPOSE_OPTIONS).compose(tokens, true) as Iterable<Document.Parsed>,
  );
  const doc = docs[0];
  const out: ReadDocument = { data: undefined, root: undefined, errors: [] };
  if (doc === undefined) return out;
  const later = docs.slice(1).find((d) => d.contents !== null);
  if (later !== undefined) out.ignoredFrom = start + (later.contents?.range[0] ?? later.range[0]);
  for (const e of doc.errors) out.errors.push({ offset: start + e.pos[0], message: e.message });
  if (out.errors.length > 0 || doc.contents === null) return out;

  try {
    const root = new TreeBuilder(start, props).build(doc.contents, 0);
    out.data = new DataReader().read(root);
    out.root = root;
  } catch (err) {
    if (!(err instanceof ReadFailure)) throw err;
    out.errors.push({ offset: err.node.start, message: err.message });
  }
  return out;
}

/**
 * From the CST: for each node that has an anchor or a tag, where those start, keyed by
 * propsKey(). The composed Document keeps only the content's range; rewriting an anchored node
 * must take its anchor too.
 */
function propsStarts(tokens: readonly CST.Token[]): Map<string, number> {
  const starts = new Map<string, number>();
  const note = (
    list: readonly CST.SourceToken[] | undefined,
    value: CST.Token | null | undefined,
    indicator: string,
  ) => {
    if (!list || !value) return;
    let first: number | undefined;
    for (const t of list) {
      if (t.type === indicator) first = undefined;
      else if ((t.type === 'anchor' || t.type === 'tag') && first === undefined) first = t.offset;
    }
    if (first !== undefined)
      starts.set(
        propsKey(
          value.offset,
          value.type === 'block-map' ||
            value.type === 'block-seq' ||
            value.type === 'flow-collection',
        ),
        first,
      );
  };
  for (const token of tokens) {
    if (token.type !== 'document') continue;
    note(token.start, token.value, 'doc-start');
    CST.visit(token, (item) => {
      if (item.sep) {
        note(item.start, item.key, 'explicit-key-ind');
        note(item.sep, item.value, 'map-value-ind');
      } else {
        note(
          item.start,
          item.value,
          item.start.some((t) => t.type === 'seq-item-ind') ? 'seq-item-ind' : 'comma',
        );
      }
    });
  }
  return starts;
}

/** A block mapping starts where its first key does: the two are told apart by kind. */
const propsKey = (offset: number, collection: boolean) => `${offset}${collection ? 'c' : 's'}`;

class TreeBuilder {
  private readonly anchors = new Map<string, ENode>();

  constructor(
    private readonly base: number,
    private readonly props: ReadonlyMap<string, number>,
  ) {}

  build(node: YamlNode | null, at: number, inFlow = false): ENode {
    if (node === null) return EMPTY_NODE(this.base + at);
    const [start, valueEnd] = rangeOf(node);
    const e: ENode = {
      kind: 'scalar',
      flow: false,
      start: this.base + start,
      end: this.base + valueEnd,
      propsStart:
        this.base + (this.props.get(propsKey(start, isMap(node) || isSeq(node))) ?? start),
      pairs: [],
      items: [],
      value: null,
    };
    // go-yaml registers an anchor where its node starts, before the node's content: an alias
    // inside its own anchored node refers to that node (and kubectl refuses it).
    if (node.anchor) {
      e.anchor = node.anchor;
      this.anchors.set(node.anchor, e);
    }
    if (node.tag !== undefined) e.tag = node.tag;
    if (isAlias(node)) {
      e.kind = 'alias';
      e.target = this.anchors.get(node.source);
      if (e.target !== undefined) e.target.aliased = true;
    } else if (isScalar(node)) {
      const plain = node.type === 'PLAIN';
      if (node.type === 'QUOTE_DOUBLE') e.quote = 'double';
      else if (node.type === 'QUOTE_SINGLE') e.quote = 'single';
      else if (!plain) e.block = true;
      // The YAML 1.2 of the `yaml` package allows `[:x]`; go-yaml (YAML 1.1) does not.
      if (plain && inFlow && String(node.value).startsWith(':'))
        throw new ReadFailure(
          'a plain scalar starting with ":" inside [] or {} (kubectl cannot read it)',
          e,
        );
      try {
        Object.assign(e, scalarValue(String(node.value), plain, e.tag));
      } catch (err) {
        if (!(err instanceof ScalarError)) throw err;
        throw new ReadFailure(err.message, e);
      }
    } else if (isMap(node)) {
      e.kind = 'map';
      e.flow = node.flow === true;
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode | null;
        const key = this.build(
          keyNode,
          keyNode === null ? start : rangeOf(keyNode)[0],
          e.flow || inFlow,
        );
        // A missing value (`? key`) is an empty node just after its key.
        const value = this.build(
          pair.value as YamlNode | null,
          keyNode === null ? start : rangeOf(keyNode)[1],
          e.flow || inFlow,
        );
        e.pairs.push({ key, value, merge: isMergeKey(key, keyNode) });
      }
      if (!e.flow && e.pairs.length > 0) e.end = e.pairs[e.pairs.length - 1].value.end;
    } else if (isSeq(node)) {
      e.kind = 'seq';
      e.flow = node.flow === true;
      for (const item of node.items)
        e.items.push(this.build(item as YamlNode | null, start, e.flow || inFlow));
      if (!e.flow && e.items.length > 0) e.end = e.items[e.items.length - 1].end;
    }
    return e;
  }
}

function rangeOf(node: YamlNode): [number, number, number] {
  if (!node.range) throw new Error('a parsed YAML node without a range');
  return node.range;
}

/** go-yaml's isMerge: the plain, untagged scalar `<<`, or any `<<` tagged !!merge. */
function isMergeKey(key: ENode, node: YamlNode | null): boolean {
  if (!isScalar(node) || String(node.value) !== '<<') return false;
  return (node.type === 'PLAIN' && key.tag === undefined) || key.tag === MERGE_TAG;
}

class ReadFailure extends Error {
  constructor(
    message: string,
    readonly node: ENode,
  ) {
    super(message);
  }
}

type Obj = Record<string, unknown>;

/** Sets a key without `__proto__` reaching the prototype. */
export function setKey(obj: Obj, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else obj[key] = value;
}

/**
 * The data of a node tree, with go-yaml v2's decoder semantics (decode.go): mappings are
 * written key by key in order, a merge key writes its mappings' keys over what is there (a
 * sequence of mappings from the last to the first, so the first wins), aliases are expanded, and
 * expansion beyond go-yaml's alias ratio is refused as go-yaml refuses it.
 */
class DataReader {
  private decodeCount = 0;
  private aliasCount = 0;
  private aliasDepth = 0;
  private readonly active = new Set<ENode>();

  read(root: ENode): unknown {
    return this.value(root);
  }

  private count(node: ENode): void {
    this.decodeCount++;
    if (this.aliasDepth > 0) this.aliasCount++;
    if (
      this.aliasCount > 100 &&
      this.decodeCount > 1000 &&
      this.aliasCount / this.decodeCount > allowedAliasRatio(this.decodeCount)
    ) {
      throw new ReadFailure('the document contains excessive aliasing (kubectl refuses it)', node);
    }
  }

  private value(node: ENode): unknown {
    this.count(node);
    switch (node.kind) {
      case 'scalar':
        if (typeof node.value === 'number' && !Number.isFinite(node.value))
          throw new ReadFailure('.inf and .nan have no JSON form (kubectl cannot read them)', node);
        return node.value;
      case 'alias':
        return this.through(node, (target) => this.value(target));
      case 'seq':
        return node.items.map((item) => this.value(item));
      case 'map': {
        const obj: Obj = {};
        this.into(node, obj);
        return obj;
      }
    }
  }

  private through<T>(alias: ENode, read: (target: ENode) => T): T {
    const target = alias.target;
    if (target === undefined)
      throw new ReadFailure('an alias of an anchor not defined before it', alias);
    if (this.active.has(alias))
      throw new ReadFailure('an anchor whose value contains itself', alias);
    this.active.add(alias);
    this.aliasDepth++;
    try {
      return read(target);
    } finally {
      this.aliasDepth--;
      this.active.delete(alias);
    }
  }

  /** The pairs of a mapping written into `obj`, in order. */
  private into(map: ENode, obj: Obj): void {
    const written = new Set<string>();
    for (const pair of map.pairs) {
      if (pair.merge) {
        this.count(pair.key);
        this.merge(pair.value, obj);
        continue;
      }
      const key = this.key(pair.key);
      if (written.has(key))
        throw new ReadFailure(`duplicated mapping key ${JSON.stringify(key)}`, pair.key);
      written.add(key);
      setKey(obj, key, this.value(pair.value));
    }
  }

  private merge(node: ENode, obj: Obj): void {
    const wantMap = () =>
      new ReadFailure(
        'a merge key (<<) needs a mapping, an alias of one, or a list of those',
        node,
      );
    if (node.kind === 'map') {
      this.count(node);
      this.into(node, obj);
    } else if (node.kind === 'alias') {
      if (node.target !== undefined && node.target.kind !== 'map') throw wantMap();
      this.count(node);
      this.through(node, (target) => {
        this.count(target);
        this.into(target, obj);
      });
    } else if (node.kind === 'seq') {
      for (let i = node.items.length - 1; i >= 0; i--) {
        const item = node.items[i];
        if (item.kind !== 'map' && !(item.kind === 'alias' && item.target?.kind === 'map'))
          throw wantMap();
        this.merge(item, obj);
      }
    } else {
      throw wantMap();
    }
  }

  private key(node: ENode): string {
    this.count(node);
    const scalar = node.kind === 'alias' ? node.target : node;
    if (scalar === undefined)
      throw new ReadFailure('an alias of an anchor not defined before it', node);
    if (scalar.kind !== 'scalar')
      throw new ReadFailure('a mapping or a list as a map key (kubectl cannot read it)', node);
    try {
      return keyString(scalar);
    } catch (err) {
      if (!(err instanceof ScalarError)) throw err;
      throw new ReadFailure(err.message, node);
    }
  }
}

/** go-yaml v2's allowedAliasRatio: 99% of decode operations may come from aliases in small documents, 10% in huge ones. */
function allowedAliasRatio(decodeCount: number): number {
  const low = 400_000;
  const high = 4_000_000;
  if (decodeCount <= low) return 0.99;
  if (decodeCount >= high) return 0.1;
  return 0.99 - (0.89 * (decodeCount - low)) / (high - low);
}

/** The JSON key of a map key node, or undefined when it has none (kubectl refuses such a document). */
export function keyOf(node: ENode): string | undefined {
  const scalar = node.kind === 'alias' ? node.target : node;
  if (scalar?.kind !== 'scalar') return undefined;
  try {
    return keyString(scalar);
  } catch {
    return undefined;
  }
}
