/**
 * The README's quick start, run: its curl commands, as printed, against a real server on free
 * ports (the addresses of `npm start`, 127.0.0.1:8443 and :8080, replaced by the server's own),
 * with the review fixture they name. The admission call must return the fixture's pod patched;
 * the health call must answer.
 */
import { execFile } from 'node:child_process';
import { readDoc, REPO, section } from '../support/markdown';
import { startTestServer, type TestServer } from '../support/http';

/** Where the quick start is. */
const QUICK_START_DOC = 'README.md';

jest.setTimeout(30000);

/** The shell commands of the quick start's curl block, continuation lines joined. */
function curlCommands(): string[] {
  const text = section(readDoc(QUICK_START_DOC), 'Quick start', QUICK_START_DOC);
  const block = [...text.matchAll(/```sh\n([\s\S]*?)```/g)]
    .map((m) => m[1])
    .find((b) => b.includes('curl '));
  if (!block) throw new Error(`${QUICK_START_DOC}: the quick start lost its curl block`);
  return block
    .replace(/\\\n\s*/g, '')
    .trim()
    .split('\n');
}

describe(`${QUICK_START_DOC}: the quick start's requests`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.shutdown('test done'));

  /** Runs one command of the block; the server answers in this process, so never synchronously. */
  const run = (command: string): Promise<string> => {
    const local = command
      .replaceAll('https://127.0.0.1:8443', server.url)
      .replaceAll('http://127.0.0.1:8080', `http://127.0.0.1:${server.metricsPort}`);
    expect(local).not.toBe(command);
    return new Promise((resolve) => {
      execFile(
        'bash',
        ['-o', 'pipefail', '-c', local],
        { cwd: REPO, encoding: 'utf8', timeout: 20_000 },
        (error, stdout, stderr) => {
          expect({ command, code: error?.code ?? 0, stderr }).toEqual({
            command,
            code: 0,
            stderr: '',
          });
          resolve(stdout);
        },
      );
    });
  };

  test('the review sent to /mutate comes back allowed and patched', async () => {
    const [mutate] = curlCommands().filter((c) => c.includes('/mutate'));
    expect(mutate).toBeDefined();
    const answer = JSON.parse(await run(mutate));
    expect(answer.kind).toBe('AdmissionReview');
    expect(answer.response).toMatchObject({ allowed: true, patchType: 'JSONPatch' });
    expect(answer.response.warnings.length).toBeGreaterThan(0);
  });

  test('/healthz answers', async () => {
    const [health] = curlCommands().filter((c) => c.includes('/healthz'));
    expect(health).toBeDefined();
    expect(await run(health)).toBeTruthy();
  });
});
