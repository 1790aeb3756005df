/** Line and column of offsets in a text, with the `yaml` package's LineCounter. */
import { LineCounter } from 'yaml';

export function lineCounter(text: string): LineCounter {
  const lines = new LineCounter();
  lines.addNewLine(0);
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
  return lines;
}

/** The 0-based line holding `offset`. */
export function lineOf(lines: LineCounter, offset: number): number {
  return lines.linePos(offset).line - 1;
}
