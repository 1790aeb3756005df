import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load';

/**
 * The ConfigMap shipped in manifests/base must load under the environment each overlay's
 * Deployment sets: an invalid default config would crash-loop every fresh install.
 */
const CONFIG = join(__dirname, '../../../manifests/base/config.yaml');
const base = { POD_HARDENER_CONFIG: CONFIG, POD_HARDENER_NAMESPACE: 'pod-hardener' };

describe('manifests/base/config.yaml', () => {
  it('loads with the files source (cert-manager and manual overlays)', () => {
    const { config } = loadConfig({
      argv: [],
      env: {
        ...base,
        POD_HARDENER_CERT_SOURCE: 'files',
        POD_HARDENER_TLS_CERT_FILE: '/var/run/pod-hardener/tls/tls.crt',
        POD_HARDENER_TLS_KEY_FILE: '/var/run/pod-hardener/tls/tls.key',
      },
      readFile: (p) => readFileSync(p, 'utf8'),
    });
    expect(config.certificates.source).toBe('files');
    expect(config.server.port).toBe(8443);
    expect(config.server.metricsPort).toBe(8080);
  });

  it('loads with the self-managed source, the namespace from the downward API', () => {
    const { config } = loadConfig({
      argv: [],
      env: { ...base, POD_HARDENER_CERT_SOURCE: 'self-managed' },
      readFile: (p) => readFileSync(p, 'utf8'),
    });
    expect(config.certificates.source).toBe('self-managed');
    expect(config.certificates.selfManaged).toEqual({
      namespace: 'pod-hardener',
      serviceName: 'pod-hardener',
      secretName: 'pod-hardener-certs',
      webhookConfigurationName: 'pod-hardener',
      validityDays: 90,
      renewBeforeDays: 30,
      checkIntervalSeconds: 3600,
      extraDnsNames: [],
      extraIpAddresses: [],
    });
    expect(config.certificates.directory).toBe('/var/run/pod-hardener/tls');
  });
});
