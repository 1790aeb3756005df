/**
 * The offline tool reads YAML as kubectl reads it: the same documents, scalars, merge keys and
 * aliases, checked against kubectl's own decoder (test/support/kubectl-yaml, Go), on tricky
 * inputs written here and on generated scalars.
 */
import fc from 'fast-check';
import { readDocument } from '../../../src/cli/manifests/yaml/read';
import { splitDocuments } from '../../../src/cli/manifests/yaml/split';
import { KubectlYaml } from '../../support/kubectl-yaml';

let kubectl: KubectlYaml;
beforeAll(() => {
  kubectl = new KubectlYaml();
});
afterAll(() => kubectl.close());

/** What the tool reads: the documents with content, or the first error. */
function toolRead(text: string): { docs: unknown[] } | { error: string } {
  const docs: unknown[] = [];
  let chunks;
  try {
    chunks = splitDocuments(text);
  } catch (err) {
    return { error: (err as Error).message };
  }
  for (const chunk of chunks) {
    const read = readDocument(text, chunk.start, chunk.end);
    if (read.errors.length > 0) return { error: read.errors[0].message };
    if (read.data !== undefined && read.data !== null) docs.push(read.data);
  }
  return { docs };
}

/**
 * The tool reads the same data, or both refuse the text; `refused` for the few texts kubectl
 * reads that the tool deliberately refuses.
 */
async function expectSameAsKubectl(
  text: string,
  expect_: 'same' | 'refused' = 'same',
): Promise<void> {
  const theirs = await kubectl.read(text);
  const ours = toolRead(text);
  if (expect_ === 'refused') {
    expect({ text, kubectl: 'docs' in theirs, tool: 'error' in ours }).toEqual({
      text,
      kubectl: true,
      tool: true,
    });
  } else if ('error' in theirs) {
    expect({ text, error: 'error' in ours }).toEqual({ text, error: true });
  } else {
    expect({ text, ours }).toEqual({ text, ours: theirs });
  }
}

describe('documents, scalars, merge keys and aliases as kubectl reads them', () => {
  it.each(
    (
      [
        [
          'YAML 1.1 booleans and nulls',
          'a: [y, Y, yes, n, NO, on, Off, true, False, ~, null, Null, NULL, "", tRue, yES]\n',
        ],
        [
          'Go number syntax',
          'a: [0o17, 0O17, 017, 08, 09.5, 0x1F, -0x10, 0b101, 1_000, +12, -0, .5, +.5, -.5e3, 1e3, 1E+3, 1., 0x, 0b, 1e400]\n',
        ],
        [
          'integers at the edges of int64 and uint64',
          'a: [9223372036854775807, -9223372036854775808, -9223372036854775809, 18446744073709551615, 18446744073709551616]\n',
        ],
        [
          'timestamps stay text',
          'a: [2001-12-14, 2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43.10]\n',
        ],
        [
          'quoted and block scalars are strings',
          'a: ["yes", \'0x1\']\nb: |\n  on\nc: >-\n  1\n  2\n',
        ],
        [
          'explicit tags',
          'a: !!str 0\nb: !!int "3"\nc: !!float "3"\nd: !!bool "yes"\ne: !foo 12\nf: !!binary aGk=\ng: !!null ""\nh: ! 12\n',
        ],
        ['a tag that does not fit the value', 'a: !!int abc\n'],
        [
          'keys that are not strings',
          'yes: 1\n1: 2\n0x10: 3\nfalse: 4\n1e3: 5\n1e6: 6\n0.1: 7\n-.5e-5: 8\n.inf: 9\n1.5e-324: 10\n123456789.0: 11\n',
        ],
        ['a null key', '~: 1\n'],
        [
          'merge keys override the keys before them',
          'base: &b {x: 1, y: 2}\nbefore: {x: 9, <<: *b}\nafter: {<<: *b, x: 9}\n',
        ],
        [
          'a list of merged mappings: the first wins',
          'a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc: {<<: [*a, *b], z: 3}\n',
        ],
        [
          'an inline merged mapping, a merge inside a merged mapping',
          'a: {<<: {x: 1, <<: {y: 2}}, z: 3}\n',
        ],
        ['a quoted << is an ordinary key', 'a: {"<<": {x: 1}}\n'],
        ['a merge of a scalar', 'a: {<<: 1}\n'],
        [
          'aliases of scalars, lists and mappings',
          'a: &s text\nb: *s\nc: &l [1, 2]\nd: *l\ne: &m {k: v}\nf: [*m, *m]\n',
        ],
        ['an anchor redefined', 'a: &x 1\nb: *x\nc: &x 2\nd: *x\n'],
        ['an anchor that contains itself', 'a: &x [*x]\n'],
        ['duplicate keys (kubectl keeps the last one silently)', 'a: 1\na: 2\n', 'refused'],
        [
          'keys that only the conversion to text makes equal (kubectl keeps one at random)',
          '1: a\n"1": b\n',
          'refused',
        ],
        ['a lone - in a flow list (the yaml package refuses it)', 'a: [-]\n', 'refused'],
        [
          '--- with a comment, ... document ends, empty documents',
          '# head\n--- # first\na: 1\n...\n---\n---\n# only a comment\n---\nb: 2\n...\n',
        ],
        ['text after ... up to the next ---', 'a: 1\n...\nb: 2\n---\nc: 3\n'],
        ['content on the --- line', '--- {a: 1}\n'],
        ['CRLF and a byte order mark', '\ufeffa: 1\r\nb:\r\n  - on\r\n---\r\nc: 2\r\n'],
        ['JSON', '{"a": 1, "b": [true, null]}'],
        ['plain scalars over several lines', 'a: one\n  two\n  three\nb: "x\n  y"\n'],
        ['escapes', 'a: "\\x41\\u263a\\t\\N\\_\\L"\n'],
      ] as [string, string, ('same' | 'refused')?][]
    ).map(([what, text, expected]) => [what, text, expected ?? 'same'] as const),
  )('%s', async (_what, text, expected) => {
    await expectSameAsKubectl(text, expected);
  });
});

describe('property: generated scalars read as kubectl reads them', () => {
  const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
  const piece = fc.oneof(
    fc.constantFrom(
      '0',
      '1',
      '7',
      '8',
      '9',
      '_',
      '.',
      'e',
      'E',
      '+',
      '-0',
      'x',
      'o',
      'b',
      'X',
      'B',
      'a',
      'f',
      'F',
      'y',
      'n',
      'N',
      'Y',
      'on',
      'off',
      'true',
      'null',
      '~',
      'inf',
      'nan',
      'Inf',
      ':',
      '2001-01-01',
      ' ',
    ),
    fc.integer().map(String),
    fc.double().map(String),
  );
  const text = fc
    .array(piece, { minLength: 1, maxLength: 4 })
    .map((parts) => parts.join('').trim())
    .filter((t) => t !== '' && !t.includes(': ') && !t.endsWith(':'));

  it('as values, keys and list entries', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 6 }), async (scalars) => {
        // One key per document: two texts may be the same key for kubectl, which the tool refuses.
        const doc =
          scalars.map((s, i) => `k${i}: ${s}\n---\n${s}: ${i}\n---\n`).join('') +
          `list: [${scalars.join(', ').replace(/[[\]{},]/g, '')}]\n`;
        await expectSameAsKubectl(doc);
      }),
      { numRuns: RUNS },
    );
  });
});
