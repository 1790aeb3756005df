/**
 * A YAML stream of manifests: split and read as kubectl reads it (yaml/split.ts, yaml/read.ts),
 * each document's workloads hardened, and the patch applied to the document's text
 * (yaml/edit.ts), so everything the patch does not touch stays as it was, byte for byte;
 * documents without a change are never touched.
 *
 * An edited document is read again and must give exactly the hardened document, as kubectl would
 * read it; when it does not, the edit is tried coarser (whole values written out around the
 * change), and when no edit gives it, the document is refused: a wrong file is never written.
 */
import type { PatchOperation as Operation } from '../../engine/patch';
import { hardenDocument } from './document-hardening';
import { pointerTokens, type PathKey } from './json-pointer';
import { lineCounter } from './line-index';
import { at, ManifestError, where } from './input-errors';
import type { Base, HardenManifestsResult, Replacement } from './results';
import { lineReplacements, planEdits, splice, type EditLevel } from './yaml/edit';
import { UnsupportedEdit } from './yaml/print';
import { keyOf, readDocument, type ENode, type ReadDocument } from './yaml/read';
import { sameData } from './yaml/same-data';
import { SeparatorError, splitDocuments, type Chunk } from './yaml/split';
import { inferStyle } from './yaml/style';

/** The node at a path of the data, through explicit keys and aliases (for line numbers in messages). */
function nodeAtPath(root: ENode, path: readonly PathKey[]): ENode | undefined {
  let node: ENode | undefined = root;
  for (const t of path) {
    while (node?.kind === 'alias') node = node.target;
    if (node === undefined) return undefined;
    const map: ENode = node;
    node =
      map.kind === 'map'
        ? map.pairs.find((p) => !p.merge && keyOf(p.key) === String(t))?.value
        : map.kind === 'seq'
          ? map.items[Number(t)]
          : undefined;
  }
  return node;
}

export function hardenYaml(text: string, base: Base): HardenManifestsResult {
  const out: HardenManifestsResult = {
    output: '',
    changed: false,
    format: 'yaml',
    documents: [],
    notes: [],
    replacements: [],
  };
  const lines = lineCounter(text);
  const lineOfOffset = (offset: number) => lines.linePos(offset).line;
  let chunks: Chunk[];
  try {
    chunks = splitDocuments(text);
  } catch (err) {
    if (!(err instanceof SeparatorError)) throw err;
    throw new ManifestError([`${at(base.source, lines, err.offset)}: ${err.message}`]);
  }
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const errors: string[] = [];
  let cursor = 0;
  let index = -1;
  for (const chunk of chunks) {
    const read = readDocument(text, chunk.start, chunk.end);
    // The first error of a document: the parser's later ones mostly follow from it.
    const [error] = read.errors;
    if (error !== undefined) {
      errors.push(`${at(base.source, lines, error.offset)}: ${error.message}`);
      continue;
    }
    if (read.data === undefined && !chunk.marker) continue;
    index++;
    if (read.ignoredFrom !== undefined) {
      out.notes.push({
        source: base.source,
        document: index,
        line: lineOfOffset(read.ignoredFrom),
        message:
          'text after a "..." document end, which kubectl ignores up to the next "---": ignored here too',
      });
    }
    const root = read.root;
    if (root === undefined || errors.length > 0) continue;
    const lineOf = (path: readonly PathKey[]) => {
      const node = nodeAtPath(root, path);
      return node === undefined ? undefined : lineOfOffset(node.propsStart);
    };
    const result = hardenDocument(read.data, index, { ...base, lineOf });
    out.documents.push(...result.workloads);
    out.notes.push(...result.notes);
    if (result.ops.length === 0) continue;
    out.changed = true;
    if (!base.rewrite) continue;

    const edited = editDocument(text, chunk, read, result.ops, result.expected, eol);
    if ('reason' in edited) {
      errors.push(
        `${where(base.source, lineOf([]))}: cannot write the hardened document back into this YAML exactly (${edited.reason}); ` +
          'see the changes with --report or --patch, or write the values the pod template takes from anchors, aliases or merge keys explicitly',
      );
      continue;
    }
    const note = (message: string) =>
      out.notes.push({ source: base.source, document: index, line: lineOf([]), message });
    if (edited.explicit.length > 0) {
      note(
        `hardened; written out explicitly, as they came from anchors, aliases or merge keys: ${edited.explicit.join(', ')}`,
      );
    }
    if (edited.level > 0)
      note(
        'hardened; around the changes, values are written out in full (a layout the finer edit could not keep)',
      );
    for (const replacement of edited.replacements) {
      out.output += text.slice(cursor, replacement.start) + replacement.text;
      out.replacements.push(replacement);
      cursor = replacement.end;
    }
  }
  if (errors.length > 0) throw new ManifestError(errors);
  out.output += text.slice(cursor);
  return out;
}

/** Whether the text of one document reads, for kubectl, as exactly this data. */
function readsAs(text: string, expected: unknown): boolean {
  try {
    const chunks = splitDocuments(text);
    if (chunks.length !== 1 || chunks[0].start !== 0 || chunks[0].end !== text.length) return false;
  } catch (err) {
    if (err instanceof SeparatorError) return false;
    throw err;
  }
  const read = readDocument(text, 0, text.length);
  return read.errors.length === 0 && sameData(read.data, expected);
}

/**
 * The replacements that make one document's text read as the expected data: the finest edit
 * that does, or the reason none does.
 */
function editDocument(
  text: string,
  chunk: Chunk,
  read: ReadDocument,
  ops: readonly Operation[],
  expected: unknown,
  eol: string,
): { replacements: Replacement[]; level: number; explicit: string[] } | { reason: string } {
  const root = read.root!;
  const style = inferStyle(text, root, eol);
  const deepest = Math.max(...ops.map((op) => pointerTokens(op.path).length)) - 1;
  const levels: EditLevel[] = [{ level: 0, keepAliases: true }, { level: 0 }];
  for (let level = 1; level <= deepest; level++) levels.push({ level });
  let reason = 'no edit gives the hardened document';
  for (const level of levels) {
    try {
      const planned = planEdits(text, root, ops, read.data, expected, style, level);
      const replacements = lineReplacements(text, planned.edits);
      if (replacements.some((r) => r.start < chunk.start || r.end > chunk.end)) {
        reason = 'an edit would reach outside the document';
        continue;
      }
      if (readsAs(splice(text, replacements, chunk.start, chunk.end), expected))
        return { replacements, level: level.level, explicit: planned.explicit };
      reason = 'the edited text would not read as the hardened document';
    } catch (err) {
      if (!(err instanceof UnsupportedEdit)) throw err;
      reason = err.message;
    }
  }
  return { reason };
}
