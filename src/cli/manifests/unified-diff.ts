/**
 * A unified diff of one file, built from the replacements hardening made in it rather than by
 * diffing the whole text again: a Myers diff costs O(lines x changes), minutes over a Helm render
 * of thousands of workloads, while the replacements already say which lines changed. Only a
 * document printed again whole (and a JSON file) is diffed, on its own lines. The result is what
 * `diff -u` prints, and applies with `git apply` and `patch -p1`.
 */
import { FILE_HEADERS_ONLY, formatPatch, structuredPatch, type StructuredPatchHunk } from 'diff';
import type { Replacement } from './results';
import type { LineCounter } from 'yaml';
import { lineCounter, lineOf } from './line-index';

const CONTEXT = 3;
const NO_NEWLINE = '\\ No newline at end of file';

/** Lines removed and added at one place: `old` is the 0-based index of the first old line. */
interface Block {
  old: number;
  removed: string[];
  added: string[];
}

/** The lines of a text without their line feeds. */
function linesOf(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  return lines;
}

function blocksOf(original: string, lines: LineCounter, r: Replacement): Block[] {
  const first = lineOf(lines, r.start);
  const before = original.slice(r.start, r.end);
  if (!r.reprinted) return [{ old: first, removed: linesOf(before), added: linesOf(r.text) }];
  // Printed again whole: diffed, on its own lines only.
  return structuredPatch('', '', before, r.text, undefined, undefined, { context: 0 }).hunks.map(
    (h) => ({
      old: first + h.oldStart - 1,
      removed: h.lines.filter((l) => l[0] === '-').map((l) => l.slice(1)),
      added: h.lines.filter((l) => l[0] === '+').map((l) => l.slice(1)),
    }),
  );
}

/** The diff from `original` to `output`, which is `original` with the replacements applied. */
export function unifiedDiff(
  oldName: string,
  newName: string,
  original: string,
  output: string,
  replacements: readonly Replacement[],
): string {
  if (replacements.length === 0) return '';
  const lines = lineCounter(original);
  const oldLines = linesOf(original);
  const blocks = [...replacements]
    .sort((a, b) => a.start - b.start)
    .flatMap((r) => blocksOf(original, lines, r));
  const oldEndsWithNewline = original === '' || original.endsWith('\n');
  const newEndsWithNewline = output === '' || output.endsWith('\n');
  const newTotal =
    oldLines.length + blocks.reduce((n, b) => n + b.added.length - b.removed.length, 0);

  const hunks: StructuredPatchHunk[] = [];
  let hunk: StructuredPatchHunk | undefined;
  let oldAt = 0; // next old line the current hunk has not covered
  let newAt = 0;
  let delta = 0;
  const context = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      hunk!.lines.push(` ${oldLines[i]}`);
      if (i === oldLines.length - 1 && !oldEndsWithNewline) hunk!.lines.push(NO_NEWLINE);
    }
    hunk!.oldLines += to - from;
    hunk!.newLines += to - from;
  };
  const close = () => {
    if (!hunk) return;
    context(oldAt, Math.min(oldLines.length, oldAt + CONTEXT));
    hunks.push(hunk);
  };
  for (const b of blocks) {
    if (hunk && b.old - oldAt <= 2 * CONTEXT) {
      context(oldAt, b.old);
    } else {
      close();
      const from = Math.max(0, b.old - CONTEXT);
      hunk = {
        oldStart: from + 1,
        oldLines: 0,
        newStart: from + delta + 1,
        newLines: 0,
        lines: [],
      };
      context(from, b.old);
    }
    newAt = b.old + delta;
    b.removed.forEach((line, i) => {
      hunk!.lines.push(`-${line}`);
      if (b.old + i === oldLines.length - 1 && !oldEndsWithNewline) hunk!.lines.push(NO_NEWLINE);
    });
    b.added.forEach((line, i) => {
      hunk!.lines.push(`+${line}`);
      if (newAt + i === newTotal - 1 && !newEndsWithNewline) hunk!.lines.push(NO_NEWLINE);
    });
    hunk.oldLines += b.removed.length;
    hunk.newLines += b.added.length;
    oldAt = b.old + b.removed.length;
    delta += b.added.length - b.removed.length;
  }
  close();
  return formatPatch(
    {
      oldFileName: oldName,
      newFileName: newName,
      oldHeader: undefined,
      newHeader: undefined,
      hunks,
    },
    FILE_HEADERS_ONLY,
  );
}
