'use strict';
/*
 * The floor: the least a Node HTTPS mutating webhook can do. A bare node:https server on the
 * same certificate as the webhook that reads the body, JSON.parses the AdmissionReview and
 * answers "allowed" with a fixed JSON patch (encoded once, at start), echoing the uid (the one
 * thing the API server requires). No framework, no logging, no metrics, no hardening.
 *
 * Env: BASELINE_PORT, BASELINE_TLS_CERT_FILE, BASELINE_TLS_KEY_FILE. Prints "listening <port>".
 *
 * BASELINE_REVIEWS=N (bench/split.js only; default 0 = the floor): also run the webhook's review
 * function (dist/, default policy) N times per request and answer with its response, to tell the
 * cost of the review inside a server from that of the webhook's transport.
 */
const https = require('node:https');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const REVIEWS = Number(process.env.BASELINE_REVIEWS ?? 0);
const review = REVIEWS > 0 ? reviewFunction() : undefined;

function reviewFunction() {
  const dist = join(__dirname, '..', '..', 'dist');
  const { reviewAdmission } = require(join(dist, 'admission', 'review.js'));
  const { compilePolicy } = require(join(dist, 'engine', 'policy.js'));
  const { DEFAULT_POLICY } = require(join(dist, 'config', 'schema.js'));
  const policy = compilePolicy(DEFAULT_POLICY);
  return (body) => {
    let outcome;
    for (let i = 0; i < REVIEWS; i++) outcome = reviewAdmission(body, 'enforce', policy);
    return JSON.stringify(outcome.body);
  };
}

// What a minimal hardening patch looks like; the same bytes for every pod.
const FIXED_PATCH = Buffer.from(
  JSON.stringify([{ op: 'add', path: '/spec/securityContext/runAsNonRoot', value: true }]),
).toString('base64');

const server = https.createServer(
  {
    cert: readFileSync(process.env.BASELINE_TLS_CERT_FILE),
    key: readFileSync(process.env.BASELINE_TLS_KEY_FILE),
    keepAliveTimeout: 60_000,
  },
  (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let uid = '';
      let parsed;
      try {
        parsed = JSON.parse(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
        uid = String(parsed.request.uid);
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('bad request');
        return;
      }
      const body = review
        ? review(parsed)
        : `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":${JSON.stringify(uid)},"allowed":true,"patchType":"JSONPatch","patch":"${FIXED_PATCH}"}}`;
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    });
  },
);
server.listen(Number(process.env.BASELINE_PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
