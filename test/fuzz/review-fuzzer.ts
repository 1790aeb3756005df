import fc from 'fast-check';
import { reviewAdmission, type Mode } from '../../src/admission/review';
import { DEFAULT_POLICY } from '../../src/config/schema';
import { compilePolicy, type Policy } from '../../src/engine/policy';
import { Annotations } from '../../src/names';
import { HOSTILE_SHAPES } from '../support/hostile-pods';
import { podArb } from '../support/arbitraries';
import { podReview } from '../support/reviews';
import { applyStrict, decodePatch } from '../support/strict-patch';

/**
 * Malformed and adversarial AdmissionReviews: a valid review of a generated pod, then a few
 * mutations anywhere in it (wrong types, huge arrays, deep nesting, __proto__ and constructor
 * keys, odd Unicode, numbers as strings, deletions). Every one must get a well-formed answer:
 * 200 echoing the uid with a patch that applies strictly and is idempotent, or a 4xx. Never a
 * throw, never a 5xx.
 */

const deep = (depth: number) => {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { nested: v };
  return v;
};

const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '0',
    '1000',
    'true',
    'ALL',
    'CAP_SYS_ADMIN',
    'windows',
    'CREATE',
    'Pod',
    'pods',
    '\u0000',
    '\ud800',
    '𝒜\u202e',
    '',
  ),
  fc.integer({ min: 10, max: 1500 }).map(deep),
  fc
    .integer({ min: 1000, max: 5000 })
    .map((n) => Array.from({ length: n }, (_, i) => (i % 3 ? 'NET_RAW' : i))),
  fc.constant(
    JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'),
  ),
  fc.dictionary(
    fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      'pod-hardener.io/skip',
      'a/b~c',
    ),
    fc.oneof(fc.string(), fc.constant({})),
    { maxKeys: 3 },
  ),
  fc.jsonValue({ maxDepth: 3 }),
);

type Mutation = { at: number; kind: 'replace' | 'delete' | 'inject'; key: string; value: unknown };
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('replace', 'replace', 'delete', 'inject'),
  key: fc.constantFrom(
    '__proto__',
    'constructor',
    'securityContext',
    'capabilities',
    'add',
    'pod-hardener.io/skip',
    'capabilities.pod-hardener.io/app',
    'x',
  ),
  value: weird,
});

/**
 * The places a mutation can hit. Shallow parts of huge values the fuzzer made itself are enough
 * (the first entries of long lists, a bounded depth): walking all of them made the fuzzer, not
 * the webhook, the bottleneck.
 */
function slotsOf(
  node: unknown,
  out: { parent: any; key: string | number }[] = [],
  depth = 0,
  parent?: any,
  key?: string | number,
) {
  if (parent !== undefined) out.push({ parent, key: key! });
  if (typeof node === 'object' && node !== null && depth < 14) {
    const keys = Object.keys(node).slice(0, 24);
    for (const k of keys)
      slotsOf((node as any)[k], out, depth + 1, node, Array.isArray(node) ? Number(k) : k);
  }
  return out;
}

