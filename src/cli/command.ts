/**
 * The one command shape of `pod-hardener`: what a subcommand is (Command), the world it runs in
 * (Io), its exit codes (EXIT), the error for a command line it cannot use (UsageError), and how
 * it reads its command line (parseOptions, over node:util parseArgs). A subcommand lives in its
 * own folder and is named once, in main.ts's table; main.ts says usage errors and --help for all.
 */
import { parseArgs } from 'node:util';

/**
 * 0: done, nothing to report. 1: something found: --check or scan found a change, review found
 * the request refused. 2: the command could not do its job (input, configuration, arguments, the
 * cluster, the file system).
 */
export const EXIT = { ok: 0, changes: 1, error: 2 } as const;

/** The world of a command, so tests run it in-process. Plain functions, not methods: they are passed around on their own. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
  env: Readonly<Record<string, string | undefined>>;
  readFile: (path: string) => string;
  writeFile: (path: string, text: string) => void;
  /** Whether stderr is a terminal: progress is drawn only there. */
  stderrIsTTY: boolean;
  now: () => number;
}

export interface Command {
  /** One line for the list of commands. */
  summary: string;
  /** Its synopsis and options, as `--help` prints them after `Usage: `. */
  usage: string;
  /** Runs with the arguments after the command's name; returns the exit code. */
  run(args: readonly string[], io: Io): Promise<number>;
}

/** A command line that cannot be used: main.ts prints it as one line, then a hint to --help. */
export class UsageError extends Error {}

interface StringOption {
  type: 'string';
  short?: string;
  multiple?: boolean;
  /** The only values taken; another is a UsageError that lists these. */
  choices?: readonly string[];
}
interface BooleanOption {
  type: 'boolean';
  short?: string;
}
export type OptionSpec = Record<string, StringOption | BooleanOption>;

type StringValue<O> = O extends { choices: readonly (infer C)[] } ? C : string;
type Values<S extends OptionSpec> = {
  [K in keyof S]?: S[K] extends StringOption
    ? S[K]['multiple'] extends true
      ? StringValue<S[K]>[]
      : StringValue<S[K]>
    : boolean;
};

/**
 * The options of a command line, or a UsageError that names the argument at fault. parseArgs runs
 * leniently and the checks are made here, on its tokens, so the messages are the tool's own and do
 * not change with Node.js's wording. `-f=FILE` is taken as kubectl takes it. The checks of what a
 * value means (a number, a combination of options) are the command's; the helpers below word them.
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
  for (const token of tokens) {
    if (token.kind === 'positional')
      throw new UsageError(`unexpected argument ${JSON.stringify(token.value)}${positionalHint}`);
    if (token.kind === 'option-terminator') continue;
    const option = Object.prototype.hasOwnProperty.call(spec, token.name)
      ? spec[token.name]
      : undefined;
    if (option === undefined) throw new UsageError(`unknown option ${token.rawName}`);
    if (option.type === 'boolean') {
      if (token.inlineValue) throw new UsageError(`${token.rawName} takes no value`);
      values[token.name] = true;
      continue;
    }
    const value = token.value;
    // `-f --diff` would take --diff as the file: a value that looks like an option must be inline.
    // A blank value names no file, namespace or context.
    if (
      value === undefined ||
      value.trim() === '' ||
      (!token.inlineValue && value.startsWith('-') && value !== '-')
    ) {
      throw new UsageError(`${token.rawName} needs a value`);
    }
    if (option.choices !== undefined) oneOf(`--${token.name}`, value, option.choices);
    if (option.multiple)
      values[token.name] = [...((values[token.name] as string[] | undefined) ?? []), value];
    else values[token.name] = value;
  }
  return values as Values<S>;
}

/** `value` if it is one of `choices`; else a UsageError: `--mode: expected enforce or audit, got "x"`. */
export function oneOf<C extends string>(flag: string, value: string, choices: readonly C[]): C {
  if ((choices as readonly string[]).includes(value)) return value as C;
  const expected =
    choices.length === 2 ? `${choices[0]} or ${choices[1]}` : `one of ${choices.join(', ')}`;
  throw new UsageError(`${flag}: expected ${expected}, got ${JSON.stringify(value)}`);
}

/**
 * A whole number from 1 (to `max`), or a UsageError that says so, in `unit`s if given:
 * `--days: expected a whole number of days, got "0"`.
 */
export function positiveInteger(
  flag: string,
  value: string,
  bounds: { max?: number; unit?: string } = {},
): number {
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    const unit = bounds.unit === undefined ? '' : ` of ${bounds.unit}`;
    const range = bounds.max === undefined ? '' : ` from 1 to ${bounds.max}`;
    throw new UsageError(
      `${flag}: expected a whole number${unit}${range}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}
