#!/usr/bin/env node
/**
 * pod-hardener's command-line tool: the webhook's engine and configuration applied offline.
 *
 *   pod-hardener harden -f FILE|DIR|- [...]   hardened manifests, a diff, JSON patches, a report
 *   pod-hardener review                       the webhook's answer to one AdmissionReview
 *   pod-hardener guard-params                 the guard's ConfigMap for the configuration
 *
 * `main(argv, io)` does everything and returns the exit code, so tests run it in-process.
 * Never imports server/: the tool shares engine/, admission/ and config/ with the webhook.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../config/load';
import type { Mode } from '../admission/types';
import { unifiedDiff } from './diff';
import { readInputs } from './inputs';
import { hardenManifests, ManifestError, WORKLOAD_KINDS, type HardenManifestsResult } from './manifests';
import { guardParams, guardParamsManifest } from './guard-params';
import { loadPolicy, type LoadedPolicy } from './policy';
import { checkText, noticeLines, reportTable, totals } from './report';
import { review } from './review';
import { runScan } from './scan';

export { hardenManifests, ManifestError } from './manifests';
export type { HardenManifestsOptions, HardenManifestsResult, WorkloadResult } from './manifests';

/** 0: done, nothing to report. 1: --check found something to change (or review: the pod would be refused). 2: unusable input, configuration or arguments. */
export const EXIT = { ok: 0, changes: 1, error: 2 } as const;

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  readStdin(): Promise<string>;
  env: Readonly<Record<string, string | undefined>>;
  readFile(path: string): string;
  writeFile(path: string, text: string): void;
}

export const USAGE = `Usage:
  pod-hardener harden -f FILE|DIR|- [-f ...] [--config FILE] [--namespace NS]
                      [--diff | --patch | --report] [--check] [--write]
  pod-hardener review [--config FILE] [--mode enforce|audit] < admission-review.json
  pod-hardener guard-params [--config FILE] [--namespace NS]
  pod-hardener scan [-n NS ... | -l SELECTOR | -A] [--config FILE] [-o table|json|yaml]   (scan --help)

harden: applies the webhook's hardening to the pod templates of manifests (${WORKLOAD_KINDS.join(', ')}),
honouring the pod-hardener annotations on each template. Other documents pass through unchanged.
  -f, --filename   a file, a directory (its .yaml, .yml and .json files, recursively) or - for stdin
  --config         the webhook's configuration file (POD_HARDENER_* environment variables apply too)
  -n, --namespace  namespace of documents that name none (default "default")
  (no mode)        print the hardened manifests; comments and layout of untouched parts are kept
  --diff           a unified diff per file
  --patch          JSON patches per workload (RFC 6902, paths from the document root)
  --report         a table of changes per workload and container
  --check          exit 1 when anything would change, and say what; 0 with "nothing to change"
  -w, --write      rewrite the files in place (not with -)

review: reads one AdmissionReview (JSON) on stdin, prints the response the webhook would give, and
on stderr the decoded patch and the warnings.
  --mode           enforce (POST /mutate, the default) or audit (POST /audit)

guard-params: prints the ConfigMap pod-hardener-guard that the guard (ValidatingAdmissionPolicy)
reads: the configuration's exceptions (skipNamespaces, exemptContainers, capabilityCeiling) as the
regular expressions the API server evaluates. Apply it whenever those change.
  -n, --namespace  namespace of the ConfigMap: the webhook's (default "pod-hardener")

Exit status: 0 done; 1 --check found changes, or review: the webhook would not allow the request;
2 unreadable input, invalid configuration or arguments.
`;

class UsageError extends Error {}

interface HardenArgs {
  files: string[];
  config?: string;
  namespace?: string;
  output: 'manifests' | 'diff' | 'patch' | 'report';
  check: boolean;
  write: boolean;
}

interface GuardParamsArgs {
  config?: string;
  namespace: string;
}

interface ReviewArgs {
  config?: string;
  mode: Mode;
}