function mutate(review: any, mutations: Mutation[]): any {
  for (const m of mutations) {
    // A fresh copy each time: the same generated value injected twice could otherwise nest in itself.
    const value = JSON.parse(JSON.stringify(m.value) ?? 'null');
    const slots = slotsOf(review);
    if (slots.length === 0) break; // an earlier mutation left nothing to mutate
    const slot = slots[m.at % slots.length];
    if (m.kind === 'delete') {
      if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
      else delete slot.parent[slot.key];
    } else if (m.kind === 'replace') {
      Object.defineProperty(slot.parent, slot.key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      const target = slot.parent[slot.key];
      if (typeof target === 'object' && target !== null && !Array.isArray(target)) {
        Object.defineProperty(target, m.key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
    }
  }
  return review;
}

/**
 * What a hostile pod author sends beside the mutations: a summary annotation of their own, a body
 * that disagrees with the stored pod on pods/ephemeralcontainers, a pod grown in one dimension
 * (test/support/hostile-pods.ts, up to 128 KiB here: the HTTP test and `npm run
 * bench:adversarial` take each to the 3 MiB body limit), and skip annotations in namespaces the
 * operator does and does not allow.
 */
const summaryArb = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc
    .array(
      fc.tuple(
        fc.constantFrom('runAsUser=1000', 'capabilities.drop+=ALL', 'x', ' [', '];'),
        fc.array(fc.constantFrom('pod', 'app', 'a,b', ''), { maxLength: 4 }),
      ),
      { maxLength: 20 },
    )
    .map((groups) => groups.map(([what, ts]) => `${what} [${ts.join(',')}]`).join('; ')),
);

export const fuzzCaseArb = fc.record({
  pod: podArb,
  mutations: fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
  mode: fc.constantFrom<Mode>('enforce', 'audit'),
  operation: fc.constantFrom('CREATE', 'CREATE', 'UPDATE'),
  /** On UPDATE, a stored pod other than the body's (the body's own claims are then not stored). */
  stored: fc.option(podArb, { nil: undefined }),
  summary: fc.option(summaryArb, { nil: undefined }),
  hostile: fc.option(
    fc.record({
      shape: fc.nat({ max: HOSTILE_SHAPES.length - 1 }),
      bytes: fc.constantFrom(1024, 16 * 1024, 128 * 1024),
    }),
    { nil: undefined, freq: 20 },
  ),
  namespace: fc.constantFrom('team', 'legacy-erp', 'default'),
  skipNamespaces: fc.constantFrom<string[]>([], ['*'], ['legacy-*'], ['team', 'other']),
  skip: fc.constantFrom(undefined, 'true', 'false', 'TRUE'),
});

export type FuzzCase = typeof fuzzCaseArb extends fc.Arbitrary<infer T> ? T : never;

/** The JSON text a client would send: the fuzzer works on what crosses the wire. */
export function fuzzBody(c: FuzzCase): { text: string; uid: unknown } {
  const pod = c.hostile ? HOSTILE_SHAPES[c.hostile.shape].build(c.hostile.bytes) : c.pod;
  const annotations = (pod.metadata.annotations ??= {});
  if (c.summary !== undefined) annotations[Annotations.hardened] = c.summary;
  if (c.skip !== undefined) annotations[Annotations.skip] = c.skip;
  const review = podReview(pod, {
    namespace: c.namespace,
    operation: c.operation as 'CREATE',
    subResource: c.operation === 'UPDATE' ? 'ephemeralcontainers' : undefined,
    oldObject: c.stored ?? pod,
  });
  const mutated = mutate(review, c.mutations);
  return { text: JSON.stringify(mutated) ?? 'null', uid: mutated?.request?.uid };
}

export interface FuzzStats {
  cases: number;
  patched: number;
  unchanged: number;
  rejected4xx: number;
}

const policies = new Map<string, Policy>();
/** The default policy with the case's skipNamespaces, compiled once per distinct list. */
function policyFor(skipNamespaces: string[]): Policy {
  const key = skipNamespaces.join(',');
  let policy = policies.get(key);
  if (!policy) policies.set(key, (policy = compilePolicy({ ...DEFAULT_POLICY, skipNamespaces })));
  return policy;
}

/** Checks one case; throws (with the reason) when the webhook's answer breaks a promise. */
export function checkCase(c: FuzzCase, stats: FuzzStats): void {
  // Always JSON (JSON.stringify's output): bodies that are not are the transport's, tested at the
  // http tier. Parsed twice: the review may not change what the test compares against.
  const { text } = fuzzBody(c);
  const body: unknown = JSON.parse(text);
  const sent = JSON.parse(text);
  const policy = policyFor(c.skipNamespaces);
  const outcome = reviewAdmission(body, c.mode, policy);
  stats.cases++;
  const response = (outcome.body as any)?.response;
  if (outcome.status >= 400 && outcome.status < 500) {
    stats.rejected4xx++;
    if (response?.allowed !== false || typeof response?.status?.message !== 'string')
      throw new Error(`4xx without a message: ${JSON.stringify(outcome.body)}`);
    return;
  }
  if (outcome.status !== 200)
    throw new Error(`status ${outcome.status}: ${JSON.stringify(outcome.body).slice(0, 500)}`);
  if (response.uid !== sent.request.uid) throw new Error('uid not echoed');
  if (!response.patch) {
    stats.unchanged++;
    return;
  }
  stats.patched++;
  const ops = decodePatch(response);
  // On pods/ephemeralcontainers the API server keeps only the ephemeral containers of the body.
  if (
    sent.request.operation === 'UPDATE' &&
    ops.some((op: { path: string }) => !op.path.startsWith('/spec/ephemeralContainers/'))
  )
    throw new Error('a pods/ephemeralcontainers patch reaches outside spec.ephemeralContainers');
  const applied = applyStrict(sent.request.object, ops);
  const again = reviewAdmission(
    { ...sent, request: { ...sent.request, object: applied, oldObject: sent.request.oldObject } },
    c.mode,
    policy,
  );
  if ((again.body as any).response?.patch)
    throw new Error('not idempotent: the hardened object yields another patch');
}

export function runFuzz(cases: number, seed?: number): FuzzStats {
  const stats: FuzzStats = { cases: 0, patched: 0, unchanged: 0, rejected4xx: 0 };
  const details = fc.check(
    fc.property(fuzzCaseArb, (c) => checkCase(c, stats)),
    { numRuns: cases, seed, endOnFailure: true },
  );
  if (details.failed) {
    // The counterexample can hold megabytes of nesting: report the seed to replay it and a clipped view.
    const example = fc.stringify(details.counterexample).slice(0, 2000);
    throw new Error(
      `fuzz case failed (seed ${details.seed}, path ${details.counterexamplePath}): ${String(details.errorInstance)}\n${example}`,
    );
  }
  if (({} as any).polluted !== undefined) throw new Error('Object.prototype was polluted');
  return stats;
}
