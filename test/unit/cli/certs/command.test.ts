import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseCertsArgs as parseArgs,
  writeCertificates as run,
} from '../../../../src/cli/certs/command';
import { UsageError } from '../../../../src/cli/command';
import { main, type Io } from '../../../../src/cli/main';

describe('pod-hardener certs', () => {
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
    expect(() => parseArgs(['--bogus'])).toThrow(/^unknown option --bogus$/);
    expect(() => parseArgs(['--days'])).toThrow(/^--days needs a value$/);
    expect(() => parseArgs(['--dns='])).toThrow(/^--dns needs a value$/);
    expect(() => parseArgs(['extra'])).toThrow(UsageError);
  });

  it('writes the files, private keys 0600, and reuses the CA on a second run', async () => {
    const lines: string[] = [];
    const options = parseArgs(['--out', dir]);
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

  describe('as a command of pod-hardener', () => {
    async function certs(argv: string[]) {
      const out = { code: -1, stdout: '', stderr: '' };
      const io: Io = {
        stdout: (t) => void (out.stdout += t),
        stderr: (t) => void (out.stderr += t),
        readStdin: async () => '',
        env: {},
        readFile: (path) => readFileSync(path, 'utf8'),
        writeFile: () => undefined,
        stderrIsTTY: false,
        now: () => Date.now(),
      };
      out.code = await main(['certs', ...argv], io);
      return out;
    }

    it('writes the files and says what to do with them, exit 0', async () => {
      const r = await certs(['--out', dir, '--dns', 'hook.example']);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout).toContain('  DNS hook.example\n');
      expect(r.stdout).toContain(readFileSync(join(dir, 'cabundle.b64'), 'utf8'));
    });

    it('argument errors are one line and the hint of every command, exit 2; --help is the usage', async () => {
      expect(await certs(['--days', '0'])).toEqual({
        code: 2,
        stdout: '',
        stderr:
          'pod-hardener certs: --days: expected a whole number of days, got "0"\nSee \'pod-hardener certs --help\'.\n',
      });
      const help = await certs(['--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/^Usage: pod-hardener certs \[options\]/);
    });

    // Exit 2 as every command that cannot do its job (it was 1, which means "changes found" to
    // the other commands and to a CI script).
    it('an output directory that cannot be made: one line, exit 2', async () => {
      const file = join(dir, 'a-file');
      writeFileSync(file, '');
      const r = await certs(['--out', join(file, 'out')]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        /^pod-hardener certs: ENOTDIR: not a directory, mkdir '.*a-file\/out'\n$/,
      );
    });
  });
});
