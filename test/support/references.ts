/**
 * Checked-in files (or parts of files between two marker lines) that hold what the code
 * generates: the chart's values schema, the README's transparency table. A test compares them and
 * fails with a diff and the command that regenerates them; only that command (an `npm run
 * regenerate:*` script, test/regenerate/) writes them, so no test can pass by rewriting what it
 * checks.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { REPO } from './tools';

export interface Reference {
  /** The file, relative to the repository. */
  file: string;
  /** The command that regenerates it, for the failure message. */
  regenerate: string;
  /**
   * Marker lines around the generated part (the begin marker is matched up to the end of its line);
   * without them the whole file is generated.
   */
  markers?: { begin: string; end: string };
}

/** The generated part of the reference as checked in. */
export function readReference(ref: Reference): string {
  const text = readFileSync(join(REPO, ref.file), 'utf8');
  return ref.markers ? between(text, ref).inside : text;
}

/** Writes the generated part; for the regenerating scripts only. */
export function writeReference(ref: Reference, content: string): void {
  const path = join(REPO, ref.file);
  const text = readFileSync(path, 'utf8');
  if (!ref.markers) return writeFileSync(path, content);
  const { before, after } = between(text, ref);
  writeFileSync(path, `${before}\n${content.trim()}\n${after}`);
}

/** Fails unless the reference holds `generated`, with a diff and the command that fixes it. */
export function expectReferenceUpToDate(ref: Reference, generated: string): void {
  const current = readReference(ref);
  const normalise = (s: string) => (ref.markers ? s.trim() : s);
  if (normalise(current) === normalise(generated)) return;
  const patch = createTwoFilesPatch(
    `${ref.file} (checked in)`,
    `${ref.file} (generated)`,
    normalise(current),
    normalise(generated),
  );
  throw new Error(
    `${ref.file} differs from what the code generates; \`${ref.regenerate}\` rewrites it:\n${patch}`,
  );
}

/** Splits the text around the generated part: after the begin marker's line, before the end marker. */
function between(text: string, ref: Reference): { before: string; inside: string; after: string } {
  const { begin, end } = ref.markers!;
  const start = text.indexOf(begin);
  const lineEnd = start < 0 ? -1 : text.indexOf('\n', start);
  const stop = lineEnd < 0 ? -1 : text.indexOf(end, lineEnd);
  if (stop < 0)
    throw new Error(`${ref.file} lacks the markers ${begin} ... ${end} around the generated part`);
  return {
    before: text.slice(0, lineEnd),
    inside: text.slice(lineEnd, stop),
    after: text.slice(stop),
  };
}
