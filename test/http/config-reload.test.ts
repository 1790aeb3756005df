/**
 * The configuration file mounted from a ConfigMap changes: a valid new file changes the policy
 * of the next review; an invalid one is refused and the previous policy stays in force.
 */
import { pod } from '../support/pods';
import { podReview } from '../support/reviews';
import {
  KubeVolume,
  metricValue,
  post,
  scrape,
  startTestServer,
  type TestServer,
} from '../support/http';
import { eventually } from '../support/eventually';

// Generous: these tests wait on real sockets and timers, and CI shares two cores; no test
// asserts on speed.
jest.setTimeout(30000);

const runAsUserPatched = async (server: TestServer): Promise<number | undefined> => {
  const reply = await post(server, '/mutate', podReview(pod()));
  expect(reply.status).toBe(200);
  const patch = JSON.parse(Buffer.from(reply.json.response.patch, 'base64').toString('utf8')) as {
    path: string;
    value: unknown;
  }[];
  return patch.find((op) => op.path === '/spec/securityContext/runAsUser')?.value as
    number | undefined;
};

test('valid changes apply to the next review; invalid ones are refused and counted; restart-only keys are named', async () => {
  const volume = KubeVolume.create({ 'config.yaml': 'hardening:\n  runAsUser: 1111\n' });
  // Polling slowed to a minute: the swap must be seen through the directory watch.
  const server = await startTestServer({
    configFile: volume.path('config.yaml'),
    timing: { configPollIntervalMs: 60000 },
  });
  try {
    expect(await runAsUserPatched(server)).toBe(1111);

    volume.update({ 'config.yaml': 'hardening:\n  runAsUser: 2222\n' });
    await eventually(async () => (await runAsUserPatched(server)) === 2222, {
      what: 'the new runAsUser',
      timeoutMs: 20_000,
      everyMs: 25,
    });
    expect(
      metricValue(await scrape(server), 'pod_hardener_config_reloads_total', { result: 'success' }),
    ).toBe(1);
    expect(
      server.logs.lines.find((l) => l.msg === 'configuration reloaded; the next review uses it'),
    ).toMatchObject({ level: 'info', hardening: { runAsUser: 2222 } });

    volume.update({ 'config.yaml': 'hardening:\n  runAsUser: 0\n  runAsUsr: 5\n' });
    await eventually(
      async () =>
        metricValue(await scrape(server), 'pod_hardener_config_reloads_total', {
          result: 'error',
        }) === 1,
      { what: 'the invalid file to be refused', timeoutMs: 20_000, everyMs: 25 },
    );
    expect(await runAsUserPatched(server)).toBe(2222);
    const refusal = server.logs.lines.find(
      (l) =>
        l.msg === 'configuration file changed but is invalid; keeping the previous configuration',
    );
    expect(refusal).toMatchObject({ level: 'error' });
    expect(refusal!.errors).toEqual([
      `config ${volume.path('config.yaml')}: hardening.runAsUser: expected an integer from 1 to 2147483647, got 0`,
      `config ${volume.path('config.yaml')}: hardening.runAsUsr: unknown key (did you mean runAsUser?)`,
    ]);

    volume.update({ 'config.yaml': 'hardening:\n  runAsUser: 3333\nserver:\n  maxInFlight: 7\n' });
    await eventually(async () => (await runAsUserPatched(server)) === 3333, {
      what: 'the next valid runAsUser',
      timeoutMs: 20_000,
      everyMs: 25,
    });
    expect(
      server.logs.lines.find(
        (l) => l.msg === 'these changed keys only take effect after a restart',
      ),
    ).toMatchObject({ level: 'warn', keys: ['server.maxInFlight'] });
  } finally {
    await server.shutdown('test done');
  }
});
