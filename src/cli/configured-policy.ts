import { loadConfig, policySettings } from '../config/load';
import { compilePolicy, type Policy } from '../engine/policy';
import type { Io } from './command';

export interface LoadedPolicy {
  policy: Policy;
  /** The configuration file read (from --config or POD_HARDENER_CONFIG), if any. */
  file?: string;
  warnings: readonly string[];
}

/**
 * The policy the webhook would run with: the same loader (loadConfig: file, then POD_HARDENER_*
 * environment, validated) and the same compilation. Throws ConfigError.
 */
export function loadPolicy(
  configFile: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string,
): LoadedPolicy {
  const loaded = loadConfig({
    argv: configFile === undefined ? [] : ['--config', configFile],
    env,
    readFile,
    // Certificates mean nothing offline, and their checks depend on the Deployment's environment:
    // a file valid for the webhook must not be refused here for lack of it.
    purpose: 'offline',
  });
  return {
    policy: compilePolicy(policySettings(loaded.config)),
    ...(loaded.file !== undefined ? { file: loaded.file } : {}),
    warnings: loaded.warnings,
  };
}

/** The policy for a command, its loader's warnings said on stderr. */
export function policyFor(configFile: string | undefined, io: Io): LoadedPolicy {
  const loaded = loadPolicy(configFile, io.env, io.readFile);
  for (const w of loaded.warnings) io.stderr(`pod-hardener: ${w}\n`);
  return loaded;
}
