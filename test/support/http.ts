/**
 * Helpers for the http tier (and the config unit tests that need real files): a mounted volume
 * updated the way the kubelet does it, HTTPS requests, polling for a condition.
 */
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix = 'ph-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

let generation = 0;

/**
 * A directory laid out like a mounted ConfigMap or Secret (kubelet's AtomicWriter): the data in
 * `..<timestamp>/`, a `..data` symlink onto it, and each visible file a symlink `name ->
 * ..data/name`. `update` swaps `..data` atomically onto a new timestamped directory and removes
 * the old one, exactly as the kubelet does on a Secret or ConfigMap change.
 */
export class KubeVolume {
  constructor(readonly dir: string) {}

  static create(files: Record<string, string>, dir = tempDir('ph-volume-')): KubeVolume {
    const volume = new KubeVolume(dir);
    const data = volume.writeGeneration(files);
    symlinkSync(data, join(dir, '..data'));
    for (const name of Object.keys(files)) symlinkSync(join('..data', name), join(dir, name));
    return volume;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  update(files: Record<string, string>): void {
    const old = readdirSync(this.dir).filter((n) => n.startsWith('..') && n !== '..data');
    const data = this.writeGeneration(files);
    const tmp = join(this.dir, '..data_tmp');
    symlinkSync(data, tmp);
    renameSync(tmp, join(this.dir, '..data'));
    for (const name of Object.keys(files)) {
      try {
        symlinkSync(join('..data', name), join(this.dir, name));
      } catch {
        // already linked
      }
    }
    for (const dir of old) rmSync(join(this.dir, dir), { recursive: true, force: true });
  }

  private writeGeneration(files: Record<string, string>): string {
    const name = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${++generation}`;
    mkdirSync(join(this.dir, name));
    for (const [file, content] of Object.entries(files)) writeFileSync(join(this.dir, name, file), content);
    return name;
  }
}

/** Polls `probe` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
