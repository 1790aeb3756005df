import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, run, UsageError } from '../../../src/certs/cli';

describe('certs command', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pod-hardener-certs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to the pod-hardener Service names and loopback', () => {
    expect(parseArgs([])).toMatchObject({
      dnsNames: [
        'pod-hardener',
        'pod-hardener.pod-hardener',
        'pod-hardener.pod-hardener.svc',
        'pod-hardener.pod-hardener.svc.cluster.local',
        'localhost',
      ],
      ipAddresses: ['127.0.0.1', '::1'],
      days: 365,
      out: 'certs/out',
    });
  });

  it('takes services, names and addresses, and rejects bad input', () => {
    expect(
      parseArgs([
        '--service',
        'hook',
        '--namespace=ops',
        '--ip',
        '10.0.0.1',
        '--dns',
        'a.example',
        '--days',
        '30',
      ]),
    ).toMatchObject({
      dnsNames: ['hook', 'hook.ops', 'hook.ops.svc', 'hook.ops.svc.cluster.local', 'a.example'],
      ipAddresses: ['10.0.0.1'],
      days: 30,
    });
    expect(() => parseArgs(['--ip', 'nope'])).toThrow(UsageError);
    expect(() => parseArgs(['--days', '0'])).toThrow(/whole number/);
    expect(() => parseArgs(['--days', '400', '--ca-days', '300'])).toThrow(/outlive/);
    expect(() => parseArgs(['--bogus'])).toThrow(/Unknown option '--bogus'/);
    expect(() => parseArgs(['--days'])).toThrow(/argument missing/);
    expect(() => parseArgs(['--dns='])).toThrow(/--dns needs a value/);
    expect(() => parseArgs(['extra'])).toThrow(UsageError);
    expect(parseArgs(['--help'])).toBe('help');
    expect(parseArgs(['-h'])).toBe('help');
  });

  it('writes the files, private keys 0600, and reuses the CA on a second run', async () => {
    const lines: string[] = [];
    const options = {
      ...(parseArgs(['--out', dir]) as Exclude<ReturnType<typeof parseArgs>, 'help'>),
    };
    await run(options, (l) => lines.push(l));
    const ca1 = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const tls1 = readFileSync(join(dir, 'tls.crt'), 'utf8');
    const b64 = readFileSync(join(dir, 'cabundle.b64'), 'utf8').trim();
    expect(Buffer.from(b64, 'base64').toString()).toBe(ca1);
    expect(lines).toContain(b64);
    expect(statSync(join(dir, 'tls.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'ca.key')).mode & 0o777).toBe(0o600);
    expect(new X509Certificate(tls1).checkIssued(new X509Certificate(ca1))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'cabundle-patch.json'), 'utf8'))).toEqual([
      { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: b64 },
      { op: 'add', path: '/webhooks/1/clientConfig/caBundle', value: b64 },
    ]);

    await run(options, () => undefined);
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).toBe(ca1);
    expect(readFileSync(join(dir, 'tls.crt'), 'utf8')).not.toBe(tls1);

    await run({ ...options, newCa: true }, () => undefined);
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).not.toBe(ca1);
  });
});
