/**
 * Tells when files *may* have changed; the caller reads them and compares bytes.
 *
 * Kubernetes updates a mounted ConfigMap or Secret by writing a new timestamped directory and
 * atomically renaming the `..data` symlink onto it; the visible files are symlinks through
 * `..data`. A watch on the file itself keeps following the old inode and never fires again, so
 * this watches the *directory* (the rename of `..data` shows there), and also polls, because
 * inotify is missing or exhausted on some nodes and some volume types send no events at all
 * (controller-runtime's certwatcher and cert-manager do the same).
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';

export interface FileWatchOptions {
  /** Files whose directories are watched. */
  files: readonly string[];
  /** Poll period; also how often a missing directory is watched again. */
  pollIntervalMs: number;
  /** Called (debounced) after a directory event, and on every poll tick. */
  onCheck: () => void;
  /** A directory could not be watched; polling still runs. */
  onWatchError?: (dir: string, err: Error) => void;
  debounceMs?: number;
}

export interface FileWatch {
  close(): void;
}

export function watchFiles(options: FileWatchOptions): FileWatch {
  const dirs = [...new Set(options.files.map((f) => dirname(f)))];
  const watchers = new Map<string, FSWatcher>();
  const reported = new Set<string>();
  let debounce: NodeJS.Timeout | undefined;
  let closed = false;

  const check = () => {
    if (!closed) options.onCheck();
  };
  const soon = () => {
    if (debounce) clearTimeout(debounce);
    // A `..data` swap is several events (create temp link, rename, remove old dir): wait for the
    // burst to end, then read once.
    debounce = setTimeout(check, options.debounceMs ?? 50);
    debounce.unref();
  };

  const watchDir = (dir: string) => {
    if (watchers.has(dir) || closed) return;
    try {
      const w = watch(dir, { persistent: false }, soon);
      w.on('error', (err) => {
        // The directory went away (or the watch broke): drop it and re-watch on a later tick.
        w.close();
        watchers.delete(dir);
        options.onWatchError?.(dir, err);
      });
      watchers.set(dir, w);
      reported.delete(dir);
    } catch (err) {
      if (!reported.has(dir)) options.onWatchError?.(dir, err as Error);
      reported.add(dir);
    }
  };

  for (const dir of dirs) watchDir(dir);
  const poll = setInterval(() => {
    for (const dir of dirs) watchDir(dir);
    check();
  }, options.pollIntervalMs);
  poll.unref();

  return {
    close() {
      closed = true;
      clearInterval(poll);
      if (debounce) clearTimeout(debounce);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
