/**
 * Polling for a condition, for every tier: a reload to land, a server to count a failure, the API
 * server to store a pod, the kubelet to run it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';

export interface EventuallyOptions {
  /** What is awaited, as the timeout says it: "timed out after 20 s waiting for <what>". */
  what: string;
  /** How long to keep trying, from the first attempt. */
  timeoutMs: number;
  /** The pause between two attempts. */
  everyMs: number;
}

/**
 * Calls `check` until it returns something other than undefined or false, and returns that.
 *
 * An attempt that throws counts as "not yet" (a kubectl call that fails while the API server
 * restarts, a connection refused before the server listens), and the next attempt follows. When
 * time runs out, the error says what was awaited and, when an attempt threw, the last such error
 * (also its `cause`): a condition that never came about because of an error says which.
 */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { what, timeoutMs, everyMs }: EventuallyOptions,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  let lastError: { error: unknown; attempt: number } | undefined;
  for (;;) {
    attempts++;
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = { error, attempt: attempts };
    }
    if (Date.now() > deadline) {
      const seconds = timeoutMs >= 1000 ? `${timeoutMs / 1000} s` : `${timeoutMs} ms`;
      let message = `timed out after ${seconds} waiting for ${what} (${attempts} attempts)`;
      if (lastError) {
        const when =
          lastError.attempt === attempts ? 'the last attempt' : `attempt ${lastError.attempt}`;
        message += `; ${when} failed with: ${describe(lastError.error)}`;
      }
      throw new Error(message, lastError ? { cause: lastError.error } : undefined);
    }
    await sleep(everyMs);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : inspect(error, { depth: 4 });
}
