/**
 * The offline tool against kubectl and the webhook, on generated manifests that use what YAML
 * allows and kubectl reads: anchors and aliases (shared labels, a securityContext or a capability
 * list used by several containers, one scalar for two fields), merge keys (before and after the
 * keys they meet, lists of them, a whole container merged from a base), flow and block styles,
 * comments, YAML 1.1 booleans and Go number forms, CRLF, a byte order mark, several documents
 * with `--- # comment` and `...`.
 *
 * For every input: kubectl's own decoder (test/support/kubectl-yaml) reads it; the webhook
 * reviews the pod each workload creates; then the tool's output, read by kubectl's decoder
 * again, must hold exactly what the webhook stores (and everything else as it was), or the tool
 * refuses with exit 2. `--check` on the output must say nothing is left to change, and `--check`
 * on the input must exit 1 whenever the webhook would change a pod.
 */
import fc from 'fast-check';
import YAML, { isMap, isScalar, isSeq, type Node as YamlNode, YAMLMap } from 'yaml';
import { main, type Io } from '../../../src/cli/main';
import { podArb } from '../../support/arbitraries';
import { KubectlYaml, type KubectlRead } from '../../support/kubectl-yaml';
import { policyWith } from '../../support/policy';
import {
  at,
  objectsOfDocuments,
  podFrom,
  stored,
  TEMPLATE,
  withoutTemplate,
} from '../../support/workload-pods';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
const policy = policyWith();

let kubectl: KubectlYaml;
beforeAll(() => {
  kubectl = new KubectlYaml();
});
afterAll(() => kubectl.close());

async function harden(
  args: string[],
  stdin: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { code: -1, stdout: '', stderr: '' };
  const io: Io = {
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    readStdin: async () => stdin,
    env: {},
    readFile: () => {
      throw new Error('no files here');
    },
    writeFile: () => {
      throw new Error('no files here');
    },
    stderrIsTTY: false,
    now: () => Date.now(),
  };
  out.code = await main(['harden', '-f', '-', ...args], io);
  return out;
}

// ---- generated manifests -------------------------------------------------------------------

const WORKLOAD_KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'] as const;

const shareArb = fc.record({
  labels: fc.boolean(),
  securityContext: fc.boolean(),
  merge: fc.constantFrom('none', 'before', 'after', 'list'),
  scalar: fc.boolean(),
  container: fc.boolean(),
  capabilities: fc.boolean(),
});

const layoutArb = fc.record({
  indent: fc.constantFrom(2, 4),
  indentSeq: fc.boolean(),
  flowShare: fc.constantFrom(0, 0.15, 0.5),
  comments: fc.boolean(),
  seed: fc.integer(),
  crlf: fc.boolean(),
  bom: fc.boolean(),
  separator: fc.constantFrom('---\n', '--- # next\n', '...\n---\n'),
  lead: fc.constantFrom('', '# generated\n', '---\n', '--- # first\n'),
  configMap: fc.boolean(),
  booleans: fc.constantFrom('true', 'yes', 'on', 'True', 'y'),
  integers: fc.constantFrom('decimal', '0x', '0o', 'underscore'),
});

/** A deterministic choice per node, so a layout is reproducible from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return (state >>> 8) / 0x1000000;
  };
}

const RAW = /"?__RAW_([A-Za-z0-9_]+)__"?/g;

/** Booleans and integers of security contexts in the YAML 1.1 and Go forms kubectl reads. */
function scalarForms(value: any, layout: any): any {
  if (value === true || value === false) {
    const word = {
      true: ['true', 'false'],
      yes: ['yes', 'no'],
      on: ['on', 'off'],
      True: ['True', 'False'],
      y: ['y', 'n'],
    }[layout.booleans as string]!;
    return `__RAW_${word[value ? 0 : 1]}__`;
  }
  if (Number.isInteger(value) && value >= 0) {
    if (layout.integers === '0x') return `__RAW_0x${value.toString(16)}__`;
    if (layout.integers === '0o') return `__RAW_0o${value.toString(8)}__`;
    if (layout.integers === 'underscore' && value >= 1000)
      return `__RAW_${String(value).replace(/(\d)(?=(\d{3})+$)/g, '$1_')}__`;
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => scalarForms(v, layout));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scalarForms(v, layout)]));
  return value;
}

