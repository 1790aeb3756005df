/** `pod-hardener harden` (and `kubectl harden`): the webhook's hardening applied to manifest files. */
import { realpathSync } from 'node:fs';
import { EXIT, parseOptions, UsageError, type Command, type Io } from '../command';
import { unifiedDiff } from './unified-diff';
import { readInputs, type Input } from './read-inputs';
import { patchFiles, render, type PatchOf } from './kustomize';
import {
  hardenManifests,
  ManifestError,
  WORKLOAD_KINDS,
  type HardenManifestsResult,
  type ManifestNote,
  type WorkloadResult,
} from './harden-manifests';
import { imageUsersFor } from '../image-identity';
import { policyFor } from '../configured-policy';
import { checkText, noticeLines, reportTable, totals } from './report-text';

const USAGE = `pod-hardener harden -f FILE|DIR|- [-f ...] [-k DIR] [--config FILE] [--namespace NS]
                    [--diff | --patch | --report] [--check] [--write] [--image-identity]

Applies the webhook's hardening to the pod templates of manifests (${WORKLOAD_KINDS.join(', ')}),
honouring the pod-hardener annotations on each template. Other documents pass through unchanged;
kustomize patches (the files a kustomization lists under patches, and partial objects) are left as
they are: check what kustomize renders with kubectl kustomize DIR | kubectl harden -f - --check.
  -f, --filename   a file, a directory (its .yaml, .yml and .json files, recursively) or - for stdin
  -k, --kustomize  a kustomization directory, rendered with kubectl kustomize (kubectl on PATH)
  --config         the webhook's configuration file (POD_HARDENER_* environment variables apply too)
  -n, --namespace  namespace of documents that name none (default "default")
  (no mode)        print the hardened manifests; comments and layout of untouched parts are kept
  --diff           a unified diff per file
  --patch          JSON patches per workload (RFC 6902, paths from the document root)
  --report         a table of changes per workload and container
  --check          exit 1 when anything would change, and say what; 0 with "nothing to change"
  -w, --write      rewrite the files in place (not with - or -k)
  --image-identity keep each image's numeric USER, read from the registries that --config's
                   imageIdentity.registries allows (docs/image-identity.md)
`;

const OPTIONS = {
  filename: { type: 'string', short: 'f', multiple: true },
  kustomize: { type: 'string', short: 'k', multiple: true },
  config: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  diff: { type: 'boolean' },
  patch: { type: 'boolean' },
  report: { type: 'boolean' },
  check: { type: 'boolean' },
  write: { type: 'boolean', short: 'w' },
  'image-identity': { type: 'boolean' },
} as const;

type Output = 'manifests' | 'diff' | 'patch' | 'report';

/** One input and what hardening it gives. */
interface Hardened {
  name: string;
  path?: string;
  text: string;
  result: HardenManifestsResult;
}

/** Every input hardened, and their workloads and notes in input order. */
interface HardenedInputs {
  results: readonly Hardened[];
  workloads: readonly WorkloadResult[];
  notes: readonly ManifestNote[];
}

interface HardenArgs {
  files: string[];
  kustomize: string[];
  config?: string;
  namespace?: string;
  output: Output;
  check: boolean;
  write: boolean;
  imageIdentity: boolean;
}

function parse(args: readonly string[]): HardenArgs {
  const v = parseOptions(args, OPTIONS, ' (files are given with -f)');
  const modes = (['diff', 'patch', 'report'] as const).filter((m) => v[m]);
  const parsed: HardenArgs = {
    files: v.filename ?? [],
    kustomize: v.kustomize ?? [],
    ...(v.config !== undefined ? { config: v.config } : {}),
    ...(v.namespace !== undefined ? { namespace: v.namespace } : {}),
    output: modes[0] ?? 'manifests',
    check: v.check === true,
    write: v.write === true,
    imageIdentity: v['image-identity'] === true,
  };
  if (parsed.files.length === 0 && parsed.kustomize.length === 0)
    throw new UsageError('harden needs at least one -f FILE, DIR or -');
  if (modes.length > 1)
    throw new UsageError(`${modes.map((m) => `--${m}`).join(' and ')}: choose one`);
  if (parsed.write && parsed.files.includes('-'))
    throw new UsageError('--write cannot rewrite standard input');
  if (parsed.write && parsed.kustomize.length > 0)
    throw new UsageError(
      '--write cannot rewrite what kustomize renders (harden the base and overlays with -f)',
    );
  if (parsed.write && modes.length > 0)
    throw new UsageError(`--write and --${modes[0]}: choose one`);
  return parsed;
}

/** The inputs: files and standard input, then kustomize renders; and the kustomize patches among them. */
async function gather(
  args: HardenArgs,
  io: Io,
): Promise<{ inputs: (Input & { patchOf?: PatchOf })[]; errors: string[] }> {
  const { inputs, errors, kustomizations } =
    args.files.length > 0
      ? await readInputs(args.files, io.readStdin)
      : { inputs: [], errors: [], kustomizations: [] };
  const patches = patchFiles(kustomizations, io.readFile);
  const marked = inputs.map((input) => {
    if (input.path === undefined) return input;
    let real: string;
    try {
      real = realpathSync(input.path);
    } catch {
      return input;
    }
    const patchOf = patches.get(real);
    return patchOf === undefined ? input : { ...input, patchOf };
  });
  for (const dir of args.kustomize) {
    const rendered = render(dir, io.env);
    if ('error' in rendered) errors.push(rendered.error);
    else marked.push({ name: `kubectl kustomize ${dir}`, text: rendered.text });
  }
  return { inputs: marked, errors };
}

async function run(argv: readonly string[], io: Io): Promise<number> {
  const args = parse(argv);
  const { policy } = policyFor(args.config, io);
  const { inputs, errors } = await gather(args, io);
  const imageUsers = args.imageIdentity
    ? await imageUsersFor(
        inputs.map((i) => i.text),
        args.config,
        io,
      )
    : undefined;
  const rewrite =
    args.output === 'diff' || (args.output === 'manifests' && (args.write || !args.check));
  const results: Hardened[] = [];
  for (const input of inputs) {
    try {
      const result = hardenManifests(input.text, {
        policy,
        ...(imageUsers && { imageUsers }),
        namespace: args.namespace,
        source: input.name,
        rewrite,
        ...(input.patchOf !== undefined ? { patchOf: input.patchOf } : {}),
        ...(input.kustomizeDir !== undefined ? { kustomizeDir: input.kustomizeDir } : {}),
      });
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
  writeOutput(args, { results, workloads, notes }, io);
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

/** What the chosen output mode prints (or, with --write, writes). */
function writeOutput(
  args: HardenArgs,
  { results, workloads, notes }: HardenedInputs,
  io: Io,
): void {
  switch (args.output) {
    case 'diff':
      io.stdout(
        results
          .map((r) =>
            unifiedDiff(
              `a/${r.name}`,
              `b/${r.name}`,
              r.text,
              r.result.output,
              r.result.replacements,
            ),
          )
          .join(''),
      );
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
          io.stderr(
            `hardened ${r.name} (${totals(r.result.documents).changed} workloads changed)\n`,
          );
        }
      } else if (!args.check) {
        io.stdout(joinOutputs(results.map((r) => r.result.output)));
      }
      break;
  }
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

export const hardenCommand: Command = {
  summary:
    'harden manifest files: print them, a diff, JSON patches or a report; --check for CI; --write',
  usage: USAGE,
  run,
};
