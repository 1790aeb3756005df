import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { watchFiles } from '../../../src/config/file-watch';
import { loadConfig, type LoadedConfig, type LoadOptions } from '../../../src/config/load';
import { PolicyHolder, restartOnlyChanges, watchConfig } from '../../../src/config/reload';
import { KubeVolume, sleep, tempDir } from '../../support/http';
import { eventually } from '../../support/eventually';

const readFile = (p: string) => readFileSync(p, 'utf8');

function start(volume: KubeVolume, env: Record<string, string> = {}, pollIntervalMs = 60000) {
  const options: LoadOptions = { argv: ['--config', volume.path('config.yaml')], env, readFile };
  const initial = loadConfig(options);
  const reloads: LoadedConfig[] = [];
  const errors: (readonly string[])[] = [];
  const watch = watchConfig({
    load: options,
    initial,
    pollIntervalMs,
    onReload: (next) => reloads.push(next),
    onError: (e) => errors.push(e),
  });
  return { initial, reloads, errors, watch };
}

describe('watchConfig', () => {
  test('a ..data swap with a valid file is reloaded; the environment still wins', async () => {
    const volume = KubeVolume.create({
      'config.yaml': 'hardening: { runAsUser: 1111 }\nlog: { level: warn }\n',
    });
    const { initial, reloads, errors, watch } = start(volume, { POD_HARDENER_LOG_LEVEL: 'debug' });
    try {
      expect(initial.config.hardening.runAsUser).toBe(1111);
      volume.update({ 'config.yaml': 'hardening: { runAsUser: 2222 }\nlog: { level: error }\n' });
      const next = await eventually(() => reloads[0], {
        what: 'a reload',
        timeoutMs: 20_000,
        everyMs: 25,
      });
      expect(next.config.hardening.runAsUser).toBe(2222);
      expect(next.config.log.level).toBe('debug');
      expect(Object.isFrozen(next.config)).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      watch.close();
    }
  });

  test('an edit between the first load and the start of the watch is applied', async () => {
    const volume = KubeVolume.create({ 'config.yaml': 'hardening: { runAsUser: 1111 }\n' });
    const options: LoadOptions = {
      argv: ['--config', volume.path('config.yaml')],
      env: {},
      readFile,
    };
    const initial = loadConfig(options);
    // The ConfigMap changes while the server is still starting, before anything watches it.
    volume.update({ 'config.yaml': 'hardening: { runAsUser: 2222 }\n' });
    const reloads: LoadedConfig[] = [];
    // A poll far in the future: only the watch's own start may notice the edit.
    const watch = watchConfig({
      load: options,
      initial,
      pollIntervalMs: 60000,
      onReload: (next) => reloads.push(next),
      onError: () => {},
    });
    try {
      const next = await eventually(() => reloads[0], {
        what: 'the edit applied',
        timeoutMs: 3000,
        everyMs: 25,
      });
      expect(next.config.hardening.runAsUser).toBe(2222);
      expect(next.fileText).toBe('hardening: { runAsUser: 2222 }\n');
    } finally {
      watch.close();
    }
  });

  test('an invalid file is reported once with its errors and changes nothing; a later fix reloads', async () => {
    const volume = KubeVolume.create({ 'config.yaml': 'hardening: { runAsUser: 1111 }\n' });
    const { reloads, errors, watch } = start(volume, {}, 100);
    try {
      volume.update({ 'config.yaml': 'hardening: { runAsUser: 0 }\n' });
      await eventually(() => errors.length > 0, {
        what: 'an error',
        timeoutMs: 20_000,
        everyMs: 25,
      });
      expect(errors[0]).toEqual([
        `config ${volume.path('config.yaml')}: hardening.runAsUser: expected an integer from 1 to 2147483647, got 0`,
      ]);
      await sleep(350); // several poll ticks over the same broken bytes
      expect(errors).toHaveLength(1);
      expect(reloads).toEqual([]);
      volume.update({ 'config.yaml': 'hardening: { runAsUser: 3333 }\n' });
      const next = await eventually(() => reloads[0], {
        what: 'a reload',
        timeoutMs: 20_000,
        everyMs: 25,
      });
      expect(next.config.hardening.runAsUser).toBe(3333);
    } finally {
      watch.close();
    }
  });

  test('identical bytes rewritten do not count as a reload', async () => {
    const volume = KubeVolume.create({ 'config.yaml': 'hardening: { runAsUser: 1111 }\n' });
    const { reloads, errors, watch } = start(volume, {}, 50);
    try {
      volume.update({ 'config.yaml': 'hardening: { runAsUser: 1111 }\n' });
      await sleep(300);
      expect(reloads).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      watch.close();
    }
  });

  test('no file, no watch', () => {
    const options: LoadOptions = { argv: [], env: {}, readFile };
    const onReload = jest.fn();
    const w = watchConfig({
      load: options,
      initial: loadConfig(options),
      onReload,
      onError: onReload,
    });
    w.close();
    expect(onReload).not.toHaveBeenCalled();
  });
});

describe('watchFiles', () => {
  test('polls when there are no events, and watches a directory that appears later', async () => {
    const root = tempDir();
    const dir = join(root, 'later');
    let checks = 0;
    const watchErrors: string[] = [];
    const w = watchFiles({
      files: [join(dir, 'tls.crt')],
      pollIntervalMs: 40,
      onCheck: () => checks++,
      onWatchError: (d) => watchErrors.push(d),
    });
    try {
      await eventually(() => checks >= 2, {
        what: 'two poll ticks',
        timeoutMs: 20_000,
        everyMs: 25,
      });
      expect(watchErrors).toEqual([dir]); // reported once, not on every tick
      mkdirSync(dir);
      await sleep(100); // a tick re-watches it
      const before = checks;
      writeFileSync(join(dir, 'tls.crt'), 'x');
      await eventually(() => checks > before, {
        what: 'a check after the write',
        timeoutMs: 20_000,
        everyMs: 25,
      });
    } finally {
      w.close();
    }
    const after = checks;
    await sleep(120);
    expect(checks).toBe(after);
  });
});

describe('PolicyHolder and restart-only settings', () => {
  const load = (yaml: string) =>
    loadConfig({ argv: ['--config', '/c.yaml'], env: {}, readFile: () => yaml }).config;

  test('update replaces the compiled policy', () => {
    const holder = new PolicyHolder(load('hardening: { runAsUser: 1111 }'));
    const first = holder.current;
    expect(first.settings.runAsUser).toBe(1111);
    expect(first.ceilingAllows('NET_ADMIN')).toBe(false);
    holder.update(load('hardening: { runAsUser: 2222 }\nexceptions: { capabilityCeiling: ["*"] }'));
    expect(holder.current.settings.runAsUser).toBe(2222);
    expect(holder.current.ceilingAllows('NET_ADMIN')).toBe(true);
    expect(first.settings.runAsUser).toBe(1111);
  });

  test('server and certificate keys that changed are listed; policy and log keys are not', () => {
    const a = load('server: { port: 9443 }\nhardening: { runAsUser: 5 }');
    const b = load(
      'server: { port: 9444, maxInFlight: 10 }\ncertificates: { certFile: /c, keyFile: /k }\nhardening: { runAsUser: 6 }\nlog: { level: debug }',
    );
    expect(restartOnlyChanges(a, b).sort()).toEqual([
      'certificates.certFile',
      'certificates.keyFile',
      'certificates.source',
      'server.maxInFlight',
      'server.port',
    ]);
    expect(restartOnlyChanges(a, a)).toEqual([]);
  });
});
