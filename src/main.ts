/**
 * pod-hardener webhook server: load the configuration (exit 2 listing every error when it is
 * invalid), start the certificate source and both ports, handle SIGTERM/SIGINT.
 *
 *   node dist/main.js [--config FILE]
 */
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, type LoadedConfig, type LoadOptions } from './config/load';
import { createLogger } from './server/logging';
import { startServer } from './server/server';
import { handleSignals } from './server/shutdown';

async function main(): Promise<void> {
  const loadOptions: LoadOptions = {
    argv: process.argv.slice(2),
    env: process.env,
    readFile: (path) => readFileSync(path, 'utf8'),
  };
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig(loadOptions);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`pod-hardener: ${err.message}\n`);
    process.exit(2);
  }

  const logger = createLogger(loaded.config.log.level);
  process.on('uncaughtException', (err) => {
    // Per-review errors are caught in the review pipeline; reaching here means the process
    // state is unknown, so log it and let Kubernetes restart the container.
    logger.fatal({ err }, 'uncaught exception; exiting');
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unhandled promise rejection; exiting');
    process.exit(1);
  });

  const server = await startServer({ loaded, loadOptions, logger });
  const { config } = loaded;
  logger.info(
    {
      address: server.address,
      port: server.port,
      metricsPort: server.metricsPort,
      certificateSource: config.certificates.source,
      configFile: loaded.file ?? null,
      logLevel: config.log.level,
      node: process.version,
    },
    `pod-hardener started: admission on https://${server.address}:${server.port} (/mutate, /audit), health and metrics on http://${server.address}:${server.metricsPort}`,
  );
  handleSignals(process, server, (code) => process.exit(code));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `pod-hardener: cannot start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
