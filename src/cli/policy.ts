import { loadConfig, policySettings } from '../config/load';
import { compilePolicy, type Policy } from '../engine/policy';

export interface LoadedPolicy {
  policy: Policy;
  /** The configuration file read (from --config or POD_HARDENER_CONFIG), if any. */
  file?: string;
  warnings: readonly string[];
}

/**
 * Certificates mean nothing offline, and their checks depend on the Deployment's environment (the
 * shipped config.yaml leaves the source to POD_HARDENER_CERT_SOURCE): a file valid for the webhook
 * must not be refused here for lack of that environment. These values satisfy every certificate
 * check and are never used; everything else comes from the file and environment exactly as the
 * webhook reads them.
 */
const OFFLINE_CERTIFICATES = {
  POD_HARDENER_CERT_SOURCE: 'files',
  POD_HARDENER_TLS_CERT_FILE: '/unused/offline/tls.crt',
  POD_HARDENER_TLS_KEY_FILE: '/unused/offline/tls.key',
};

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
    env: { ...env, ...OFFLINE_CERTIFICATES },
    readFile,
  });
  return {
    policy: compilePolicy(policySettings(loaded.config)),
    ...(loaded.file !== undefined ? { file: loaded.file } : {}),
    warnings: loaded.warnings,
  };
}
