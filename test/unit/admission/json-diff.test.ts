/**
 * The diff behind every patch (src/admission/json-diff.ts), against two yardsticks: the strict
 * RFC 6902 applier (the patch must turn `before` into `after` exactly) and fast-json-patch's
 * compare, the library it replaced on the review path (same operations, order aside).
 */
import fc from 'fast-check';
import { compare } from 'fast-json-patch';
import { diffJson, type PatchOperation } from '../../../src/admission/json-diff';
import { applyStrict } from '../../support/strict-patch';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** JSON values as the API server sends them: parsed from text, so no -0 and no undefined. */
const json = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as Json);
const jsonObject = fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('a/b', '~0', '__proto__', 'constructor', '')), json, { maxKeys: 6 });

/**
 * `after` built from `before` the way the engine's draft is: most subtrees shared by reference,
 * some edited in a copy, some replaced, removed or added. `choices` drives every decision.
 */
function derive(before: Json, choices: number[], fresh: Json[]): Json {
  let c = 0;
  const next = () => choices[c++ % choices.length]!;
  const newValue = () => fresh[c++ % fresh.length]!;
  const walk = (value: Json): Json => {
    const roll = next();
    if (roll < 3 || value === null || typeof value !== 'object') return roll === 0 ? newValue() : value;
    if (Array.isArray(value)) {
      const copy = value.map((v) => (next() < 5 ? v : walk(v)));
      if (next() < 3) copy.splice(next() % (copy.length + 1), 1);
      if (next() < 3) copy.push(newValue());
      return copy;
    }
    const copy: { [key: string]: Json } = {};
    for (const key of Object.keys(value)) {
      const r = next();
      if (r === 0) continue; // removed
      Object.defineProperty(copy, key, { value: r < 6 ? value[key]! : walk(value[key]!), enumerable: true, writable: true, configurable: true });
    }
    if (next() < 3) copy[`k${next()}`] = newValue();
    return copy;
  };
  return walk(before);
}

const pairs = fc
  .tuple(jsonObject, fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 40 }), fc.array(json, { minLength: 1, maxLength: 5 }))
  .map(([before, choices, fresh]) => ({ before: before as Json, after: derive(before as Json, choices, fresh) }));

const canonical = (ops: readonly object[]) => ops.map((op) => JSON.stringify(op)).sort();

describe('diffJson', () => {
  it('turns before into after under a strict applier, for generated documents sharing structure', () => {
    fc.assert(
      fc.property(pairs, ({ before, after }) => {
        const ops = diffJson(before, after);
        expect(applyStrict(before, ops)).toEqual(after);
      }),
      { numRuns: 500 },
    );
  });

  it('gives the operations fast-json-patch compare gives, order aside', () => {
    fc.assert(
      fc.property(pairs, ({ before, after }) => {
        fc.pre(typeof after === 'object' && after !== null && !Array.isArray(after));
        expect(canonical(diffJson(before, after))).toEqual(canonical(compare(before as object, after as object)));
      }),
      { numRuns: 500 },
    );
  });

  it('stops at shared subtrees without reading them', () => {
    const shared = new Proxy({}, { get: () => { throw new Error('shared subtree was read'); }, ownKeys: () => { throw new Error('shared subtree was walked'); } });
    const before = { big: shared, sc: { runAsUser: 0 } };
    const after = { big: shared, sc: { runAsUser: 1000 } };
    expect(diffJson(before, after)).toEqual([{ op: 'replace', path: '/sc/runAsUser', value: 1000 }]);
  });

  it('escapes / and ~ in keys, and never copies values', () => {
    const value = { type: 'RuntimeDefault' };
    const ops = diffJson({ annotations: {} }, { annotations: { 'a/b~c': 'x' }, seccompProfile: value }) as (PatchOperation & { value?: unknown })[];
    expect(ops).toEqual([
      { op: 'add', path: '/annotations/a~1b~0c', value: 'x' },
      { op: 'add', path: '/seccompProfile', value },
    ]);
    expect(ops[1]!.value).toBe(value);
  });

  it('removes array tail entries from the highest index, so each removal applies in turn', () => {
    expect(diffJson({ add: ['A', 'B', 'C'] }, { add: ['B'] })).toEqual([
      { op: 'remove', path: '/add/2' },
      { op: 'remove', path: '/add/1' },
      { op: 'replace', path: '/add/0', value: 'B' },
    ]);
  });

  it('treats undefined members as absent, and replaces a value that changes kind whole', () => {
    expect(diffJson({ a: 1, b: undefined }, { a: undefined, b: 2 })).toEqual([
      { op: 'remove', path: '/a' },
      { op: 'add', path: '/b', value: 2 },
    ]);
    expect(diffJson({ a: [1] }, { a: { 0: 1 } })).toEqual([{ op: 'replace', path: '/a', value: { 0: 1 } }]);
    expect(diffJson({ a: null }, { a: {} })).toEqual([{ op: 'replace', path: '/a', value: {} }]);
  });
});
