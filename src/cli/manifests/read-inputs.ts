/**
 * The files `-f` names: a file, a directory (recursively, its .yaml, .yml and .json files, in
 * name order), or `-` for standard input; and the kustomizations found on the way (in the
 * directories walked, and beside each file named), whose patches are not objects to harden.
 * Reading stops at nothing: every unreadable input is reported, so one run names them all.
 */
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { KUSTOMIZATION_FILES, kustomizationIn } from './kustomize';

export interface Input {
  /** As shown in messages and diff headers: the path as given, or `-`. */
  name: string;
  /** The file to write back with --write; absent for standard input. */
  path?: string;
  text: string;
  /** The file's directory, when it holds a kustomization. */
  kustomizeDir?: string;
}

export interface ReadInputs {
  inputs: Input[];
  errors: string[];
  /** Paths of the kustomization files found. */
  kustomizations: string[];
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export async function readInputs(
  specs: readonly string[],
  readStdin: () => Promise<string>,
): Promise<ReadInputs> {
  const inputs: Input[] = [];
  const errors: string[] = [];
  const kustomizations = new Set<string>();
  let stdinRead = false;
  for (const spec of specs) {
    if (spec === '-') {
      if (stdinRead) continue;
      stdinRead = true;
      try {
        inputs.push({ name: '-', text: await readStdin() });
      } catch (err) {
        errors.push(`-: cannot read standard input: ${(err as Error).message}`);
      }
      continue;
    }
    let isDirectory: boolean;
    try {
      isDirectory = statSync(spec).isDirectory();
    } catch (err) {
      errors.push(`${spec}: cannot read it: ${reason(err)}`);
      continue;
    }
    if (!isDirectory) {
      const beside = kustomizationIn(dirname(spec));
      if (beside !== undefined) kustomizations.add(beside);
      read(spec, inputs, errors);
      continue;
    }
    const found: string[] = [];
    walk(spec, found, kustomizations, errors, new Set());
    if (found.length === 0) errors.push(`${spec}: no .yaml, .yml or .json file in this directory`);
    for (const file of found) read(file, inputs, errors);
  }
  return { inputs, errors, kustomizations: [...kustomizations] };
}

function read(path: string, inputs: Input[], errors: string[]): void {
  try {
    const dir = dirname(path);
    inputs.push({
      name: path,
      path,
      text: readFileSync(path, 'utf8'),
      ...(kustomizationIn(dir) !== undefined ? { kustomizeDir: dir } : {}),
    });
  } catch (err) {
    errors.push(`${path}: cannot read it: ${reason(err)}`);
  }
}

function walk(
  dir: string,
  found: string[],
  kustomizations: Set<string>,
  errors: string[],
  visited: Set<string>,
): void {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (err) {
    errors.push(`${dir}: cannot read it: ${reason(err)}`);
    return;
  }
  // A symbolic link back up the tree would otherwise never end.
  if (visited.has(real)) return;
  visited.add(real);
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch (err) {
    errors.push(`${dir}: cannot read it: ${reason(err)}`);
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    let stat;
    try {
      stat = statSync(path);
    } catch (err) {
      errors.push(`${path}: cannot read it: ${reason(err)}`);
      continue;
    }
    if (stat.isDirectory()) walk(path, found, kustomizations, errors, visited);
    else if (stat.isFile()) {
      if (KUSTOMIZATION_FILES.includes(basename(entry))) kustomizations.add(path);
      if (EXTENSIONS.has(extname(entry).toLowerCase())) found.push(path);
    }
  }
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code === 'ENOENT'
    ? 'no such file or directory'
    : e.code === 'EACCES'
      ? 'permission denied'
      : e.message;
}
