/**
 * Tracks the admission port's connections so shutdown can close idle keep-alive connections
 * without racing a client that is about to send on them.
 *
 * Why not `server.closeIdleConnections()`: it also closes a connection whose response went out a
 * millisecond ago, while the client is already sending its next request on it; that request
 * fails with ECONNRESET and, for the API server, counts as a failed webhook call (failurePolicy).
 * Measured here: 8 of 80 requests failed that way under a small load. HTTP clients (Go's
 * transport, Node's agent) reuse the most recently used idle connection first, so a connection
 * idle for a second is rarely about to be used, while one idle for a millisecond often is.
 * Recently used connections are instead closed by the `Connection: close` of their next
 * response, which is the clean way to end an HTTP/1.1 keep-alive connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Server } from 'node:https';

/** A connection idle this long is closed when shutdown starts (and while it drains). */
export const IDLE_CLOSE_AFTER_MS = 1000;

interface State {
  active: number;
  lastActive: number;
}

export class ConnectionTracker {
  private readonly sockets = new Map<Socket, State>();

  constructor(
    server: Server,
    private readonly now: () => number = Date.now,
  ) {
    server.on('secureConnection', (socket: Socket) => {
      this.sockets.set(socket, { active: 0, lastActive: this.now() });
      socket.once('close', () => this.sockets.delete(socket));
    });
    // A second 'request' listener beside the app: marks the connection busy until the response is done.
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const state = this.sockets.get(req.socket);
      if (!state) return;
      state.active++;
      res.once('close', () => {
        state.active--;
        state.lastActive = this.now();
      });
    });
  }

  get size(): number {
    return this.sockets.size;
  }

  /** Closes connections with no request in progress, idle for at least `idleMs`; returns how many. */
  closeIdle(idleMs: number): number {
    const cutoff = this.now() - idleMs;
    let closed = 0;
    for (const [socket, state] of this.sockets) {
      if (state.active === 0 && state.lastActive <= cutoff) {
        socket.destroy();
        closed++;
      }
    }
    return closed;
  }

  closeAll(): void {
    for (const socket of this.sockets.keys()) socket.destroy();
  }
}
