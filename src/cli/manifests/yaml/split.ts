/**
 * A stream of YAML documents split as kubectl splits it (k8s.io/apimachinery's YAMLReader), not
 * as a YAML parser would: every line that starts with `---` ends a document, and only spaces or a
 * comment may follow it on that line (kubectl refuses `--- {a: 1}` and `---x`). The separator
 * line belongs to no document. A `...` document end stays inside its document: kubectl hands it
 * to go-yaml, which ignores whatever follows it up to the next `---` line.
 */

/** One document of a stream, without its separator line. */
export interface Chunk {
  /** Offsets in the whole text of the document's first character and just after its last. */
  start: number;
  end: number;
  /** Follows a `---` line: a document even when empty. */
  marker: boolean;
}

/** A separator line kubectl refuses, at its offset in the text. */
export class SeparatorError extends Error {
  constructor(
    readonly offset: number,
    readonly after: string,
  ) {
    super(
      `invalid YAML document separator: text after "---" (kubectl allows only a comment there): ${JSON.stringify(after)}`,
    );
    this.name = 'SeparatorError';
  }
}

export function splitDocuments(text: string): Chunk[] {
  const chunks: Chunk[] = [];
  let start = 0;
  let marker = false;
  for (let i = 0; i < text.length;) {
    const next = text.indexOf('\n', i);
    const lineEnd = next < 0 ? text.length : next + 1;
    if (text.startsWith('---', i)) {
      const after = text.slice(i + 3, lineEnd).trim();
      if (after !== '' && after[0] !== '#') throw new SeparatorError(i, after);
      chunks.push({ start, end: i, marker });
      start = lineEnd;
      marker = true;
    }
    i = lineEnd;
  }
  chunks.push({ start, end: text.length, marker });
  return chunks.filter((c) => c.marker || c.end > c.start);
}