/** Splits `--opt=value` and `-f=value`, and takes the value of an option that needs one. */
function* options(args: readonly string[], withValue: ReadonlySet<string>): Generator<[name: string, value: string | undefined]> {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.startsWith('-') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!withValue.has(name)) {
      if (eq > 0) throw new UsageError(`${name} takes no value`);
      yield [name, undefined];
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined || value === '' || (value.startsWith('-') && value !== '-')) {
      throw new UsageError(`${name} needs a value`);
    }
    yield [name, value];
  }
}

function parseHarden(args: readonly string[]): HardenArgs {
  const parsed: HardenArgs = { files: [], output: 'manifests', check: false, write: false };
  const modes: string[] = [];
  for (const [name, value] of options(args, new Set(['-f', '--filename', '--config', '-n', '--namespace']))) {
    switch (name) {
      case '-f':
      case '--filename':
        parsed.files.push(value!);
        break;
      case '--config':
        parsed.config = value;
        break;
      case '-n':
      case '--namespace':
        parsed.namespace = value;
        break;
      case '--diff':
      case '--patch':
      case '--report':
        modes.push(name);
        parsed.output = name.slice(2) as HardenArgs['output'];
        break;
      case '--check':
        parsed.check = true;
        break;
      case '-w':
      case '--write':
        parsed.write = true;
        break;
      default:
        throw new UsageError(name.startsWith('-') ? `unknown option ${name}` : `unexpected argument ${JSON.stringify(name)} (files are given with -f)`);
    }
  }
  if (parsed.files.length === 0) throw new UsageError('harden needs at least one -f FILE, DIR or -');
  if (modes.length > 1) throw new UsageError(`${modes.join(' and ')}: choose one`);
  if (parsed.write && parsed.files.includes('-')) throw new UsageError('--write cannot rewrite standard input');
  if (parsed.write && parsed.output !== 'manifests') throw new UsageError(`--write and ${modes[0]}: choose one`);
  return parsed;
}

function parseReview(args: readonly string[]): ReviewArgs {
  const parsed: ReviewArgs = { mode: 'enforce' };
  for (const [name, value] of options(args, new Set(['--config', '--mode']))) {
    if (name === '--config') parsed.config = value;
    else if (name === '--mode') {
      if (value !== 'enforce' && value !== 'audit') throw new UsageError(`--mode: expected enforce or audit, got ${JSON.stringify(value)}`);
      parsed.mode = value;
    } else throw new UsageError(name.startsWith('-') ? `unknown option ${name}` : `unexpected argument ${JSON.stringify(name)}`);
  }
  return parsed;
}

export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === 'help' || command === '-h' || command === '--help') {
      (command === undefined ? io.stderr : io.stdout)(USAGE);
      return command === undefined ? EXIT.error : EXIT.ok;
    }
    if (command === 'scan') return await runScan(rest, io);
    if (rest.includes('-h') || rest.includes('--help')) {
      io.stdout(USAGE);
      return EXIT.ok;
    }
    if (command === 'harden') return await runHarden(parseHarden(rest), io);
    if (command === 'review') return await runReview(parseReview(rest), io);
    if (command === 'guard-params') return runGuardParams(parseGuardParams(rest), io);
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`pod-hardener: ${err.message}\n\n${USAGE}`);
      return EXIT.error;
    }
    if (err instanceof ConfigError) {
      io.stderr(`pod-hardener: ${err.message}\n`);
      return EXIT.error;
    }
    throw err;
  }
}

function policyFor(config: string | undefined, io: Io): LoadedPolicy {
  const loaded = loadPolicy(config, io.env, io.readFile);
  for (const w of loaded.warnings) io.stderr(`pod-hardener: ${w}\n`);
  return loaded;
}

