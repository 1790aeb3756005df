/**
 * `pod-hardener certs` (`npm run certs -- [options]` in a clone): a CA and a serving certificate
 * for manual installs and local runs, written to certs/out/ (git-ignored), and the caBundle to
 * give the webhook configuration. See certs/README.md.
 *
 * The CA is reused when certs/out/ already holds one, so issuing a new serving certificate
 * (renewal, another SAN) leaves the caBundle unchanged; --new-ca replaces it.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { CertificatePair, generateCA, issueServingCertificate } from '../../certs/generate';
import { serviceDnsNames } from '../../certs/rotation';
import { EXIT, parseOptions, positiveInteger, UsageError, type Command } from '../command';

const USAGE = `pod-hardener certs [options]      (in a clone: npm run certs -- [options])

Writes ca.crt, ca.key, tls.crt, tls.key, cabundle.b64 and cabundle-patch.json into the output
directory. Without --dns/--ip/--service: the Service pod-hardener in namespace pod-hardener,
plus localhost, 127.0.0.1 and ::1.
  --service NAME      add the Service's names: NAME, NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local
  --namespace NS      namespace for --service (default pod-hardener)
  --dns NAME          add a DNS SAN (repeatable)
  --ip ADDRESS        add an IP SAN (repeatable)
  --days N            serving certificate validity in days (default 365)
  --ca-days N         CA validity in days, when a CA is created (default 3650)
  --new-ca            create a new CA even if the output directory has one
  --out DIR           output directory (default certs/out)
  --webhook-config N  MutatingWebhookConfiguration name for the printed commands (default pod-hardener)
`;

const OPTIONS = {
  service: { type: 'string', multiple: true },
  namespace: { type: 'string' },
  dns: { type: 'string', multiple: true },
  ip: { type: 'string', multiple: true },
  days: { type: 'string' },
  'ca-days': { type: 'string' },
  'new-ca': { type: 'boolean' },
  out: { type: 'string' },
  'webhook-config': { type: 'string' },
} as const;

export interface CertsOptions {
  dnsNames: string[];
  ipAddresses: string[];
  days: number;
  caDays: number;
  newCa: boolean;
  out: string;
  webhookConfiguration: string;
  namespace: string;
}

export function parseCertsArgs(argv: readonly string[]): CertsOptions {
  const v = parseOptions(argv, OPTIONS);
  for (const ip of v.ip ?? [])
    if (isIP(ip) === 0) throw new UsageError(`--ip: not an IP address: ${JSON.stringify(ip)}`);
  const days = (flag: string, value: string) => positiveInteger(flag, value, { unit: 'days' });
  const namespace = v.namespace ?? 'pod-hardener';
  const o = {
    days: days('--days', v.days ?? '365'),
    caDays: days('--ca-days', v['ca-days'] ?? '3650'),
  };
  const dnsNames = [
    ...(v.service ?? []).flatMap((s) => serviceDnsNames(s, namespace)),
    ...(v.dns ?? []),
  ];
  const ipAddresses = [...(v.ip ?? [])];
  if (dnsNames.length === 0 && ipAddresses.length === 0) {
    dnsNames.push(...serviceDnsNames('pod-hardener', namespace), 'localhost');
    ipAddresses.push('127.0.0.1', '::1');
  }
  if (o.caDays < o.days)
    throw new UsageError(
      `--ca-days (${o.caDays}) must be at least --days (${o.days}): a certificate cannot outlive its CA`,
    );
  return {
    dnsNames: [...new Set(dnsNames)],
    ipAddresses: [...new Set(ipAddresses)],
    days: o.days,
    caDays: o.caDays,
    newCa: v['new-ca'] === true,
    out: v.out ?? 'certs/out',
    webhookConfiguration: v['webhook-config'] ?? 'pod-hardener',
    namespace,
  };
}

function write(path: string, content: string, mode: number): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

/** The CA in `dir` if it is there and usable for `days` more days. */
function existingCA(dir: string, days: number): CertificatePair | undefined {
  const certPath = join(dir, 'ca.crt');
  const keyPath = join(dir, 'ca.key');
  if (!existsSync(certPath) || !existsSync(keyPath)) return undefined;
  const pair = { certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8') };
  const end = Date.parse(new X509Certificate(pair.certPem).validTo);
  if (end < Date.now() + days * 86_400_000) {
    throw new UsageError(
      `${certPath} expires ${new Date(end).toISOString()}, before a ${days}-day certificate would: use --new-ca (the caBundle changes) or fewer --days`,
    );
  }
  return pair;
}

export async function writeCertificates(
  o: CertsOptions,
  print: (line: string) => void,
): Promise<void> {
  const dir = resolve(o.out);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let ca = o.newCa ? undefined : existingCA(dir, o.days);
  const reused = ca !== undefined;
  if (!ca) {
    ca = await generateCA('pod-hardener CA', o.caDays);
    write(join(dir, 'ca.key'), ca.keyPem, 0o600);
    write(join(dir, 'ca.crt'), ca.certPem, 0o644);
  }
  const serving = await issueServingCertificate(ca, {
    dnsNames: o.dnsNames,
    ipAddresses: o.ipAddresses,
    validDays: o.days,
  });
  write(join(dir, 'tls.key'), serving.keyPem, 0o600);
  write(join(dir, 'tls.crt'), serving.certPem, 0o644);

  const caBundle = Buffer.from(ca.certPem).toString('base64');
  write(join(dir, 'cabundle.b64'), `${caBundle}\n`, 0o644);
  // Both webhooks of the configuration (enforce, audit), by position as in manifests/base.
  const patch = [0, 1].map((i) => ({
    op: 'add',
    path: `/webhooks/${i}/clientConfig/caBundle`,
    value: caBundle,
  }));
  write(join(dir, 'cabundle-patch.json'), `${JSON.stringify(patch)}\n`, 0o644);

  const rel = (f: string) => join(o.out, f);
  print(
    `${reused ? 'Reused the CA in' : 'Created a CA in'} ${rel('ca.crt')} (key ${rel('ca.key')}: keep it private)`,
  );
  print(
    `Serving certificate ${rel('tls.crt')} (key ${rel('tls.key')}), valid ${o.days} days, for:`,
  );
  for (const n of o.dnsNames) print(`  DNS ${n}`);
  for (const n of o.ipAddresses) print(`  IP  ${n}`);
  print('');
  print('caBundle (base64 of ca.crt), also in ' + rel('cabundle.b64') + ':');
  print(caBundle);
  print('');
  print('Install (manifests/overlays/manual):');
  print(`  kubectl create namespace ${o.namespace} --dry-run=client -o yaml | kubectl apply -f -`);
  print(
    `  kubectl -n ${o.namespace} create secret tls pod-hardener-tls --cert=${rel('tls.crt')} --key=${rel('tls.key')} --dry-run=client -o yaml | kubectl apply -f -`,
  );
  print('  kubectl apply -k manifests/overlays/manual');
  print(
    `  kubectl patch mutatingwebhookconfiguration ${o.webhookConfiguration} --type=json --patch-file=${rel('cabundle-patch.json')}`,
  );
  print('Local run:');
  print(
    `  POD_HARDENER_TLS_CERT_FILE=${rel('tls.crt')} POD_HARDENER_TLS_KEY_FILE=${rel('tls.key')} node dist/main.js`,
  );
  print(`  curl --cacert ${rel('ca.crt')} https://localhost:8443/mutate ...`);
}

/** A failure of the file system or of a file read (a CA that does not parse): the user's to fix. */
function isOperational(err: unknown): err is NodeJS.ErrnoException {
  return typeof (err as NodeJS.ErrnoException | undefined)?.code === 'string';
}

export const certsCommand: Command = {
  summary: 'a CA and a serving certificate for manual installs and local runs',
  usage: USAGE,
  async run(args, io) {
    const options = parseCertsArgs(args);
    try {
      await writeCertificates(options, (line) => io.stdout(`${line}\n`));
    } catch (err) {
      if (!isOperational(err)) throw err;
      io.stderr(`pod-hardener certs: ${err.message}\n`);
      return EXIT.error;
    }
    return EXIT.ok;
  },
};
