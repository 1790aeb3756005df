/**
 * The server's side of a configuration reload: the file is watched (config/reload.ts), and each
 * valid new version goes into the policy the next review uses, sets the log level, is counted and
 * logged, with a warning for the keys that only a restart applies. An invalid version is counted
 * and logged, and the previous configuration stays in force.
 */
import type { FileWatch } from '../config/file-watch';
import type { LoadedConfig, LoadOptions } from '../config/load';
import { restartOnlyChanges, watchConfig, type PolicyHolder } from '../config/reload';
import type { Logger } from './logging';
import type { Metrics } from './metrics';

export interface ConfigReloadOptions {
  /** The configuration in force, and the options it was loaded with. */
  loaded: LoadedConfig;
  loadOptions: LoadOptions;
  policy: Pick<PolicyHolder, 'update'>;
  logger: Logger;
  metrics: Pick<Metrics, 'configReloads'>;
  pollIntervalMs: number;
}

/** Watches the configuration file; undefined when there is none to watch (defaults and environment only). */
export function reloadConfigOnChange(o: ConfigReloadOptions): FileWatch | undefined {
  const { logger, metrics } = o;
  if (o.loaded.file === undefined) return undefined;
  return watchConfig({
    load: o.loadOptions,
    initial: o.loaded,
    pollIntervalMs: o.pollIntervalMs,
    onReload: (next, previous) => {
      o.policy.update(next.config);
      logger.level = next.config.log.level;
      metrics.configReloads.inc({ result: 'success' });
      logger.info(
        {
          file: next.file,
          hardening: next.config.hardening,
          exceptions: next.config.exceptions,
          logLevel: next.config.log.level,
        },
        'configuration reloaded; the next review uses it',
      );
      const restartOnly = restartOnlyChanges(previous.config, next.config);
      if (restartOnly.length > 0)
        logger.warn({ keys: restartOnly }, 'these changed keys only take effect after a restart');
      for (const warning of next.warnings) logger.warn(warning);
    },
    onError: (errors) => {
      metrics.configReloads.inc({ result: 'error' });
      logger.error(
        { file: o.loaded.file, errors },
        'configuration file changed but is invalid; keeping the previous configuration',
      );
    },
    onWatchError: (dir, err) =>
      logger.warn(
        { dir, err: err.message },
        'cannot watch the configuration directory; polling only',
      ),
  });
}
