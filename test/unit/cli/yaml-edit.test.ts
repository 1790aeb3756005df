/**
 * The text editor of `harden` over layouts the corpus does not have, and a property: for
 * generated pods written in generated layouts, the edited text holds exactly the engine's result,
 * without falling back to printing the document again.
 */
import fc from 'fast-check';
import YAML from 'yaml';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hardenManifests, ManifestError } from '../../../src/cli/manifests/harden-manifests';
import { harden } from '../../../src/engine/harden';
import { Annotations } from '../../../src/names';
import { podArb } from '../../support/arbitraries';
import { policyWith } from '../../support/policy';
import { lineReplacements, splice, type Edit } from '../../../src/cli/manifests/yaml/edit';
import { SeparatorError, splitDocuments } from '../../../src/cli/manifests/yaml/split';
import { KubectlYaml } from '../../support/kubectl-yaml';

const policy = policyWith();
const run = (text: string) => hardenManifests(text, { policy, source: 'test.yaml' });
const hardenedPod = (pod: unknown, namespace = 'default') =>
  harden(pod, policy, { scope: { kind: 'create' }, namespace }).pod;

/** A Pod manifest whose container `app` has the given securityContext text (at 4 spaces). */
const podWith = (sc: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: app\n    image: app\n${sc}`;

describe('splitDocuments: as kubectl splits a stream', () => {
  const parts = (text: string) =>
    splitDocuments(text).map((c) => [text.slice(c.start, c.end), c.marker]);

  it('at every line that starts with ---, which belongs to no document; ... stays in its document', () => {
    expect(parts('# head\n---\na: 1\n--- # two\n---\nb: 2\n...\n# between\n---\nc: 3')).toEqual([
      ['# head\n', false],
      ['a: 1\n', true],
      ['', true],
      ['b: 2\n...\n# between\n', true],
      ['c: 3', true],
    ]);
  });

  it('not at --- inside a line or an indented block; kubectl refuses text after --- on its line', () => {
    expect(parts('a: |\n  ---\nb: x---\n')).toEqual([['a: |\n  ---\nb: x---\n', false]]);
    expect(() => splitDocuments('a: 1\n--- {c: 1}\n')).toThrow(SeparatorError);
    expect(() => splitDocuments('---x: 1\n')).toThrow(/text after "---"/);
  });
});

describe('the text editor', () => {
  it.each([
    ['an empty value', '    securityContext:\n'],
    ['null', '    securityContext: null\n'],
    ['an empty flow mapping', '    securityContext: {}   # to do\n'],
    ['an empty flow mapping on the next line (Helm)', '    securityContext:\n      {}\n'],
  ])('writes a securityContext where there was %s, as a block', (_what, sc) => {
    const out = run(podWith(sc)).output;
    expect(out).toContain('    securityContext:');
    expect(out).toContain(
      '      capabilities:\n        drop:\n        - ALL\n      allowPrivilegeEscalation: false\n',
    );
    expect(YAML.parse(out).spec.containers[0].securityContext).toEqual({
      capabilities: { drop: ['ALL'] },
      allowPrivilegeEscalation: false,
    });
    if (sc.includes('# to do')) expect(out).toMatch(/\n {4}securityContext: +# to do\n/);
  });

  it('edits a flow mapping in place, as a flow mapping', () => {
    const out = run(podWith('    securityContext: {runAsUser: 0, privileged: true}\n')).output;
    expect(out).toContain(
      '    securityContext: {runAsUser: 1000, privileged: false, runAsGroup: 3000, capabilities: {drop: [ALL]}, allowPrivilegeEscalation: false}\n',
    );
  });

  it('keeps the quotes of a replaced string, and the comments of kept list entries', () => {
    const sc = [
      '    securityContext:',
      '      seccompProfile:',
      "        type: 'Unconfined'   # legacy",
      '      capabilities:',
      '        add:',
      '        - "SYS_TIME"  # ntp',
      '        - CHOWN       # entrypoint chowns /data',
      '        drop: [NET_RAW]',
      '',
    ].join('\n');
    const text = podWith(sc).replace(
      '  name: p\n',
      `  name: p\n  annotations:\n    ${Annotations.allowedCapabilities}: CHOWN\n`,
    );
    const out = run(text).output;
    expect(out).toContain("        type: 'RuntimeDefault' # legacy\n");
    expect(out).not.toContain('- "SYS_TIME"');
    expect(out).toContain(
      '        add:\n        - CHOWN       # entrypoint chowns /data\n        drop: [NET_RAW, ALL]\n',
    );
  });

  it('follows the layout of the document: 4-space indentation, indented lists', () => {
    const text =
      'apiVersion: v1\nkind: Pod\nmetadata:\n    name: p\nspec:\n    containers:\n        - name: app\n          image: app\n          env:\n              - name: A\n                value: "1"\n';
    const out = run(text).output;
    expect(out).toContain(
      '          securityContext:\n              capabilities:\n                  drop:\n                      - ALL\n              allowPrivilegeEscalation: false\n',
    );
    expect(out).toContain('    securityContext:\n        runAsUser: 1000\n');
  });

  it('keeps CRLF line ends, and a file without a final line end', () => {
    const text = podWith('    securityContext:\n      runAsUser: 0').replace(/\n/g, '\r\n');
    const out = run(text).output;
    expect(out.replace(/\r\n/g, '')).not.toContain('\n');
    expect(YAML.parse(out).spec.containers[0].securityContext.runAsUser).toBe(1000);
  });

  it('inserts after a block scalar that ends the mapping, without cutting it', () => {
    const text = podWith(
      '    args:\n    - |\n      # not a comment: part of the script\n      run\n',
    );
    const parsed = YAML.parse(run(text).output);
    expect(parsed.spec.containers[0].args).toEqual(['# not a comment: part of the script\nrun\n']);
    expect(parsed.spec.containers[0].securityContext.allowPrivilegeEscalation).toBe(false);
  });

  it('a document written as JSON inside a YAML stream stays flow style', () => {
    const text =
      '---\n{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "a"}]}}\n';
    const out = run(text).output;
    expect(YAML.parse(out)).toEqual(hardenedPod(JSON.parse(text.slice(4))));
    expect(out.split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('keeps a byte order mark, and reads YAML in flow style that is not JSON', () => {
    const bom = run(`\ufeff${podWith('')}`).output;
    expect(bom.startsWith('\ufeffapiVersion: v1\n')).toBe(true);
    expect(
      YAML.parse(bom.slice(1)).spec.containers[0].securityContext.allowPrivilegeEscalation,
    ).toBe(false);
    const flow = run(
      '{kind: Pod, apiVersion: v1, metadata: {name: p}, spec: {containers: [{name: a, image: a}]}}\n',
    );
    expect(flow.format).toBe('yaml');
    expect(YAML.parse(flow.output).spec.securityContext.runAsNonRoot).toBe(true);
    expect(() => run('{"kind": "Pod",\n  "spec": [}\n')).toThrow(
      /test\.yaml:2:\d+: not valid JSON/,
    );
  });

  it('reads booleans as kubectl does (YAML 1.1): privileged: yes is privileged', () => {
    const out = run(podWith('    securityContext:\n      privileged: yes   # sic\n')).output;
    expect(out).toContain('      privileged: false # sic\n');
    const annotated = run(
      podWith('').replace('  name: p\n', '  name: p\n  annotations:\n    note: "yes"\n'),
    );
    expect(annotated.output).toContain('    note: "yes"\n');
  });

  it('a tagged mapping is edited in place (go-yaml ignores tags on collections)', () => {
    const result = run(podWith('    securityContext: !!map\n      runAsUser: 0\n'));
    expect(result.output).toContain('    securityContext: !!map\n      runAsUser: 1000\n');
    expect(result.notes).toEqual([]);
  });

  it('--- # comment and ... document ends are kept, and the documents between them edited in place', () => {
    const text = `--- # the pod\n${podWith('    securityContext:\n      runAsUser: 0\n')}...\n--- # a map\napiVersion: v1\nkind: ConfigMap\n...\n`;
    const result = run(text);
    expect(result.notes).toEqual([]);
    expect(result.output.startsWith('--- # the pod\napiVersion: v1\n')).toBe(true);
    expect(result.output).toContain('      runAsUser: 1000\n');
    expect(result.output.endsWith('...\n--- # a map\napiVersion: v1\nkind: ConfigMap\n...\n')).toBe(
      true,
    );
  });
});

