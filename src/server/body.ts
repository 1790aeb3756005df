/**
 * Reads an admission request body: the raw bytes once, into one Buffer, then one JSON.parse.
 * body-parser does the same work through raw-body, a stream decoder, iconv-lite and type-is on
 * every review, about a tenth of the webhook's CPU per review in a profile; the API server sends
 * plain UTF-8 JSON, never compressed, so none of that generality is needed.
 */
import type { IncomingMessage } from 'node:http';
import { createError, type PodHardenerError } from '../errors';

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/**
 * Calls `done` once with the parsed body, or with why it cannot be used (EMPTY_BODY, BAD_JSON,
 * BAD_CONTENT_ENCODING, BODY_TOO_LARGE); never when the client goes away first (there is nobody
 * to answer). Over `limit` bytes, by Content-Length or by count, reading stops at once. A
 * callback rather than a promise: a promise and an async handler cost a measurable part of the
 * transport's CPU per review, for nothing a callback does not do.
 */
export function readJsonBody(
  req: IncomingMessage,
  limit: number,
  done: (err: PodHardenerError | undefined, value?: unknown) => void,
): void {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    done(createError('BAD_CONTENT_ENCODING', JSON.stringify(encoding)));
    return;
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    done(createError('BODY_TOO_LARGE', limit));
    return;
  }

  const chunks: Buffer[] = [];
  let received = 0;
  let finished = false;
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (received > limit) {
      finished = true;
      req.off('data', onData);
      req.pause();
      done(createError('BODY_TOO_LARGE', limit));
      return;
    }
    chunks.push(chunk);
  };
  req.on('data', onData);
  req.once('end', () => {
    if (finished) return;
    finished = true;
    if (received === 0) {
      done(createError('EMPTY_BODY'));
      return;
    }
    let bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received);
    if (
      bytes.length >= 3 &&
      bytes[0] === UTF8_BOM[0] &&
      bytes[1] === UTF8_BOM[1] &&
      bytes[2] === UTF8_BOM[2]
    )
      bytes = bytes.subarray(3);
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      done(createError('BAD_JSON', (err as Error).message));
      return;
    }
    done(undefined, value);
  });
}
