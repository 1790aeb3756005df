/**
 * node:http's client errors: requests it gave up on before express saw them, answered in JSON
 * with a code, counted and logged like every other transport failure.
 */
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { createError, type ErrorCode } from '../errors';
import { recordTransportFailure } from './app';
import type { Logger } from './logging';
import type { Metrics } from './metrics';

/** node:http's client errors, the transport failures that happen before express sees a request. */
const CLIENT_ERRORS: Readonly<Record<string, ErrorCode>> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
};

/**
 * A request that node:http gave up on (headers or body not in within their timeouts, or bytes
 * that are not HTTP): answered as node:http would by default, but in JSON with a code, counted
 * and logged. The socket is closed after it: what is left on it cannot be trusted.
 */
export function answerClientError(
  err: NodeJS.ErrnoException,
  socket: Socket,
  metrics: Metrics,
  logger: Logger,
): void {
  // The client went away, or a response is already on the wire: nobody is left to answer.
  const answered =
    (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent ===
    true;
  if (err.code === 'ECONNRESET' || !socket.writable || answered) {
    socket.destroy();
    return;
  }
  const code = CLIENT_ERRORS[err.code ?? ''];
  const failure = code !== undefined ? createError(code) : createError('BAD_HTTP', err.message);
  recordTransportFailure(metrics, logger, failure, { remoteAddress: socket.remoteAddress });
  const body = JSON.stringify({ error: { code: failure.code, message: failure.message } });
  const head =
    `HTTP/1.1 ${failure.status} ${STATUS_CODES[failure.status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
  socket.end(head + body, () => socket.destroy());
}
