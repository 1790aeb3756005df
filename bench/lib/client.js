'use strict';
/*
 * The load generators' HTTP/1.1 client: keep-alive TLS connections opened and verified against
 * the CA (as the API server does) before any clock starts, one request at a time per connection,
 * responses framed by Content-Length or chunked. node:https costs ~125 µs of CPU per request on a
 * small VM, this client a fraction of that, and the generator shares the machine with the server
 * it loads. Latencies go into HDR histograms in microseconds.
 */
const tls = require('node:tls');
const hdr = require('hdr-histogram-js');

function histogram() {
  // microseconds, 1 µs to 60 s, 3 significant digits
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
}

/** p50/p99/p99.9/max of a microsecond histogram, in milliseconds. */
function percentiles(h) {
  return {
    count: h.totalCount,
    p50: h.getValueAtPercentile(50) / 1000,
    p99: h.getValueAtPercentile(99) / 1000,
    p999: h.getValueAtPercentile(99.9) / 1000,
    max: h.maxValue / 1000,
  };
}

const CRLF2 = Buffer.from('\r\n\r\n');

/** Parses one HTTP/1.1 response at a time from a byte stream. */
class ResponseParser {
  constructor() {
    this.buf = Buffer.alloc(0);
    this.reset();
  }

  reset() {
    this.status = 0;
    this.bodyStart = -1;
    this.length = -1; // content-length, or -1 when chunked
    this.chunkAt = 0; // chunked: where the next chunk-size line starts
  }

  /** Feeds bytes; returns the status code when a whole response has arrived, else 0. */
  push(data) {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    if (this.bodyStart < 0) {
      const end = this.buf.indexOf(CRLF2);
      if (end < 0) return 0;
      const head = this.buf.toString('latin1', 0, end);
      this.status = Number(head.slice(9, 12));
      const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (cl) this.length = Number(cl[1]);
      else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) this.length = -1;
      else this.length = 0;
      this.bodyStart = end + 4;
      this.chunkAt = this.bodyStart;
    }
    let consumed = -1;
    if (this.length >= 0) {
      if (this.buf.length >= this.bodyStart + this.length) consumed = this.bodyStart + this.length;
    } else {
      for (;;) {
        const eol = this.buf.indexOf('\r\n', this.chunkAt, 'latin1');
        if (eol < 0) break;
        const size = parseInt(this.buf.toString('latin1', this.chunkAt, eol), 16);
        const next = eol + 2 + size + 2;
        if (this.buf.length < next) break;
        this.chunkAt = next;
        if (size === 0) {
          consumed = next;
          break;
        }
      }
    }
    if (consumed < 0) return 0;
    const status = this.status;
    this.buf = this.buf.subarray(consumed);
    this.reset();
    return status;
  }
}

function connect(port, ca) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () =>
      resolve(socket),
    );
    socket.once('error', reject);
  });
}

/** `count` verified keep-alive connections, all open before the caller's clock starts. */
function connectAll(port, ca, count) {
  return Promise.all(Array.from({ length: count }, () => connect(port, ca)));
}

/** One POST with its body, as bytes written for every request. */
function postRequest(path, body) {
  return Buffer.concat([
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    ),
    body,
  ]);
}

module.exports = { histogram, percentiles, ResponseParser, connectAll, postRequest };
