import { X509Certificate } from 'node:crypto';
import {
  CA_OVERLAP_MS,
  DAY_MS,
  RotationSettings,
  SecretKeys,
  SecretText,
  caBundleOf,
  caValidityDays,
  decide,
  execute,
  isNoop,
  nextDueTime,
  serviceDnsNames,
  splitPem,
} from '../../../src/certs/rotation';

const settings: RotationSettings = {
  dnsNames: serviceDnsNames('pod-hardener', 'pod-hardener'),
  ipAddresses: [],
  validityDays: 90,
  renewBeforeDays: 30,
  caCommonName: 'test CA',
};
const T0 = new Date('2030-01-01T00:00:00Z');
const at = (days: number) => new Date(T0.getTime() + days * DAY_MS);
const cert = (pem: string | undefined) => new X509Certificate(pem!);
const notAfter = (pem: string | undefined) => Date.parse(cert(pem).validTo);
const fingerprints = (bundle: string | undefined) =>
  splitPem(bundle).map((p) => new X509Certificate(p).fingerprint256);

/** decide + execute, as one reconcile pass does. */
async function step(data: SecretText, now: Date, s = settings) {
  const plan = decide(data, now, s);
  return { plan, data: isNoop(plan) ? data : await execute(plan, data, now, s) };
}

describe('rotation decisions', () => {
  let fresh: SecretText;
  beforeAll(async () => {
    fresh = (await step({}, T0)).data;
  });

  it('creates a CA and a serving certificate when nothing is stored', async () => {
    const plan = decide({}, T0, settings);
    expect(plan).toMatchObject({ ca: 'create', renewServing: true });
    expect(plan.reasons).toEqual(['no CA stored yet']);

    const ca = cert(fresh[SecretKeys.caCert]);
    const serving = cert(fresh[SecretKeys.tlsCert]);
    expect(ca.ca).toBe(true);
    expect(serving.checkIssued(ca)).toBe(true);
    expect(serving.subjectAltName).toBe(
      'DNS:pod-hardener, DNS:pod-hardener.pod-hardener, DNS:pod-hardener.pod-hardener.svc, DNS:pod-hardener.pod-hardener.svc.cluster.local',
    );
    expect(notAfter(fresh[SecretKeys.tlsCert])).toBe(at(90).getTime());
    expect(notAfter(fresh[SecretKeys.caCert])).toBe(at(caValidityDays(settings)).getTime());
    expect(fresh[SecretKeys.caBundle]).toBe(fresh[SecretKeys.caCert].trim() + '\n');
    expect(fresh[SecretKeys.nextCaCert]).toBeUndefined();
  });

  it('reuses good certificates: no write', () => {
    expect(isNoop(decide(fresh, at(1), settings))).toBe(true);
    expect(isNoop(decide(fresh, at(59), settings))).toBe(true);
  });

  it('renews the serving certificate renewBeforeDays before it expires, with the same CA', async () => {
    const plan = decide(fresh, at(61), settings);
    expect(plan).toMatchObject({ ca: 'keep', renewServing: true, rewriteBundle: false });
    const { data } = await step(fresh, at(61));
    expect(data[SecretKeys.caCert]).toBe(fresh[SecretKeys.caCert]);
    expect(data[SecretKeys.caBundle]).toBe(fresh[SecretKeys.caBundle]);
    expect(data[SecretKeys.tlsCert]).not.toBe(fresh[SecretKeys.tlsCert]);
    expect(notAfter(data[SecretKeys.tlsCert])).toBe(at(61 + 90).getTime());
  });

  it('renews when the wanted names change, when the key does not match, or when it is unreadable', async () => {
    expect(decide(fresh, at(1), { ...settings, ipAddresses: ['127.0.0.1'] })).toMatchObject({
      ca: 'keep',
      renewServing: true,
    });
    const other = (await step({}, T0)).data;
    expect(
      decide({ ...fresh, [SecretKeys.tlsKey]: other[SecretKeys.tlsKey] }, at(1), settings).reasons,
    ).toEqual(['the serving key does not match the serving certificate']);
    expect(decide({ ...fresh, [SecretKeys.tlsCert]: 'garbage' }, at(1), settings)).toMatchObject({
      ca: 'keep',
      renewServing: true,
    });
    // A serving certificate from another CA (a different Secret pasted in).
    expect(
      decide(
        {
          ...fresh,
          [SecretKeys.tlsCert]: other[SecretKeys.tlsCert],
          [SecretKeys.tlsKey]: other[SecretKeys.tlsKey],
        },
        at(1),
        settings,
      ).reasons,
    ).toEqual(['the serving certificate was not issued by the active CA']);
  });

  it('starts over when the CA is unusable: garbage, a key that does not match, or expired', async () => {
    expect(decide({ [SecretKeys.caCert]: 'x', [SecretKeys.caKey]: 'y' }, T0, settings).ca).toBe(
      'create',
    );
    const other = (await step({}, T0)).data;
    expect(
      decide({ ...fresh, [SecretKeys.caKey]: other[SecretKeys.caKey] }, at(1), settings).ca,
    ).toBe('create');
    expect(decide(fresh, at(caValidityDays(settings) + 1), settings).ca).toBe('create');
  });

  it('stages a new CA before the old one nears its end, then promotes it after the overlap', async () => {
    const V = settings.validityDays;
    const R = settings.renewBeforeDays;
    const caEnd = notAfter(fresh[SecretKeys.caCert]);
    const stageAt = new Date(caEnd - (V + R) * DAY_MS + 1000);

    const staged = await step(fresh, stageAt);
    expect(staged.plan.ca).toBe('stage');
    // Trusted before use: both CAs in the bundle, the serving certificate still from the old CA.
    expect(staged.data[SecretKeys.caCert]).toBe(fresh[SecretKeys.caCert]);
    expect(fingerprints(staged.data[SecretKeys.caBundle])).toEqual([
      cert(fresh[SecretKeys.caCert]).fingerprint256,
      cert(staged.data[SecretKeys.nextCaCert]).fingerprint256,
    ]);
    expect(cert(staged.data[SecretKeys.tlsCert]).checkIssued(cert(fresh[SecretKeys.caCert]))).toBe(
      true,
    );

    // Not promoted within the overlap.
    expect(decide(staged.data, new Date(stageAt.getTime() + CA_OVERLAP_MS / 2), settings).ca).toBe(
      'keep',
    );

    const promoteAt = new Date(stageAt.getTime() + CA_OVERLAP_MS);
    const promoted = await step(staged.data, promoteAt);
    expect(promoted.plan).toMatchObject({ ca: 'promote', renewServing: true });
    expect(promoted.data[SecretKeys.caCert]).toBe(staged.data[SecretKeys.nextCaCert]);
    expect(promoted.data[SecretKeys.nextCaCert]).toBeUndefined();
    expect(
      cert(promoted.data[SecretKeys.tlsCert]).checkIssued(cert(promoted.data[SecretKeys.caCert])),
    ).toBe(true);
    // The old CA stays trusted (replicas may still serve its certificate) until it expires.
    expect(fingerprints(promoted.data[SecretKeys.caBundle])).toEqual([
      cert(promoted.data[SecretKeys.caCert]).fingerprint256,
      cert(fresh[SecretKeys.caCert]).fingerprint256,
    ]);

    const afterOldExpiry = new Date(caEnd + 1000);
    const pruned = await step(promoted.data, afterOldExpiry);
    expect(pruned.plan).toMatchObject({ ca: 'keep', renewServing: true, rewriteBundle: true });
    expect(fingerprints(pruned.data[SecretKeys.caBundle])).toEqual([
      cert(promoted.data[SecretKeys.caCert]).fingerprint256,
    ]);
  });

  it('drops an expired CA from the bundle even when nothing else changes', () => {
    const expiredCa = fresh[SecretKeys.caCert];
    const later = (async () => (await step({}, at(2000))).data)();
    return later.then((data) => {
      const withOld = { ...data, [SecretKeys.caBundle]: data[SecretKeys.caBundle] + expiredCa };
      const plan = decide(withOld, at(2001), settings);
      expect(plan).toMatchObject({ ca: 'keep', renewServing: false, rewriteBundle: true });
      expect(caBundleOf(withOld, at(2001))).toBe(data[SecretKeys.caBundle]);
    });
  });

  it('keeps Secret keys it does not own', async () => {
    const { data } = await step({ 'other.txt': 'kept' }, T0);
    expect(data['other.txt']).toBe('kept');
  });

  it('schedules the next check at the earliest due time', async () => {
    const due = nextDueTime(fresh, settings)!;
    expect(due.getTime()).toBe(at(90 - 30).getTime());
    expect(nextDueTime({}, settings)).toBeUndefined();
  });
});