function workloadOf(kind: (typeof WORKLOAD_KINDS)[number], pod: any): any {
  const metadata = { name: 'w', namespace: 'team', labels: { app: 'w' } };
  const template = { metadata: { ...pod.metadata, labels: { app: 'w' } }, spec: pod.spec };
  const selector = { matchLabels: { app: 'w' } };
  switch (kind) {
    case 'Pod':
      return pod;
    case 'Deployment':
    case 'DaemonSet':
      return { apiVersion: 'apps/v1', kind, metadata, spec: { selector, template } };
    case 'StatefulSet':
      return {
        apiVersion: 'apps/v1',
        kind,
        metadata,
        spec: {
          serviceName: 'w',
          selector,
          template,
          volumeClaimTemplates: [
            {
              metadata: { name: 'data' },
              spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
            },
          ],
        },
      };
    case 'Job':
      return {
        apiVersion: 'batch/v1',
        kind,
        metadata,
        spec: { template: { ...template, spec: { ...template.spec, restartPolicy: 'Never' } } },
      };
    case 'CronJob':
      return {
        apiVersion: 'batch/v1',
        kind,
        metadata,
        spec: {
          schedule: '*/5 * * * *',
          jobTemplate: {
            spec: {
              template: { ...template, spec: { ...template.spec, restartPolicy: 'OnFailure' } },
            },
          },
        },
      };
  }
}

/** Whether a node holds an alias: moved to the front of the document, it would come before its anchor. */
function hasAlias(node: YamlNode): boolean {
  let found = false;
  YAML.visit(node, {
    Alias() {
      found = true;
      return YAML.visit.BREAK;
    },
  });
  return found;
}

/** The containers of a pod spec in the order they are written. */
function containerPaths(doc: YAML.Document, spec: string[]): string[][] {
  const out: string[][] = [];
  for (const list of ['initContainers', 'containers']) {
    const seq = doc.getIn([...spec, list], true);
    if (isSeq(seq)) seq.items.forEach((_, i) => out.push([...spec, list, String(i)]));
  }
  return out;
}

/**
 * The workload as a YAML document with the sharing asked for: anchors, aliases and merge keys put
 * on the Document (the `yaml` package then prints them), and bases for merge keys kept under an
 * extension key written first (`x-defaults`), as people do.
 */
