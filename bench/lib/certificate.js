'use strict';
/* The serving certificate every benchmark server uses: generated at run time, never stored. */
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

/**
 * Generates a development CA and a localhost certificate (the production build's own
 * generator, dist/) and writes tls.crt and tls.key into `dir`.
 * @returns {{ dir: string, certFile: string, keyFile: string, ca: string }}
 */
async function makeCertificate(root, dir) {
  const { generateDevelopmentCertificate } = require(join(root, 'dist', 'certs', 'generate.js'));
  const cert = await generateDevelopmentCertificate();
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  writeFileSync(certFile, cert.certPem);
  writeFileSync(keyFile, cert.keyPem, { mode: 0o600 });
  return { dir, certFile, keyFile, ca: cert.caPem };
}

module.exports = { makeCertificate };
