'use strict';
/*
 * Image identity's cost with a warm cache: the same review (the pod-4k fixture, its images
 * moved to a local registry whose images say USER 999) answered by a webhook with identity off
 * and by one with identity on, A B B A, CPU per review. Warm, every lookup is a cache hit: the
 * figure is what identity adds to every review once the images are known (target: within 5 %).
 *
 * The registry is a few lines of node:http on 127.0.0.1: it serves each image's manifest and
 * config, and counts requests, so the run can say that the measured segments made none.
 */
const { createHash } = require('node:crypto');
const { createServer } = require('node:http');
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const sha = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function startRegistry(user) {
  const files = new Map();
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(req.url ?? '');
    const file = m && files.get(`${m[1]}/${m[3]}`);
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': file.type, 'Content-Length': file.body.length });
    res.end(file.body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${server.address().port}`;
  const push = (repository, tag) => {
    const config = Buffer.from(
      JSON.stringify({ os: 'linux', architecture: 'amd64', config: { User: user } }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: sha(config),
          size: config.length,
        },
        layers: [],
      }),
    );
    files.set(`${repository}/${sha(config)}`, { type: 'application/octet-stream', body: config });
    const m = { type: 'application/vnd.oci.image.manifest.v1+json', body: manifest };
    files.set(`${repository}/${tag}`, m);
    files.set(`${repository}/${sha(manifest)}`, m);
    return `${host}/${repository}:${tag}`;
  };
  return {
    host,
    push,
    requests: () => requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** The fixture with every container's image on the registry. */
function identityFixture(fixture, registry) {
  const review = JSON.parse(fixture.text);
  const spec = review.request.object.spec;
  for (const list of ['containers', 'initContainers'])
    for (const [i, c] of (spec[list] ?? []).entries())
      c.image = registry.push(`bench/${list}-${i}`, '1');
  const text = JSON.stringify(review);
  return { name: `${fixture.name} (images on a local registry)`, text, body: Buffer.from(text) };
}

/**
 * Starts the two webhooks and the registry; returns them with the fixture and a stop function.
 * `shippedConfig` is the configuration both run with; the identity one adds its section.
 */
async function startIdentityPair({ startWebhook, root, cert, shippedConfig, dir, fixture }) {
  const registry = await startRegistry('999');
  const body = identityFixture(fixture, registry);
  const onConfig = join(dir, 'config-identity.yaml');
  writeFileSync(
    onConfig,
    `${readFileSync(shippedConfig, 'utf8')}\nimageIdentity:\n  enabled: true\n  registries: ["${registry.host}"]\n  insecureRegistries: ["${registry.host}"]\n  tagTtlSeconds: 86400\n`,
  );
  const common = { root, certFile: cert.certFile, keyFile: cert.keyFile, logTo: 'null' };
  const off = await startWebhook({ ...common, config: shippedConfig, name: 'identity off' });
  const on = await startWebhook({ ...common, config: onConfig, name: 'identity on' });
  return {
    pair: [off, on],
    fixture: body,
    registry,
    stop: async () => {
      await off.stop();
      await on.stop();
      await registry.close();
    },
  };
}

module.exports = { startIdentityPair };
