/**
 * The tests' judge of what a manifest means: test/support/kubectl-yaml, a small Go program on
 * kubectl's own decoder (k8s.io/apimachinery's YAML-or-JSON decoder on sigs.k8s.io/yaml and
 * go-yaml v2), reading many inputs in one process. It is built on first use into
 * ${POD_HARDENER_CACHE:-$HOME/.cache/pod-hardener}/tools/kubectl-yaml-<hash of its sources>/, so
 * a change to its sources builds it again and an unchanged one never does.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const SOURCES = join(__dirname, 'kubectl-yaml');
const FILES = ['go.mod', 'go.sum', 'main.go'];

/** What kubectl reads from one input: its objects (empty documents left out), or its error. */
export type KubectlRead = { docs: unknown[] } | { error: string };

export function kubectlYamlBinary(): string {
  const hash = createHash('sha256');
  for (const file of FILES)
    hash
      .update(`${file}\0`)
      .update(readFileSync(join(SOURCES, file)))
      .update('\0');
  const cache = process.env.POD_HARDENER_CACHE ?? join(homedir(), '.cache', 'pod-hardener');
  const dir = join(cache, 'tools', `kubectl-yaml-${hash.digest('hex').slice(0, 16)}`);
  const binary = join(dir, 'kubectl-yaml');
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  // Built beside its final name and renamed: test files running at once never see half a binary.
  const partial = `${binary}.${process.pid}.partial`;
  const build = spawnSync('go', ['build', '-trimpath', '-o', partial, '.'], {
    cwd: SOURCES,
    env: {
      ...process.env,
      GOTOOLCHAIN: 'local',
      CGO_ENABLED: '0',
      GOFLAGS: '-buildvcs=false -mod=readonly',
    },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (build.error || build.status !== 0) {
    rmSync(partial, { force: true });
    const why = build.error ? build.error.message : build.stderr;
    throw new Error(
      `cannot build test/support/kubectl-yaml (Go >= 1.26 and the Go module proxy or a warm module cache are needed): ${why}`,
    );
  }
  renameSync(partial, binary);
  return binary;
}

/** One running helper: inputs are answered in order, so several may be in flight. */
export class KubectlYaml {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: { resolve: (r: KubectlRead) => void; reject: (e: Error) => void }[] =
    [];
  private buffer = '';
  private stderr = '';

  constructor(binary = kubectlYamlBinary()) {
    this.child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        this.waiting.shift()?.resolve(JSON.parse(line) as KubectlRead);
      }
    });
    this.child.stderr.on('data', (chunk: Buffer) => void (this.stderr += chunk.toString()));
    this.child.on('exit', (code) => {
      for (const w of this.waiting.splice(0))
        w.reject(new Error(`kubectl-yaml exited (${code}): ${this.stderr}`));
    });
  }

  read(text: string): Promise<KubectlRead> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(`${Buffer.byteLength(text)}\n${text}`);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
    });
  }
}
