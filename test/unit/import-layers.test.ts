/**
 * The shape of src/, kept by a test rather than by review: no import circles (type-only imports
 * included: a circle of types still ties two modules into one), and each part imports only the
 * parts below it. Data flows one way, so nothing reaches back up:
 *
 *   names, errors  <-  engine  <-  config, admission, certs  <-  server  <-  main.ts
 *                                                            <-  policy  <-  cli
 *                                       config  <-  image-identity  <-  server, cli
 *
 * Inside cli/, each command's folder uses the tool's shared files (command.ts, the policy loader)
 * and never another command's folder; only the dispatcher (main.ts) names the commands.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const SRC = resolve(__dirname, '..', '..', 'src');

/** What each part of src/ may import, besides itself. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  'names.ts': [],
  'errors.ts': [],
  engine: ['names.ts', 'errors.ts'],
  config: ['engine', 'names.ts', 'errors.ts'],
  admission: ['engine', 'names.ts', 'errors.ts'],
  certs: ['names.ts', 'errors.ts'],
  // The registry client and resolver of image identity: below the webhook and the tool that call it.
  'image-identity': ['config', 'engine', 'names.ts', 'errors.ts'],
  server: ['admission', 'config', 'engine', 'certs', 'image-identity', 'names.ts', 'errors.ts'],
  policy: ['admission', 'config', 'engine', 'names.ts', 'errors.ts'],
  cli: [
    'admission',
    'config',
    'engine',
    'certs',
    'policy',
    'image-identity',
    'names.ts',
    'errors.ts',
  ],
  'main.ts': ['server', 'config', 'engine', 'names.ts', 'errors.ts'],
};

/** The files of cli/ that every command may use, and the entry points that name the commands. */
const CLI_SHARED = ['cli/command.ts', 'cli/configured-policy.ts', 'cli/image-identity.ts'];
/**
 * Files of one command's folder that another command may use: scan's connection to the cluster
 * (kubeconfig, contexts, tokens, TLS), which `policy --check-cluster` reads the version through.
 */
const ACROSS_COMMANDS = ['cli/scan/kube-client.ts'];
const CLI_ENTRIES = ['cli/main.ts', 'cli/kubectl-harden.ts'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The file a relative specifier names (`./x` is x.ts or x/index.ts); undefined for packages. */
function resolveImport(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts'), base]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not this one
    }
  }
  throw new Error(`${relative(SRC, from)}: cannot resolve ${specifier}`);
}

/** Every module a file imports: static, type-only, re-exports and dynamic import(). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => resolveImport(file, f.fileName))
    .filter((f): f is string => f !== undefined);
}

export function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root)) {
    graph.set(relative(root, file), [...new Set(importsOf(file).map((f) => relative(root, f)))]);
  }
  return graph;
}

/** The import circles of a graph: its strongly connected components of more than one module, or a module importing itself (Tarjan). */
export function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node))
      found.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

const partOf = (file: string) => file.split('/')[0];
const commandFolderOf = (file: string) => {
  const parts = file.split('/');
  return parts[0] === 'cli' && parts.length > 2 ? parts[1] : undefined;
};

/** Each import that goes against the layers, as `from -> to`. */
export function upwardImports(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const wrong: string[] = [];
  for (const [from, imports] of graph) {
    const part = partOf(from);
    const allowed = MAY_IMPORT[part];
    for (const to of imports) {
      const target = partOf(to);
      if (allowed === undefined) wrong.push(`${from} -> ${to} (${part} is not in MAY_IMPORT)`);
      else if (target !== part && !allowed.includes(target)) wrong.push(`${from} -> ${to}`);
      else if (part === 'cli' && target === 'cli' && !CLI_ENTRIES.includes(from)) {
        const folder = commandFolderOf(to);
        if (
          folder !== undefined &&
          folder !== commandFolderOf(from) &&
          !ACROSS_COMMANDS.includes(to)
        )
          wrong.push(`${from} -> ${to} (another command's folder)`);
        if (folder === undefined && !CLI_SHARED.includes(to))
          wrong.push(`${from} -> ${to} (cli/ shares only ${CLI_SHARED.join(', ')})`);
      }
    }
  }
  return wrong;
}

describe('the imports of src/', () => {
  const graph = importGraph(SRC);

  it('reads the whole tree, dynamic imports included', () => {
    expect(graph.size).toBeGreaterThan(80);
    expect(graph.get('cli/main.ts')).toEqual(
      expect.arrayContaining(['cli/command.ts', 'cli/scan/command.ts']),
    );
  });

  it('form no circle', () => {
    expect(circles(graph)).toEqual([]);
  });

  it('only go down the layers', () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it('the checks find what they look for', () => {
    const bad = new Map<string, string[]>([
      ['engine/a.ts', ['engine/b.ts', 'config/schema.ts']],
      ['engine/b.ts', ['engine/a.ts']],
      ['config/schema.ts', []],
      ['cli/scan/command.ts', ['cli/manifests/command.ts', 'cli/command.ts', 'server/app.ts']],
      ['cli/manifests/command.ts', []],
      ['cli/command.ts', ['cli/scan/args.ts']],
      ['cli/scan/args.ts', []],
      ['server/app.ts', []],
      ['tools/x.ts', []],
      ['tools/y.ts', ['tools/y.ts']],
    ]);
    expect(circles(bad)).toEqual([['engine/a.ts', 'engine/b.ts'], ['tools/y.ts']]);
    expect(upwardImports(bad)).toEqual([
      'engine/a.ts -> config/schema.ts',
      "cli/scan/command.ts -> cli/manifests/command.ts (another command's folder)",
      'cli/scan/command.ts -> server/app.ts',
      "cli/command.ts -> cli/scan/args.ts (another command's folder)",
      'tools/y.ts -> tools/y.ts (tools is not in MAY_IMPORT)',
    ]);
  });
});