describe('rotation over several CA lifetimes (V=30 R=10)', () => {
  it('always serves a valid certificate that the bundle trusts, and never trusts an expired CA', async () => {
    const s: RotationSettings = { ...settings, validityDays: 30, renewBeforeDays: 10 };
    const horizon = at(caValidityDays(s) * 2 + 10).getTime();
    let data: SecretText = {};
    const counts = { create: 0, stage: 0, promote: 0, renew: 0, checks: 0 };
    // Check when something falls due (as the timer does), and at least weekly (the periodic
    // re-check), starting a little late each time as a real timer would.
    for (let t = T0.getTime(); t <= horizon;) {
      const now = new Date(t);
      const before = data;
      const r = await step(data, now, s);
      data = r.data;
      counts.checks++;
      if (r.plan.ca === 'create') counts.create++;
      if (r.plan.ca === 'stage') counts.stage++;
      if (r.plan.ca === 'promote') counts.promote++;
      if (r.plan.renewServing) counts.renew++;

      const serving = cert(data[SecretKeys.tlsCert]);
      expect(Date.parse(serving.validFrom)).toBeLessThanOrEqual(t);
      expect(Date.parse(serving.validTo)).toBeGreaterThan(t + (s.renewBeforeDays - 1) * DAY_MS);
      const bundle = splitPem(data[SecretKeys.caBundle]).map((p) => new X509Certificate(p));
      expect(bundle.every((c) => Date.parse(c.validTo) > t)).toBe(true);
      expect(bundle.some((c) => serving.checkIssued(c) && serving.verify(c.publicKey))).toBe(true);
      // A replica that has not picked up the change yet still serves the previous certificate:
      // the new bundle must still trust it while it is valid.
      if (before[SecretKeys.tlsCert] && notAfter(before[SecretKeys.tlsCert]) > t) {
        const old = cert(before[SecretKeys.tlsCert]);
        expect(bundle.some((c) => old.checkIssued(c))).toBe(true);
      }
      // No serving certificate outlives its CA.
      expect(Date.parse(serving.validTo)).toBeLessThanOrEqual(notAfter(data[SecretKeys.caCert]));
      // Nothing is left to do right after a pass.
      expect(isNoop(decide(data, now, s))).toBe(true);

      const due = nextDueTime(data, s)!.getTime();
      t = Math.max(t + 60_000, Math.min(due + 90_000, t + 7 * DAY_MS));
    }
    expect(counts.create).toBe(1);
    expect(counts.stage).toBe(2);
    expect(counts.promote).toBe(2);
    expect(counts.renew).toBeGreaterThan(20);
  }, 30_000);
});
