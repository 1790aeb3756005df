/**
 * A JSON manifest (a file that starts with `{` or `[`): read as kubectl's JSON decoder reads it
 * and, when it changes, printed again whole in the indentation and line ends it came in (JSON
 * has no comments to keep).
 */
import { hardenDocument } from './document-hardening';
import { lineCounter } from './line-index';
import { jsonError, ManifestError, where } from './input-errors';
import type { Base, HardenManifestsResult } from './results';

/** How the file is laid out: the indentation of its first nested line, its line end, a final line end. */
function jsonLayout(text: string): { indent: string; eol: string; finalEol: boolean } {
  const indent = /\n([ \t]+)"/.exec(text)?.[1] ?? (text.trim().includes('\n') ? '  ' : '');
  return { indent, eol: text.includes('\r\n') ? '\r\n' : '\n', finalEol: /\r?\n$/.test(text) };
}

/**
 * Whether a number of the text has more digits than a JavaScript number holds exactly (kubectl's
 * decoder keeps them): printing the parsed value again would change it.
 */
function hasInexactNumber(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const m = /^-?(\d+)(?:\.(\d+))?/.exec(text.slice(i, i + 400))!;
      if (`${m[1]}${m[2] ?? ''}`.replace(/^0+/, '').replace(/0+$/, '').length > 15) return true;
      i += m[0].length - 1;
    }
  }
  return false;
}

export function hardenJson(text: string, base: Base): HardenManifestsResult {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ManifestError([jsonError(base.source, text, lineCounter(text), err as Error)]);
  }
  const result = hardenDocument(data, 0, { ...base, lineOf: () => undefined });
  const unchanged = {
    output: text,
    changed: result.ops.length > 0,
    format: 'json' as const,
    documents: result.workloads,
    notes: result.notes,
    replacements: [],
  };
  if (result.ops.length === 0 || !base.rewrite) return unchanged;
  if (hasInexactNumber(text)) {
    throw new ManifestError([
      `${where(base.source)}: cannot write the hardened file back: it holds a number with more digits than can be written again exactly; see the changes with --report or --patch`,
    ]);
  }
  const layout = jsonLayout(text);
  let output = JSON.stringify(result.expected, null, layout.indent);
  if (layout.eol !== '\n') output = output.replace(/\n/g, layout.eol);
  if (layout.finalEol) output += layout.eol;
  return {
    ...unchanged,
    output,
    replacements: [{ start: 0, end: text.length, text: output, reprinted: true }],
  };
}
