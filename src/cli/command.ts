/**
 * What every subcommand of `pod-hardener` is, and how it reads its command line (node:util
 * parseArgs). A subcommand lives in its own module and is named once, in main.ts's table.
 */
import { parseArgs } from 'node:util';

/** 0: done, nothing to report. 1: --check found something to change (or review: the pod would be refused). 2: unusable input, configuration or arguments. */
export const EXIT = { ok: 0, changes: 1, error: 2 } as const;

/** Everything a command touches outside itself, so tests run it in-process. */
/** The world of a command. Plain functions, not methods: they are passed around on their own. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
  env: Readonly<Record<string, string | undefined>>;
  readFile: (path: string) => string;
  writeFile: (path: string, text: string) => void;
}

export interface Command {
  /** One line for the list of commands. */
  summary: string;
  /** Its synopsis and options, as `--help` prints them. */
  usage: string;
  /** Runs with the arguments after the command's name; returns the exit code. */
  run(args: readonly string[], io: Io): Promise<number>;
}

/** A command line that cannot be used: one line, then a hint to --help. */
export class UsageError extends Error {}

export type OptionSpec = Record<
  string,
  { type: 'string' | 'boolean'; short?: string; multiple?: boolean }
>;

type Values<S extends OptionSpec> = {
  [K in keyof S]?: S[K]['type'] extends 'string'
    ? S[K]['multiple'] extends true
      ? string[]
      : string
    : boolean;
};

/**
 * The options of a command line, or a UsageError that names the argument at fault. parseArgs runs
 * leniently and the checks are made here, on its tokens, so the messages are the tool's own and do
 * not change with Node.js's wording. `-f=FILE` is taken as kubectl takes it.
 */
export function parseOptions<S extends OptionSpec>(
  args: readonly string[],
  spec: S,
  positionalHint = '',
): Values<S> {
  const argv = args.map((a) => (/^-[A-Za-z]=/.test(a) ? `${a.slice(0, 2)}${a.slice(3)}` : a));
  const { tokens } = parseArgs({
    args: argv,
    options: spec,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string | string[] | boolean> = {};
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.kind === 'positional')
      throw new UsageError(`unexpected argument ${JSON.stringify(token.value)}${positionalHint}`);
    if (token.kind === 'option-terminator') continue;
    const option = spec[token.name];
    if (option === undefined) throw new UsageError(`unknown option ${token.rawName}`);
    if (option.type === 'boolean') {
      if (token.inlineValue) throw new UsageError(`${token.rawName} takes no value`);
      values[token.name] = true;
      continue;
    }
    const value = token.value;
    // `-f --diff` would take --diff as the file: a value that looks like an option must be inline.
    if (
      value === undefined ||
      value === '' ||
      (!token.inlineValue && value.startsWith('-') && value !== '-')
    ) {
      throw new UsageError(`${token.rawName} needs a value`);
    }
    if (option.multiple)
      values[token.name] = [...((values[token.name] as string[] | undefined) ?? []), value];
    else values[token.name] = value;
  }
  return values as Values<S>;
}
