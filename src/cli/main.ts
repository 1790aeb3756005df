#!/usr/bin/env node
/**
 * pod-hardener's command-line tool: the webhook's engine and configuration applied offline.
 * A thin dispatcher: each subcommand is a Command (command.ts says what one is) in a folder of its
 * own, named once in COMMANDS and loaded only when it runs:
 *
 *   manifests/     harden: manifest files, YAML and JSON, rewritten in place (yaml/: the YAML reader and editor)
 *   review/        one AdmissionReview, as the webhook answers it
 *   guard-params/  the guard's ConfigMap from the configuration
 *   scan/          a live cluster, read-only
 *   certs/         a CA and a serving certificate for manual installs
 *
 * A command's folder uses command.ts and configured-policy.ts, never another command's folder
 * (test/unit/import-layers.test.ts).
 *
 * `main(argv, io)` does everything and returns the exit code, so tests run it in-process.
 * Never imports server/: the tool shares engine/, admission/ and config/ with the webhook.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../config/load';
import { EXIT, UsageError, type Command, type Io } from './command';

export { EXIT, type Io } from './command';
export { hardenManifests, ManifestError } from './manifests/harden-manifests';
export type {
  HardenManifestsOptions,
  HardenManifestsResult,
  WorkloadResult,
} from './manifests/harden-manifests';

/** Each subcommand by name, loaded only when it runs. */
export type CommandTable = Readonly<Record<string, () => Promise<Command>>>;

export const COMMANDS: CommandTable = {
  harden: async () => (await import('./manifests/command')).hardenCommand,
  review: async () => (await import('./review/command')).reviewCommand,
  'guard-params': async () => (await import('./guard-params/command')).guardParamsCommand,
  policy: async () => (await import('./policy-mode/command')).policyModeCommand,
  scan: async () => (await import('./scan/command')).scanCommand(),
  certs: async () => (await import('./certs/command')).certsCommand,
};

/** How the program is called, for the hint after an argument error. */
export interface Program {
  /** The command line of a subcommand: `pod-hardener harden`, or `kubectl harden` for the plugin. */
  commandLine(command?: string): string;
}

export const POD_HARDENER: Program = {
  commandLine: (command) => (command === undefined ? 'pod-hardener' : `pod-hardener ${command}`),
};

const EXIT_STATUS = `Exit status: 0 done; 1 --check found changes, or review: the webhook would not allow the request;
2 unreadable input, invalid configuration or arguments.
`;

async function overview(table: CommandTable): Promise<string> {
  const commands = await Promise.all(
    Object.entries(table).map(async ([name, load]) => [name, await load()] as const),
  );
  const width = Math.max(...commands.map(([name]) => name.length));
  return [
    'Usage: pod-hardener COMMAND [options]   (as a kubectl plugin: kubectl harden [COMMAND] [options])\n',
    ...commands.map(([name, c]) => `  ${name.padEnd(width)}   ${c.summary}`),
    '',
    ...commands.map(([, c]) => c.usage),
    EXIT_STATUS,
  ].join('\n');
}

export async function main(
  argv: readonly string[],
  io: Io = processIo(),
  program: Program = POD_HARDENER,
  commands: CommandTable = COMMANDS,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '-h' || name === '--help') {
    (name === undefined ? io.stderr : io.stdout)(await overview(commands));
    return name === undefined ? EXIT.error : EXIT.ok;
  }
  const load = Object.prototype.hasOwnProperty.call(commands, name) ? commands[name] : undefined;
  if (load === undefined) {
    io.stderr(
      `pod-hardener: unknown command ${JSON.stringify(name)}\nSee '${program.commandLine()} --help'.\n`,
    );
    return EXIT.error;
  }
  const command = await load();
  if (rest.includes('-h') || rest.includes('--help')) {
    io.stdout(`Usage: ${command.usage}`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(
        `pod-hardener ${name}: ${err.message}\nSee '${program.commandLine(name)} --help'.\n`,
      );
      return EXIT.error;
    }
    if (err instanceof ConfigError) {
      io.stderr(`pod-hardener: ${err.message}\n`);
      return EXIT.error;
    }
    throw err;
  }
}

export function processIo(): Io {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    env: process.env,
    readFile: (path) => readFileSync(path, 'utf8'),
    writeFile: (path, text) => writeFileSync(path, text),
    stderrIsTTY: process.stderr.isTTY === true,
    now: () => Date.now(),
  };
}

/** Runs as a program: the exit code is set, not forced, so stdout is flushed first. */
export function run(argv: readonly string[], program: Program = POD_HARDENER): void {
  // `pod-hardener harden ... | head` closes the pipe early: not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  main(argv, processIo(), program).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(
        `pod-hardener: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 70;
    },
  );
}

if (require.main === module) run(process.argv.slice(2));
