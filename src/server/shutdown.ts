/**
 * Graceful shutdown, in the order the kubelet and the API server need it:
 *
 *   1. readiness fails at once (endpoints drop this pod) and every response from now on carries
 *      `Connection: close`: the API server keeps reusing its keep-alive connections to a
 *      terminating pod, so each one is closed after its next answer;
 *   2. the admission port keeps serving for the delay, while endpoints catch up;
 *   3. it stops accepting and answers what it accepted;
 *   4. at the grace deadline, whatever is still open is cut (exit code 1 instead of 0);
 *   5. the rest stops (watchers, certificate source, health port).
 */
import { IDLE_CLOSE_AFTER_MS, type ConnectionTracker } from './connections';
import type { Lifecycle } from './app';
import type { Logger } from './logging';

export interface ShutdownOptions {
  lifecycle: Lifecycle;
  connections: Pick<ConnectionTracker, 'closeIdle' | 'closeAll' | 'size'>;
  /** Stops accepting on the admission port; `done` runs once its last connection has closed. */
  stopAccepting(done: () => void): void;
  /** Stops everything else, once the admission port is closed. */
  stopTheRest(): Promise<void>;
  logger: Logger;
  delayMs: number;
  graceMs: number;
  /** How often idle keep-alive connections are swept while draining. */
  sweepMs?: number;
}

/**
 * The shutdown of a server: resolves with the exit code (0 when every accepted request was
 * answered, 1 when connections had to be cut at the grace deadline). Calling it again returns the
 * same promise.
 */
export function shutdownSequence(o: ShutdownOptions): (reason: string) => Promise<number> {
  let stopping: Promise<number> | undefined;
  const run = async (reason: string): Promise<number> => {
    const { connections, logger, delayMs, graceMs } = o;
    const started = Date.now();
    o.lifecycle.draining = true;
    const closedIdle = connections.closeIdle(IDLE_CLOSE_AFTER_MS);
    logger.info(
      {
        reason,
        delayMs,
        graceMs,
        closedIdleConnections: closedIdle,
        openConnections: connections.size,
      },
      'shutting down: readiness fails now; still serving while endpoints drop this pod',
    );
    const sweep = setInterval(() => connections.closeIdle(IDLE_CLOSE_AFTER_MS), o.sweepMs ?? 250);
    let forced = false;
    await new Promise<void>((resolve) => {
      const deadline = setTimeout(() => {
        forced = true;
        logger.warn(
          { graceMs, openConnections: connections.size },
          'grace period over: closing the remaining connections',
        );
        connections.closeAll();
        resolve();
      }, graceMs);
      setTimeout(
        () =>
          o.stopAccepting(() => {
            clearTimeout(deadline);
            resolve();
          }),
        Math.min(delayMs, graceMs),
      );
    });
    clearInterval(sweep);
    await o.stopTheRest();
    logger.info({ reason, elapsedMs: Date.now() - started, forced }, 'stopped');
    return forced ? 1 : 0;
  };
  return (reason) => (stopping ??= run(reason));
}

/**
 * SIGTERM (kubelet) or SIGINT (Ctrl-C): graceful shutdown, then `exit` with its code. A second
 * signal exits at once.
 */
export function handleSignals(
  target: NodeJS.EventEmitter,
  server: { shutdown(reason: string): Promise<number>; readonly logger: Logger },
  exit: (code: number) => void,
): void {
  let received = 0;
  const onSignal = (signal: string) => {
    received++;
    if (received === 1) {
      server.shutdown(signal).then(exit, (err: unknown) => {
        server.logger.error({ err }, 'shutdown failed');
        exit(1);
      });
    } else {
      server.logger.warn({ signal }, 'second signal: exiting now');
      exit(1);
    }
  };
  target.on('SIGTERM', () => onSignal('SIGTERM'));
  target.on('SIGINT', () => onSignal('SIGINT'));
}
