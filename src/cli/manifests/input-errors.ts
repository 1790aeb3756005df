/** The words of the tool's errors about input: `source:line:column: what`. */
import type { LineCounter } from 'yaml';
import { readDocument } from './yaml/read';

/** The input cannot be read as manifests: each message names the source and, when known, line and column. */
export class ManifestError extends Error {
  constructor(readonly messages: readonly string[]) {
    super(messages.join('\n'));
    this.name = 'ManifestError';
  }
}

export function where(source: string, line?: number, col?: number): string {
  return line === undefined
    ? source
    : col === undefined
      ? `${source}:${line}`
      : `${source}:${line}:${col}`;
}

/** `source:line:column` of an offset of the text. */
export function at(source: string, lines: LineCounter, offset: number): string {
  const { line, col } = lines.linePos(offset);
  return where(source, line, col);
}

/**
 * JSON.parse's error as `source:line:column: not valid JSON: reason`. V8 gives a position only
 * for some errors, and words it differently across Node.js versions; where it gives none, the
 * YAML reader says where the text stops making sense (JSON is YAML).
 */
export function jsonError(source: string, text: string, lines: LineCounter, err: Error): string {
  const position = /position (\d+)/.exec(err.message);
  const offset = position
    ? Number(position[1])
    : readDocument(text, 0, text.length).errors[0]?.offset;
  const reason = err.message
    .replace(/ in JSON at position \d+.*$/, '')
    .replace(/,? *"[^"]*"? is not valid JSON$/, '');
  return `${offset === undefined ? source : at(source, lines, offset)}: not valid JSON: ${reason}`;
}
