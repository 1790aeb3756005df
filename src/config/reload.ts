/**
 * Live configuration: the policy the next review uses, and the watcher that replaces it when the
 * mounted file changes. A new file goes through exactly the same loadConfig as at start (same
 * argv and environment, so the environment still wins); an invalid one changes nothing.
 */
import { compilePolicy, type Policy } from '../engine/policy';
import { watchFiles, type FileWatch } from './file-watch';
import {
  ConfigError,
  loadConfig,
  policySettings,
  type LoadedConfig,
  type LoadOptions,
} from './load';
import type { Config } from './schema';
import { isJsonObject as isObject } from '../engine/json';

/** The policy in force. Reviews read `current` once each, so a swap never splits a review. */
export class PolicyHolder {
  current: Policy;
  constructor(config: Config) {
    this.current = compilePolicy(policySettings(config));
  }
  update(config: Config): void {
    this.current = compilePolicy(policySettings(config));
  }
}

export interface ConfigWatchOptions {
  /** The options the configuration was first loaded with. */
  load: LoadOptions;
  initial: LoadedConfig;
  /** ~5 s: how long a missed event can delay a reload. */
  pollIntervalMs?: number;
  /** A new, valid configuration (only called when the file's bytes changed). */
  onReload: (next: LoadedConfig, previous: LoadedConfig) => void;
  /** The file changed but cannot be used; the previous configuration stays in force. */
  onError: (errors: readonly string[]) => void;
  onWatchError?: (dir: string, err: Error) => void;
}

export function watchConfig(options: ConfigWatchOptions): FileWatch {
  const file = options.initial.file;
  if (file === undefined) return { close() {} };
  let current = options.initial;
  // What was last seen on disk (content, or the read error): each distinct state is acted on
  // once, not on every poll. It starts as the bytes the configuration in force was parsed from,
  // not a read of its own: an edit landing between the first load and this line would then be
  // taken for the configuration in force and never applied.
  let lastSeen = options.initial.fileText;

  const check = () => {
    let text: string;
    try {
      text = options.load.readFile(file);
    } catch (err) {
      const state = `\0error: ${(err as Error).message}`;
      if (state === lastSeen) return;
      lastSeen = state;
      options.onError([`config ${file}: cannot read it: ${(err as Error).message}`]);
      return;
    }
    if (text === lastSeen) return;
    lastSeen = text;
    let next: LoadedConfig;
    try {
      // Parse the bytes just compared, not a second read that might see yet another version.
      next = loadConfig({
        ...options.load,
        readFile: (p) => (p === file ? text : options.load.readFile(p)),
      });
    } catch (err) {
      options.onError(err instanceof ConfigError ? err.errors : [String(err)]);
      return;
    }
    const previous = current;
    current = next;
    options.onReload(next, previous);
  };

  const watch = watchFiles({
    files: [file],
    pollIntervalMs: options.pollIntervalMs ?? 5000,
    onCheck: check,
    onWatchError: options.onWatchError,
  });
  // An edit between the first load and the start of the watch sent no event the watch could
  // see: look once now rather than a poll interval later.
  check();
  return watch;
}

/**
 * Keys that differ between two configurations and only take effect at restart: everything under
 * `server`, `certificates` and `imageIdentity` (sockets, certificate sources and the image
 * resolver with its cache are set up once).
 */
export function restartOnlyChanges(previous: Config, next: Config): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    if (isObject(a) && isObject(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)]))
        walk(a[key], b[key], `${path}.${key}`);
    } else if (JSON.stringify(a) !== JSON.stringify(b)) out.push(path);
  };
  walk(previous.server, next.server, 'server');
  walk(previous.certificates, next.certificates, 'certificates');
  walk(previous.imageIdentity, next.imageIdentity, 'imageIdentity');
  return out;
}