function sharedDocument(object: any, share: any, layout: any): YAML.Document {
  const withDefaults = { 'x-defaults': {}, ...object };
  const doc = new YAML.Document(scalarForms(withDefaults, layout), { version: '1.1', merge: true });
  const spec = [...TEMPLATE[object.kind], 'spec'];
  const containers = containerPaths(doc, spec);
  const node = (path: (string | number)[]) => doc.getIn(path, true) as YamlNode | undefined;
  let anchors = 0;
  const alias = (target: YamlNode) =>
    doc.createAlias(target as any, target.anchor ?? `a${++anchors}`);

  if (share.labels && object.kind !== 'Pod') {
    const labels = node(['metadata', 'labels'])!;
    if (object.spec.selector) doc.setIn(['spec', 'selector', 'matchLabels'], alias(labels));
    doc.setIn([...TEMPLATE[object.kind], 'metadata', 'labels'], alias(labels));
  }
  if (share.scalar) {
    const sc = node([...spec, 'securityContext']);
    if (isMap(sc) && sc.has('runAsUser') && !sc.has('runAsGroup'))
      sc.set('runAsGroup', alias(sc.get('runAsUser', true) as YamlNode));
  }
  if (share.securityContext && containers.length > 1) {
    const first = node([...containers[0], 'securityContext']);
    if (isMap(first))
      for (const c of containers.slice(1)) doc.setIn([...c, 'securityContext'], alias(first));
  } else if (share.capabilities && containers.length > 1) {
    const add = node([...containers[0], 'securityContext', 'capabilities', 'add']);
    if (isSeq(add))
      for (const c of containers.slice(1))
        if (isMap(node([...c, 'securityContext', 'capabilities'])))
          doc.setIn([...c, 'securityContext', 'capabilities', 'add'], alias(add));
  }
  if (share.merge !== 'none' && containers.length > 0) {
    // The last container's securityContext, split: some keys from a base, the rest (and a key
    // that meets one of the base) written beside the merge key.
    const path = [...containers[containers.length - 1], 'securityContext'];
    const sc = node(path);
    if (isMap(sc) && sc.items.length > 0 && !sc.anchor && !hasAlias(sc)) {
      const pairs = [...sc.items];
      const cut = Math.ceil(pairs.length / 2);
      const base = new YAMLMap();
      base.items.push(...pairs.slice(0, cut));
      const extra = new YAMLMap();
      extra.items.push(
        doc.createPair('privileged', '__RAW_false__'),
        doc.createPair('runAsUser', 0),
      );
      doc.setIn(['x-defaults', 'base'], base);
      doc.setIn(['x-defaults', 'extra'], extra);
      const merged = new YAMLMap();
      const mergeValue =
        share.merge === 'list' ? doc.createNode([alias(base), alias(extra)]) : alias(base);
      const rest = pairs.slice(cut);
      if (!rest.some((p) => isScalar(p.key) && p.key.value === 'privileged'))
        rest.push(doc.createPair('privileged', '__RAW_true__'));
      const mergePair = doc.createPair('<<', mergeValue);
      merged.items.push(
        ...(share.merge === 'before' ? [mergePair, ...rest] : [...rest, mergePair]),
      );
      doc.setIn(path, merged);
    }
  }
  if (share.container && containers.length > 0) {
    // A container merged whole from a base: its image and securityContext from there.
    const path = containers[containers.length - 1];
    const container = node(path);
    if (isMap(container) && !container.anchor && !hasAlias(container)) {
      const base = new YAMLMap();
      for (const key of ['image', 'securityContext']) {
        const value = container.get(key, true);
        if (value !== undefined) base.set(key, value);
        container.delete(key);
      }
      doc.setIn(['x-defaults', 'container'], base);
      container.items.unshift(doc.createPair('<<', alias(base)));
    }
  }
  if ((node(['x-defaults']) as YAMLMap).items.length === 0) doc.deleteIn(['x-defaults']);

  const next = random(layout.seed);
  YAML.visit(doc, {
    Map(_, n) {
      if (next() < layout.flowShare) n.flow = true;
    },
    Seq(_, n) {
      if (next() < layout.flowShare) n.flow = true;
    },
    Pair(_, pair) {
      if (!layout.comments || !isScalar(pair.key)) return;
      const r = next();
      if (r < 0.1) pair.key.commentBefore = ` about ${String(pair.key.value)}`;
      else if (r < 0.2 && isScalar(pair.value)) pair.value.comment = ' why';
    },
  });
  return doc;
}

const caseArb = fc.record({
  pod: podArb,
  kind: fc.constantFrom(...WORKLOAD_KINDS),
  share: shareArb,
  layout: layoutArb,
});

function manifestText(c: any): string {
  const doc = sharedDocument(workloadOf(c.kind, c.pod), c.share, c.layout);
  const docs = [
    doc.toString({ indent: c.layout.indent, indentSeq: c.layout.indentSeq, lineWidth: 0 }),
  ];
  if (c.layout.configMap)
    docs.push(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: &d {a: "yes"}\nbinaryData: {}\n',
    );
  let text = c.layout.lead + docs.join(c.layout.separator);
  text = text.replace(RAW, '$1');
  if (c.layout.crlf) text = text.replace(/\n/g, '\r\n');
  return c.layout.bom ? `\ufeff${text}` : text;
}

// ---- the property ---------------------------------------------------------------------------

/** The exit code, with what the tool said when it is not the one expected. */
function expectExit(result: { code: number; stderr: string }, code: number, input: string): void {
  expect({
    input,
    code: result.code,
    ...(result.code === code ? {} : { stderr: result.stderr }),
  }).toEqual({ input, code });
}

