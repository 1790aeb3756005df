/**
 * The tests' small Go programs (test/support/<name>, each with its own go.mod): built on first use
 * by scripts/build-go-program.sh into a cache keyed by their sources, and run as one long-lived
 * process answering one line of JSON per input, in order.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { buildScriptBin } from './tools';

/** The path of test/support/<name>'s binary, built first when its sources changed. */
export function goProgramBinary(name: string): string {
  return buildScriptBin('build-go-program.sh', [`test/support/${name}`]);
}

/** One running program: each request gets the next line of its stdout, so many may be in flight. */
export class LineProcess<T> {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: { resolve: (r: T) => void; reject: (e: Error) => void }[] = [];
  private buffer = '';
  private stderr = '';

  constructor(
    private readonly name: string,
    binary: string,
  ) {
    this.child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        this.waiting.shift()?.resolve(JSON.parse(line) as T);
      }
    });
    this.child.stderr.on('data', (chunk: Buffer) => void (this.stderr += chunk.toString()));
    this.child.on('exit', (code) => {
      for (const w of this.waiting.splice(0))
        w.reject(new Error(`${this.name} exited (${code}): ${this.stderr}`));
    });
  }

  /** Sends `text` as it is (the caller frames it) and resolves with the answer line, parsed. */
  request(text: string): Promise<T> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(text);
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