async function runHarden(args: HardenArgs, io: Io): Promise<number> {
  const { policy } = policyFor(args.config, io);
  const { inputs, errors } = await readInputs(args.files, io.readStdin);
  const results: { name: string; path?: string; text: string; result: HardenManifestsResult }[] = [];
  for (const input of inputs) {
    try {
      const rewrite = args.output === 'diff' || (args.output === 'manifests' && (args.write || !args.check));
      const result = hardenManifests(input.text, { policy, namespace: args.namespace, source: input.name, rewrite });
      results.push({ ...input, result });
    } catch (err) {
      if (!(err instanceof ManifestError)) throw err;
      errors.push(...err.messages);
    }
  }
  // Nothing is printed or written unless every input could be read: half an output is worse than none.
  if (errors.length > 0) {
    io.stderr(errors.map((e) => `pod-hardener: ${e}\n`).join(''));
    return EXIT.error;
  }

  const workloads = results.flatMap((r) => r.result.documents);
  const notes = results.flatMap((r) => r.result.notes);
  const changed = results.some((r) => r.result.changed);

  switch (args.output) {
    case 'diff':
      io.stdout(results.map((r) => unifiedDiff(`a/${r.name}`, `b/${r.name}`, r.text, r.result.output, r.result.replacements)).join(''));
      break;
    case 'patch': {
      const patches = workloads
        .filter((w) => w.patch.length > 0)
        .map((w) => ({
          source: w.source,
          document: w.document,
          ...(w.item !== undefined ? { item: w.item } : {}),
          ...(w.line !== undefined ? { line: w.line } : {}),
          kind: w.kind,
          namespace: w.namespace,
          name: w.name,
          patch: w.patch,
        }));
      io.stdout(`${JSON.stringify(patches, null, 2)}\n`);
      break;
    }
    case 'report':
      io.stdout(reportTable(workloads, notes));
      break;
    case 'manifests':
      if (args.write) {
        for (const r of results) {
          if (!r.result.changed) continue;
          io.writeFile(r.path!, r.result.output);
          io.stderr(`hardened ${r.name} (${totals(r.result.documents).changed} workloads changed)\n`);
        }
      } else if (!args.check) {
        io.stdout(joinOutputs(results.map((r) => r.result.output)));
      }
      break;
  }
  if (args.output !== 'report') {
    const lines = noticeLines(workloads, notes);
    if (lines.length > 0) io.stderr(lines.map((l) => `pod-hardener: ${l}\n`).join(''));
  }

  if (!args.check) return EXIT.ok;
  if (!changed) {
    // Standard output stays valid JSON with --patch.
    (args.output === 'patch' ? io.stderr : io.stdout)('nothing to change\n');
    return EXIT.ok;
  }
  if (args.output === 'manifests') io.stdout(checkText(workloads));
  return EXIT.changes;
}

/** Several files as one stream of documents. */
function joinOutputs(outputs: readonly string[]): string {
  let out = '';
  for (const text of outputs) {
    if (out !== '') {
      if (!out.endsWith('\n')) out += '\n';
      if (!/^---(\s|$)/.test(text)) out += '---\n';
    }
    out += text;
  }
  return out;
}

function parseGuardParams(args: readonly string[]): GuardParamsArgs {
  const parsed: GuardParamsArgs = { namespace: 'pod-hardener' };
  for (const [name, value] of options(args, new Set(['--config', '-n', '--namespace']))) {
    if (name === '--config') parsed.config = value;
    else if (name === '-n' || name === '--namespace') parsed.namespace = value!;
    else throw new UsageError(name.startsWith('-') ? `unknown option ${name}` : `unexpected argument ${JSON.stringify(name)}`);
  }
  return parsed;
}

function runGuardParams(args: GuardParamsArgs, io: Io): number {
  const { policy, file } = policyFor(args.config, io);
  io.stdout(guardParamsManifest(guardParams(policy.settings), args.namespace, file ?? 'the built-in defaults'));
  return EXIT.ok;
}

async function runReview(args: ReviewArgs, io: Io): Promise<number> {
  const { policy } = policyFor(args.config, io);
  return review(await io.readStdin(), args.mode, policy, io);
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
  };
}

/** Runs as a program: the exit code is set, not forced, so stdout is flushed first. */
export function run(argv: readonly string[]): void {
  // `pod-hardener harden ... | head` closes the pipe early: not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`pod-hardener: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 70;
    },
  );
}

if (require.main === module) run(process.argv.slice(2));