describe('lineReplacements', () => {
  // The end of a document closes several mappings at once: a container's securityContext and the
  // pod spec both get their new lines there. The patch's operation order must not decide which
  // comes first (the inner mapping continues before the outer one goes on).
  const src = 'spec:\n  containers:\n  - name: app\n    securityContext:\n      privileged: true\n';
  const inner: Edit = {
    start: src.length,
    end: src.length,
    text: '      allowPrivilegeEscalation: false\n',
  };
  const outer: Edit = {
    start: src.length,
    end: src.length,
    text: '  securityContext:\n    runAsNonRoot: true\n',
  };
  it.each([
    ['inner first', [inner, outer]],
    ['outer first', [outer, inner]],
  ])('insertions at one place: the deeper first, whatever their order (%s)', (_order, edits) => {
    const out = splice(src, lineReplacements(src, edits));
    expect(YAML.parse(out)).toEqual({
      spec: {
        containers: [
          { name: 'app', securityContext: { privileged: true, allowPrivilegeEscalation: false } },
        ],
        securityContext: { runAsNonRoot: true },
      },
    });
  });
});

describe('property: generated pods in generated layouts', () => {
  const RUNS = Number(process.env.PROPERTY_RUNS ?? 200);

  /** A deterministic choice per collection, so a layout is reproducible from its seed. */
  function layout(doc: YAML.Document, seed: number, flowShare: number): void {
    let state = seed >>> 0 || 1;
    const next = () => {
      state = (state * 1103515245 + 12345) >>> 0;
      return (state >>> 8) / 0x1000000;
    };
    YAML.visit(doc, {
      Map(_, node) {
        if (next() < flowShare) node.flow = true;
      },
      Seq(_, node) {
        if (next() < flowShare) node.flow = true;
      },
    });
    // Comments after keys of block collections (yaml would put a flow value or a scalar on the
    // line below such a key, at the key's indentation, which YAML parsers rightly refuse).
    YAML.visit(doc, {
      Pair(_, pair) {
        const value = pair.value;
        if (
          YAML.isScalar(pair.key) &&
          YAML.isCollection(value) &&
          !value.flow &&
          value.items.length > 0 &&
          next() < 0.3
        ) {
          pair.key.comment = ` about ${String(pair.key.value)}`;
        }
      },
    });
  }

  it('the edited text holds exactly the engine result, and is edited in place (never written out in full)', () => {
    fc.assert(
      fc.property(
        // The editor cannot yet append a mapping to an existing block list (the port sysctl
        // after the pod's own sysctls): such a document is printed again, as the next test shows.
        podArb.filter((p) => !Array.isArray(p.spec.securityContext?.sysctls)),
        fc.record({
          kind: fc.constantFrom('Pod', 'Deployment', 'CronJob'),
          indent: fc.constantFrom(2, 4),
          indentSeq: fc.boolean(),
          flowShare: fc.constantFrom(0, 0.1, 0.5),
          seed: fc.integer(),
          crlf: fc.boolean(),
        }),
        (pod, style) => {
          const template = { metadata: pod.metadata, spec: pod.spec };
          const object =
            style.kind === 'Pod'
              ? pod
              : style.kind === 'Deployment'
                ? {
                    apiVersion: 'apps/v1',
                    kind: 'Deployment',
                    metadata: { name: 'd', namespace: 'team' },
                    spec: { selector: {}, template },
                  }
                : {
                    apiVersion: 'batch/v1',
                    kind: 'CronJob',
                    metadata: { name: 'c', namespace: 'team' },
                    spec: { schedule: '* * * * *', jobTemplate: { spec: { template } } },
                  };
          // Written as kubectl reads it (YAML 1.1): the string "yes" quoted.
          const doc = new YAML.Document(object, { version: '1.1' });
          layout(doc, style.seed, style.flowShare);
          let text = `# generated\n---\n${doc.toString({ indent: style.indent, indentSeq: style.indentSeq })}---\napiVersion: v1\nkind: ConfigMap\n`;
          if (style.crlf) text = text.replace(/\n/g, '\r\n');

          const result = hardenManifests(text, { policy, source: 'gen.yaml' });
          expect(result.notes.filter((n) => n.message.includes('written out in full'))).toEqual([]);
          const docs = YAML.parseAllDocuments(result.output).map((d) => d.toJS());
          const hardenedTemplate = hardenedPod(
            structuredClone(style.kind === 'Pod' ? pod : template),
            'team',
          );
          const got =
            style.kind === 'Pod'
              ? docs[0]
              : style.kind === 'Deployment'
                ? docs[0].spec.template
                : docs[0].spec.jobTemplate.spec.template;
          expect(got.spec).toEqual(hardenedTemplate.spec);
          expect(got.metadata).toEqual(hardenedTemplate.metadata);
          expect(docs[1]).toEqual({ apiVersion: 'v1', kind: 'ConfigMap' });
          // Untouched lines stay: every line of the input not in a securityContext is still there.
          expect(
            result.output.endsWith(
              '---\r\napiVersion: v1\r\nkind: ConfigMap\r\n'.replace(/\r/g, style.crlf ? '\r' : ''),
            ),
          ).toBe(true);
          // Idempotent.
          expect(hardenManifests(result.output, { policy, source: 'gen.yaml' }).changed).toBe(
            false,
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a pod that sets sysctls itself: the port sysctl is appended to its list in place', () => {
    const text = podWith('    ports:\n    - containerPort: 80\n').replace(
      'spec:\n',
      'spec:\n  securityContext:\n    sysctls:\n    - name: net.ipv4.ping_group_range\n      value: "0 2147483647"\n',
    );
    const result = run(text);
    const [doc] = YAML.parseAllDocuments(result.output).map((d) => d.toJS());
    expect(doc.spec).toEqual(hardenedPod(YAML.parse(text)).spec);
    expect(doc.spec.securityContext.sysctls).toEqual([
      { name: 'net.ipv4.ping_group_range', value: '0 2147483647' },
      { name: 'net.ipv4.ip_unprivileged_port_start', value: '0' },
    ]);
    expect(result.output).toContain(
      '    - name: net.ipv4.ping_group_range\n      value: "0 2147483647"\n',
    );
  });
});

describe('merge keys and aliases, as kubectl reads them (checked with its own decoder)', () => {
  let kubectl: KubectlYaml;
  beforeAll(() => {
    kubectl = new KubectlYaml();
  });
  afterAll(() => kubectl.close());

  /** A Pod whose pod-level securityContext is already hardened, so only container `app` (and `b`) change. */
  const pod = (containers: string, top = '') =>
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n${top}spec:\n  securityContext: {runAsUser: 1000, runAsGroup: 3000, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}\n  containers:\n  - name: app\n    image: app\n${containers}`;
  const HARDENED = {
    runAsUser: 1000,
    capabilities: { drop: ['ALL'] },
    allowPrivilegeEscalation: false,
  };

  async function containersRead(text: string): Promise<any[]> {
    const read = await kubectl.read(text);
    if ('error' in read) throw new Error(read.error);
    return (read.docs[0] as any).spec.containers.map((c: any) => c.securityContext);
  }

  it('a value from a merge key: kubectl reads runAsUser 0, so --check fails and the value is overridden after the merge', async () => {
    const text = pod(
      '    securityContext:\n      <<: *base\n      privileged: true   # needed?\n',
      'x-base: &base\n  runAsUser: 0\n  readOnlyRootFilesystem: true\n',
    );
    expect(await containersRead(text)).toEqual([
      { runAsUser: 0, readOnlyRootFilesystem: true, privileged: true },
    ]);
    expect(
      hardenManifests(text, { policy, rewrite: false }).documents[0].changes.map((c) => c.field),
    ).toContain('securityContext.runAsUser');
    const result = run(text);
    expect(result.output).toContain(
      '    securityContext:\n      <<: *base\n      privileged: false  # needed?\n      runAsUser: 1000\n      capabilities:\n        drop:\n        - ALL\n      allowPrivilegeEscalation: false\n',
    );
    expect(result.output).toContain('x-base: &base\n  runAsUser: 0\n');
    expect(result.notes.map((n) => n.message)).toEqual([
      'hardened; written out explicitly, as they came from anchors, aliases or merge keys: /spec/containers/0/securityContext/runAsUser',
    ]);
    expect(await containersRead(result.output)).toEqual([
      { ...HARDENED, readOnlyRootFilesystem: true, privileged: false },
    ]);
    expect(run(result.output).changed).toBe(false);
  });

  it('a merge key after the key it meets wins (go-yaml): the mapping is written out', async () => {
    const text = pod(
      '    securityContext:\n      runAsUser: 1000\n      <<: *base\n',
      'x-base: &base\n  runAsUser: 0\n',
    );
    expect(await containersRead(text)).toEqual([{ runAsUser: 0 }]);
    const result = run(text);
    expect(result.output).toContain(
      '    securityContext:\n      runAsUser: 1000\n      capabilities:\n        drop:\n        - ALL\n      allowPrivilegeEscalation: false\n',
    );
    expect(await containersRead(result.output)).toEqual([HARDENED]);
  });

  it('an inline merge key in a flow mapping: the mapping is printed again', async () => {
    const result = run(
      pod(
        '    securityContext: {<<: {runAsUser: 0, readOnlyRootFilesystem: true}, privileged: true}\n',
      ),
    );
    expect(result.output).toContain(
      '    securityContext: {runAsUser: 1000, readOnlyRootFilesystem: true, privileged: false, capabilities: {drop: [ALL]}, allowPrivilegeEscalation: false}\n',
    );
    expect(await containersRead(result.output)).toEqual([
      { ...HARDENED, readOnlyRootFilesystem: true, privileged: false },
    ]);
  });

  it('a securityContext shared by an alias and hardened alike stays shared', async () => {
    const result = run(
      pod(
        '    securityContext: &sc\n      runAsUser: 0\n  - name: b\n    image: b\n    securityContext: *sc\n',
      ),
    );
    expect(result.output).toContain(
      '    securityContext: &sc\n      runAsUser: 1000\n      capabilities:\n        drop:\n        - ALL\n      allowPrivilegeEscalation: false\n  - name: b\n    image: b\n    securityContext: *sc\n',
    );
    expect(result.notes).toEqual([]);
    expect(await containersRead(result.output)).toEqual([HARDENED, HARDENED]);
  });

  it('an alias whose places harden differently is written out where it was', async () => {
    const text = pod(
      '    securityContext: &sc\n      capabilities: {add: [NET_ADMIN]}\n  - name: b\n    image: b\n    securityContext: *sc\n',
    ).replace(
      '  name: p\n',
      `  name: p\n  annotations:\n    ${Annotations.containerCapabilitiesPrefix}b: NET_ADMIN\n`,
    );
    const result = hardenManifests(text, {
      policy: policyWith({ capabilityCeiling: ['NET_ADMIN'] }),
      source: 'test.yaml',
    });
    expect(result.output).toContain(
      '    securityContext: &sc\n      capabilities: {drop: [ALL]}\n      allowPrivilegeEscalation: false\n',
    );
    expect(result.output).toContain(
      '  - name: b\n    image: b\n    securityContext:\n      capabilities:\n        add:\n        - NET_ADMIN\n        drop:\n        - ALL\n      allowPrivilegeEscalation: false\n',
    );
    expect(result.notes.map((n) => n.message)).toEqual([
      expect.stringContaining('/spec/containers/1/securityContext'),
    ]);
    const [app, b] = await containersRead(result.output);
    expect(app.capabilities).toEqual({ drop: ['ALL'] });
    expect(b.capabilities).toEqual({ add: ['NET_ADMIN'], drop: ['ALL'] });
  });

  it('an alias of a scalar that changes in one place only is written out there', async () => {
    const sc = '      capabilities: {drop: [ALL]}\n      allowPrivilegeEscalation: false\n';
    const result = run(
      pod(
        `    securityContext:\n${sc}      runAsUser: &u 0\n  - name: b\n    image: b\n    securityContext:\n${sc}      runAsGroup: *u\n`,
      ),
    );
    expect(result.output).toContain('      runAsUser: &u 1000\n');
    expect(result.output).toContain('      runAsGroup: 3000\n');
    const [app, b] = await containersRead(result.output);
    expect([app.runAsUser, b.runAsGroup]).toEqual([1000, 3000]);
  });
});

describe('property: mangled manifests get a clear error or a result, never a crash', () => {
  const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
  const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'manifests');
  const texts = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(join(FIXTURES, f), 'utf8'));
  // Characters that mean something to YAML, put anywhere: structure, anchors, merge keys, quotes.
  const junk = fc.constantFrom(
    '&a ',
    '*a',
    '<<: *a\n',
    '<<: ',
    ': ',
    '- ',
    '\n',
    '  ',
    '\t',
    '"',
    "'",
    '{',
    '}',
    '[',
    ']',
    ',',
    '#',
    '!!map ',
    '---\n',
    '...\n',
    '|\n',
    '? ',
    '%YAML 1.1\n',
    '\ufeff',
    '\r\n',
  );

  it('hardenManifests throws only ManifestError, and what it writes needs no further hardening', () => {
    fc.assert(
      fc.property(
        fc.nat(texts.length - 1),
        fc.array(fc.tuple(fc.nat(), junk, fc.nat({ max: 3 })), { minLength: 1, maxLength: 4 }),
        (which, edits) => {
          let text = texts[which];
          for (const [at, insert, cut] of edits) {
            const i = at % (text.length + 1);
            text = text.slice(0, i) + insert + text.slice(i + cut);
          }
          let result;
          try {
            result = hardenManifests(text, { policy, source: 'mangled.yaml' });
          } catch (err) {
            expect(err).toBeInstanceOf(ManifestError);
            expect((err as ManifestError).messages.every((m) => m.startsWith('mangled.yaml'))).toBe(
              true,
            );
            return;
          }
          // Whatever was written hardens to nothing more.
          expect(
            hardenManifests(result.output, { policy, source: 'mangled.yaml', rewrite: false })
              .changed,
          ).toBe(false);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