const docsOf = (read: KubectlRead, what: string): any[] => {
  if ('error' in read) throw new Error(`kubectl cannot read the ${what}: ${read.error}`);
  return read.docs;
};

const tally = {
  cases: 0,
  unreadable: 0,
  refused: 0,
  refusedPlain: 0,
  changed: 0,
  merges: 0,
  aliases: 0,
};

describe('differential: the tool, kubectl and the webhook agree on generated manifests', () => {
  it('the output holds what the webhook stores, or the tool refuses; --check is right on both sides', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        tally.cases++;
        const input = manifestText(c);
        if (input.includes('<<')) tally.merges++;
        if (/\*a\d/.test(input)) tally.aliases++;
        if (
          process.env.DIFFERENTIAL_SAMPLE &&
          tally.cases === Number(process.env.DIFFERENTIAL_SAMPLE)
        )
          process.stderr.write(`${input}\n=====\n${(await harden([], input)).stdout}\n`);
        const kubectlInput = await kubectl.read(input);
        if ('error' in kubectlInput) {
          // What kubectl cannot read is not a manifest; the tool must not write it as one.
          tally.unreadable++;
          expect((await harden([], input)).code).toBe(2);
          return;
        }
        const before = objectsOfDocuments(kubectlInput.docs);
        const webhook = before.map((o) =>
          o.kind in TEMPLATE ? stored(podFrom(o), policy) : undefined,
        );
        const invalid = webhook.some((w) => w !== undefined && w.status !== 200);
        const webhookChanges = webhook.some((w) => w?.patched === true);

        const check = await harden(['--check'], input);
        if (invalid) {
          expectExit(check, 2, input);
          return;
        }
        // A CI gate never passes a pod the webhook would change.
        expectExit(check, webhookChanges ? 1 : 0, input);

        const run = await harden([], input);
        if (run.code === 2) {
          tally.refused++;
          const plain = !/[&*]a\d|<</.test(input);
          if (plain) tally.refusedPlain++;
          expect(run.stdout).toBe('');
          expect(run.stderr).toMatch(/cannot write the hardened document back/);
          return;
        }
        expectExit(run, 0, input);
        if (webhookChanges) tally.changed++;
        else expect(run.stdout).toBe(input);

        const after = objectsOfDocuments(docsOf(await kubectl.read(run.stdout), 'output'));
        expect(after.length).toBe(before.length);
        after.forEach((o, i) => {
          const w = webhook[i];
          if (w === undefined) {
            expect(o).toEqual(before[i]);
            return;
          }
          const pod = podFrom(o);
          expect({
            input,
            output: run.stdout,
            spec: pod.spec,
            annotations: pod.metadata.annotations,
          }).toEqual({
            input,
            output: run.stdout,
            spec: w.pod.spec,
            annotations: w.pod.metadata.annotations,
          });
          expect(withoutTemplate(o)).toEqual(withoutTemplate(before[i]));
          expect(at(o, TEMPLATE[o.kind])?.metadata?.labels).toEqual(
            at(before[i], TEMPLATE[o.kind])?.metadata?.labels,
          );
        });
        expect(await harden(['--check'], run.stdout)).toMatchObject({
          code: 0,
          stdout: 'nothing to change\n',
        });
      }),
      { numRuns: RUNS },
    );
    // The property holds only if it was tested: most inputs readable and rewritten, and nothing
    // without anchors, aliases or merge keys refused.
    if (process.env.DIFFERENTIAL_TALLY) process.stderr.write(`${JSON.stringify(tally)}\n`);
    expect(tally.unreadable).toBeLessThan(tally.cases * 0.05);
    expect(tally.refusedPlain).toBe(0);
    expect(tally.refused).toBeLessThan(tally.cases * 0.1);
    expect(tally.changed).toBeGreaterThan(tally.cases * 0.5);
    expect(tally.merges).toBeGreaterThan(tally.cases * 0.2);
    expect(tally.aliases).toBeGreaterThan(tally.cases * 0.3);
  });
});
