/**
 * What the self-managed certificate bootstrap should do, decided from what is stored and the
 * clock alone: no API server, no files, no timers (those are in reconcile.ts and
 * self-managed.ts), so every case is a unit test.
 *
 * The Secret holds (PEM, as text):
 *   ca.crt, ca.key            the active CA: signs the serving certificate
 *   ca-next.crt, ca-next.key  a staged CA, trusted but not yet signing (only during a rotation)
 *   ca-bundle.crt             every CA the API server must trust: the active one, the staged one,
 *                             and retired ones until they expire (the webhook's caBundle)
 *   tls.crt, tls.key          the serving certificate, shared by every replica
 *
 * Timeline, with V = validityDays and R = renewBeforeDays:
 *   - the serving certificate lives V days and is reissued R days before it ends;
 *   - the CA lives CA_LIFETIME_FACTOR x V days. When less than V + R days remain, a new CA is
 *     *staged*: added to the bundle, so the API server trusts it before anything is signed by it.
 *   - CA_OVERLAP_MS later the staged CA is *promoted*: it becomes active and signs a new serving
 *     certificate. The old CA stays in the bundle until it expires, so a replica still serving
 *     the old certificate (until its next check) is still trusted.
 * Promotion happens while the old CA still has about V + R days left, so no serving certificate
 * ever outlives the CA that signed it (issuance also clamps to the CA's end, as a backstop).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { CertificatePair, generateCA, issueServingCertificate } from './generate';

export const SecretKeys = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  nextCaCert: 'ca-next.crt',
  nextCaKey: 'ca-next.key',
  caBundle: 'ca-bundle.crt',
  tlsCert: 'tls.crt',
  tlsKey: 'tls.key',
} as const;

/** Secret data as text (base64-decoded). Keys other than SecretKeys are kept as they are. */
export type SecretText = Record<string, string>;

export interface RotationSettings {
  /** SANs the serving certificate must cover. */
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  validityDays: number;
  renewBeforeDays: number;
  /** Subject CN of the CAs this bootstrap creates. */
  caCommonName: string;
}

export const DAY_MS = 24 * 60 * 60 * 1000;
/** The CA outlives many serving certificates: its rotation (a caBundle change) stays rare. */
export const CA_LIFETIME_FACTOR = 10;
/**
 * How long a staged CA sits in the caBundle before it signs anything. The API server picks up a
 * caBundle change within seconds (its informer on webhook configurations); a day is a wide
 * margin that costs nothing, since a CA rotation happens once every few years.
 */
export const CA_OVERLAP_MS = DAY_MS;

export function caValidityDays(s: Pick<RotationSettings, 'validityDays'>): number {
  return s.validityDays * CA_LIFETIME_FACTOR;
}

interface ParsedCert {
  pem: string;
  cert: X509Certificate;
  notBefore: number;
  notAfter: number;
}

function parseCert(pem: string | undefined): ParsedCert | undefined {
  if (pem === undefined || pem.trim() === '') return undefined;
  try {
    const cert = new X509Certificate(pem);
    return { pem, cert, notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) };
  } catch {
    return undefined;
  }
}

function keyMatches(cert: X509Certificate, keyPem: string | undefined): boolean {
  if (keyPem === undefined || keyPem.trim() === '') return false;
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** A usable CA: parses, is a CA, its key matches, and it has not expired. */
function usableCA(
  certPem: string | undefined,
  keyPem: string | undefined,
  now: number,
): ParsedCert | undefined {
  const ca = parseCert(certPem);
  if (!ca || !ca.cert.ca || !keyMatches(ca.cert, keyPem) || ca.notAfter <= now) return undefined;
  return ca;
}

/** Splits a PEM bundle into single certificates (PEM). */
export function splitPem(bundle: string | undefined): string[] {
  return (
    (bundle ?? '')
      .match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)
      ?.map((p) => `${p}\n`) ?? []
  );
}

