/**
 * The server's side of a configuration reload, without a server: a valid new file goes into the
 * policy, sets the log level, is counted and logged (with the keys only a restart applies); an
 * invalid one is counted and logged, and nothing changes. test/http/config-reload.test.ts runs it
 * in a real server.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type LoadOptions } from '../../../src/config/load';
import type { Config } from '../../../src/config/schema';
import { reloadConfigOnChange } from '../../../src/server/config-reload';
import { createLogger } from '../../../src/server/logging';
import { createMetrics } from '../../../src/server/metrics';
import { LogCapture, metricValue, tempDir } from '../../support/http';
import { eventually } from '../../support/eventually';

function setUp(text: string | undefined) {
  const dir = tempDir('ph-config-reload-');
  const file = join(dir, 'config.yaml');
  if (text !== undefined) writeFileSync(file, text);
  const loadOptions: LoadOptions = {
    argv: text === undefined ? [] : ['--config', file],
    env: {},
    readFile: (path) => readFileSync(path, 'utf8'),
  };
  const logs = new LogCapture();
  const logger = createLogger('info', logs);
  const metrics = createMetrics();
  const policies: Config[] = [];
  const watch = reloadConfigOnChange({
    loaded: loadConfig(loadOptions),
    loadOptions,
    policy: { update: (config) => void policies.push(config) },
    logger,
    metrics,
    pollIntervalMs: 20,
  });
  const reloads = async (result: string) =>
    metricValue(await metrics.registry.metrics(), 'pod_hardener_config_reloads_total', { result });
  return { file, watch, logs, logger, policies, reloads };
}

test('a valid new file: the policy and the log level change, counted and logged; restart-only keys are named', async () => {
  const r = setUp('hardening:\n  runAsUser: 1111\n');
  try {
    writeFileSync(
      r.file,
      'hardening:\n  runAsUser: 2222\nserver:\n  port: 9443\nlog:\n  level: debug\n',
    );
    await eventually(() => r.policies.length > 0, {
      what: 'the reload',
      timeoutMs: 10_000,
      everyMs: 50,
    });
    expect(r.policies[0].hardening.runAsUser).toBe(2222);
    expect(r.logger.level).toBe('debug');
    expect(await r.reloads('success')).toBe(1);
    expect(r.logs.lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          msg: 'configuration reloaded; the next review uses it',
          hardening: expect.objectContaining({ runAsUser: 2222 }),
          logLevel: 'debug',
        }),
        expect.objectContaining({
          level: 'warn',
          msg: 'these changed keys only take effect after a restart',
          keys: ['server.port'],
        }),
      ]),
    );
  } finally {
    r.watch?.close();
  }
});

test('an invalid new file: counted and logged with its errors, the previous configuration stays', async () => {
  const r = setUp('hardening:\n  runAsUser: 1111\n');
  try {
    writeFileSync(r.file, 'hardening:\n  runAsUser: 0\n');
    await eventually(async () => (await r.reloads('error')) > 0, {
      what: 'the refused reload',
      timeoutMs: 10_000,
      everyMs: 50,
    });
    expect(r.policies).toEqual([]);
    expect(r.logs.lines.find((l) => l.level === 'error')).toMatchObject({
      msg: 'configuration file changed but is invalid; keeping the previous configuration',
      file: r.file,
      errors: [expect.stringContaining('hardening.runAsUser')],
    });
  } finally {
    r.watch?.close();
  }
});

test('no configuration file: nothing to watch', () => {
  expect(setUp(undefined).watch).toBeUndefined();
});
