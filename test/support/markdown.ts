/**
 * Reading the project's Markdown as GitHub renders it, for the tests that hold the documentation
 * to the code: the headings and their anchors, the section under a heading, the relative links.
 * Fenced code blocks are skipped everywhere: a `# comment` in a shell block is no heading, and a
 * `[x](y)` in an example is no link.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '..', '..');

/** The user documentation: the README and every Markdown file of docs/. */
export const docFiles = (): string[] => {
  return [
    'README.md',
    ...readdirSync(join(REPO, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => `docs/${f}`),
  ];
};

export const readDoc = (file: string): string => readFileSync(join(REPO, file), 'utf8');

interface Line {
  text: string;
  /** 1-based, for messages. */
  number: number;
}

/** The lines outside fenced code blocks (``` or ~~~). */
function proseLines(markdown: string): Line[] {
  const out: Line[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((text, i) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(text)?.[1];
    if (marker && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      return;
    }
    if (fence === undefined) out.push({ text, number: i + 1 });
  });
  return out;
}

export interface Heading {
  level: number;
  text: string;
  anchor: string;
  line: number;
}

/** A heading's text as rendered: code spans, links and emphasis reduced to their text. */
const renderedText = (raw: string): string =>
  raw
    .replace(/`([^`]*)`/g, '$1')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/(^|\W)(\*\*|__|\*|_)(\S(?:.*?\S)?)\2(?=\W|$)/g, '$1$3')
    .trim();

/**
 * GitHub's anchor for a heading: lower case, every character that is not a letter, a digit, a
 * space, `-` or `_` dropped, spaces made `-`; the second heading with the same anchor gets `-1`.
 */
export const slug = (text: string): string =>
  renderedText(text)
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');

export function headings(markdown: string): Heading[] {
  const seen = new Map<string, number>();
  return proseLines(markdown).flatMap(({ text, number }) => {
    const m = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(text);
    if (!m) return [];
    const base = slug(m[2]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return [{ level: m[1].length, text: m[2], anchor: n ? `${base}-${n}` : base, line: number }];
  });
}

/**
 * The text under a heading (its own line included) up to the next heading of the same or a
 * higher level. Throws when the heading is missing, so that a test reading a moved section fails
 * on the name rather than on an empty string.
 */
export function section(markdown: string, heading: string, file = 'the document'): string {
  const all = headings(markdown);
  const i = all.findIndex((h) => h.text === heading);
  if (i < 0) throw new Error(`no heading "${heading}" in ${file}`);
  const lines = markdown.split('\n');
  const end = all.slice(i + 1).find((h) => h.level <= all[i].level)?.line ?? lines.length + 1;
  return lines.slice(all[i].line - 1, end - 1).join('\n');
}

export interface Link {
  target: string;
  line: number;
}

/** Inline links and images outside code: `[text](target)`, `![alt](target "title")`. */
export function links(markdown: string): Link[] {
  return proseLines(markdown).flatMap(({ text, number }) =>
    [...text.replace(/`[^`]*`/g, '').matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(
      (m) => ({ target: m[1], line: number }),
    ),
  );
}

/**
 * Where a documented output differs from what was printed, or undefined when it shows it: each
 * shown line must be the next printed line, except that a line `...` stands for any lines and a
 * line ending in ` ...` for that line with any text after it.
 */
export function elidedMismatch(shown: string[], printed: string[]): string | undefined {
  let at = 0;
  let gap = false;
  for (const line of shown) {
    if (line.trim() === '...') {
      gap = true;
      continue;
    }
    const prefix = line.endsWith(' ...') ? line.slice(0, -' ...'.length) : undefined;
    const matches = (p: string) => (prefix === undefined ? p === line : p.startsWith(prefix));
    const found = gap ? printed.findIndex((p, i) => i >= at && matches(p)) : at;
    if (found < 0 || found >= printed.length || !matches(printed[found]))
      return gap
        ? `not printed after line ${at}: ${line}`
        : `line ${at + 1} is ${JSON.stringify(printed[at])}, the page shows ${JSON.stringify(line)}`;
    at = found + 1;
    gap = false;
  }
  return undefined;
}