function issuedBy(serving: X509Certificate, ca: X509Certificate): boolean {
  try {
    return serving.checkIssued(ca) && serving.verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** Does the certificate cover every wanted DNS name and IP address through its SANs? */
export function coversNames(
  cert: X509Certificate,
  dnsNames: readonly string[],
  ipAddresses: readonly string[],
): boolean {
  return (
    dnsNames.every((n) => cert.checkHost(n, { subject: 'never' }) !== undefined) &&
    ipAddresses.every((ip) => cert.checkIP(ip) !== undefined)
  );
}

export type CaAction = 'keep' | 'create' | 'stage' | 'promote';

export interface Plan {
  ca: CaAction;
  /** Issue a new serving certificate with the (new) active CA. */
  renewServing: boolean;
  /** Drop expired or unreadable CAs from the bundle, or add a missing one. */
  rewriteBundle: boolean;
  /** Why, for the logs; empty when nothing is to be done. */
  reasons: string[];
}

export function isNoop(plan: Plan): boolean {
  return plan.ca === 'keep' && !plan.renewServing && !plan.rewriteBundle;
}

/** Decides what to change in the stored certificates at time `now`. */
export function decide(data: SecretText, now: Date, s: RotationSettings): Plan {
  const t = now.getTime();
  const reasons: string[] = [];
  let ca: CaAction = 'keep';
  let renewServing = false;

  const active = usableCA(data[SecretKeys.caCert], data[SecretKeys.caKey], t);
  const next = usableCA(data[SecretKeys.nextCaCert], data[SecretKeys.nextCaKey], t);
  if (!active) {
    ca = 'create';
    reasons.push(
      data[SecretKeys.caCert]
        ? 'the stored CA is unusable (expired, not a CA, or its key does not match)'
        : 'no CA stored yet',
    );
  } else if (next && t - next.notBefore >= CA_OVERLAP_MS) {
    ca = 'promote';
    reasons.push(
      'the staged CA has been trusted long enough: it now signs the serving certificate',
    );
  } else if (!next && active.notAfter - t < (s.validityDays + s.renewBeforeDays) * DAY_MS) {
    ca = 'stage';
    reasons.push(
      `the CA expires ${new Date(active.notAfter).toISOString()}: a new CA is added to the caBundle before it signs anything`,
    );
  } else if (!next && (data[SecretKeys.nextCaCert] ?? '') !== '') {
    // An unusable staged CA: stage a fresh one (it was never used to sign).
    ca = 'stage';
    reasons.push('the staged CA is unusable: staging a new one');
  }

  if (ca === 'create' || ca === 'promote') {
    renewServing = true;
  } else {
    const serving = parseCert(data[SecretKeys.tlsCert]);
    if (!serving) {
      renewServing = true;
      reasons.push('no readable serving certificate stored');
    } else if (!keyMatches(serving.cert, data[SecretKeys.tlsKey])) {
      renewServing = true;
      reasons.push('the serving key does not match the serving certificate');
    } else if (!issuedBy(serving.cert, active!.cert)) {
      renewServing = true;
      reasons.push('the serving certificate was not issued by the active CA');
    } else if (!coversNames(serving.cert, s.dnsNames, s.ipAddresses)) {
      renewServing = true;
      reasons.push(
        `the serving certificate does not cover ${[...s.dnsNames, ...s.ipAddresses].join(', ')}`,
      );
    } else if (serving.notAfter - t < s.renewBeforeDays * DAY_MS) {
      renewServing = true;
      reasons.push(
        `the serving certificate expires ${new Date(serving.notAfter).toISOString()}, within ${s.renewBeforeDays} days`,
      );
    }
  }

  // Whatever else happens, the stored bundle must be exactly what it would be rebuilt as.
  const rewriteBundle = ca === 'keep' && data[SecretKeys.caBundle] !== buildBundle(data, t);
  if (rewriteBundle) reasons.push('the CA bundle is missing a trusted CA or holds an expired one');
  return { ca, renewServing, rewriteBundle, reasons };
}

/**
 * The CA bundle for the stored data: active CA, staged CA, then every other CA already in the
 * bundle that has not expired, without duplicates, in that order.
 */
function buildBundle(data: SecretText, now: number): string {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (pem: string | undefined) => {
    const c = parseCert(pem);
    if (!c || !c.cert.ca || c.notAfter <= now || seen.has(c.cert.fingerprint256)) return;
    seen.add(c.cert.fingerprint256);
    out.push(c.pem.trim() + '\n');
  };
  add(data[SecretKeys.caCert]);
  add(data[SecretKeys.nextCaCert]);
  for (const pem of splitPem(data[SecretKeys.caBundle])) add(pem);
  return out.join('');
}

/** The caBundle the webhook configuration must carry for these stored certificates. */
export function caBundleOf(data: SecretText, now: Date): string {
  return buildBundle(data, now.getTime());
}

/**
 * Carries out a plan: returns the new Secret data (keys this module does not own are kept).
 * Generates keys, so it is async; it reads no clock but `now`.
 */
export async function execute(
  plan: Plan,
  data: SecretText,
  now: Date,
  s: RotationSettings,
): Promise<SecretText> {
  const out: SecretText = { ...data };
  const t = now.getTime();
  const setPair = (certKey: string, keyKey: string, pair: CertificatePair | undefined) => {
    if (pair) {
      out[certKey] = pair.certPem;
      out[keyKey] = pair.keyPem;
    } else {
      delete out[certKey];
      delete out[keyKey];
    }
  };

  switch (plan.ca) {
    case 'create':
      setPair(
        SecretKeys.caCert,
        SecretKeys.caKey,
        await generateCA(s.caCommonName, caValidityDays(s), now),
      );
      setPair(SecretKeys.nextCaCert, SecretKeys.nextCaKey, undefined);
      break;
    case 'stage':
      setPair(
        SecretKeys.nextCaCert,
        SecretKeys.nextCaKey,
        await generateCA(s.caCommonName, caValidityDays(s), now),
      );
      break;
    case 'promote':
      out[SecretKeys.caCert] = data[SecretKeys.nextCaCert]!;
      out[SecretKeys.caKey] = data[SecretKeys.nextCaKey]!;
      setPair(SecretKeys.nextCaCert, SecretKeys.nextCaKey, undefined);
      break;
    case 'keep':
      break;
  }

  if (plan.renewServing) {
    const ca: CertificatePair = { certPem: out[SecretKeys.caCert], keyPem: out[SecretKeys.caKey] };
    const caEnd = parseCert(ca.certPem)!.notAfter;
    // Never outlive the CA (a backstop: the staging threshold normally keeps this from binding).
    const validDays = Math.min(s.validityDays, (caEnd - t) / DAY_MS);
    setPair(
      SecretKeys.tlsCert,
      SecretKeys.tlsKey,
      await issueServingCertificate(ca, {
        dnsNames: [...s.dnsNames],
        ipAddresses: [...s.ipAddresses],
        validDays,
        now,
      }),
    );
  }

  // Keep the previous bundle's CAs (the one just retired included) until they expire.
  const previous = [data[SecretKeys.caCert], ...splitPem(data[SecretKeys.caBundle])].filter(
    (p): p is string => !!p,
  );
  out[SecretKeys.caBundle] = buildBundle({ ...out, [SecretKeys.caBundle]: previous.join('\n') }, t);
  return out;
}

/**
 * When the stored certificates next need a decision: the earliest of serving renewal, CA
 * staging, CA promotion and a bundle CA's expiry. The caller also re-checks periodically, to
 * pick up what other replicas wrote.
 */
export function nextDueTime(data: SecretText, s: RotationSettings): Date | undefined {
  const times: number[] = [];
  const active = parseCert(data[SecretKeys.caCert]);
  const next = parseCert(data[SecretKeys.nextCaCert]);
  const serving = parseCert(data[SecretKeys.tlsCert]);
  if (serving) times.push(serving.notAfter - s.renewBeforeDays * DAY_MS);
  if (active && !next) times.push(active.notAfter - (s.validityDays + s.renewBeforeDays) * DAY_MS);
  if (next) times.push(next.notBefore + CA_OVERLAP_MS);
  for (const pem of splitPem(data[SecretKeys.caBundle])) {
    const c = parseCert(pem);
    if (c) times.push(c.notAfter);
  }
  return times.length > 0 ? new Date(Math.min(...times)) : undefined;
}

/** The serving certificate's DNS names for a Service, as the API server and in-cluster clients dial it. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}
