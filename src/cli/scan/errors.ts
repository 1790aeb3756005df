/**
 * Failures of `pod-hardener scan`, each said in one line for a person: what failed, where, and
 * what to do. No stack trace ever reaches the terminal for these; exit code 2.
 */

/** A failure already worded for stderr. */
export class ScanError extends Error {
  constructor(message: string) {
    super(oneLine(message));
    this.name = 'ScanError';
  }
}

/** An answer of the API server other than 200, with the message of its Status body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export interface Where {
  server: string;
  context: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
]);
const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|TLS|SSL|ALTNAME|ERR_OSSL/;

const codeOf = (err: unknown) =>
  typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : '';

/** API answers, network and TLS failures and timeouts: the cluster's state, not a bug of scan. */
export function isOperational(err: unknown): boolean {
  const code = codeOf(err);
  return (
    err instanceof ScanError ||
    err instanceof ApiError ||
    code === 'ETIMEDOUT_REQUEST' ||
    NETWORK_CODES.has(code) ||
    TLS_CODE.test(code)
  );
}

/** The one-line message for whatever a scan's API access threw. */
export function describeFailure(err: unknown, where: Where): string {
  if (err instanceof ScanError) return err.message;
  const at = `the API server ${where.server} (context "${where.context}")`;
  if (err instanceof ApiError) {
    switch (err.status) {
      case 401:
        return `${at} refused the credentials: 401 Unauthorized (the token is invalid or expired, or the client certificate is not accepted); log in again or use another --context`;
      case 403:
        return oneLine(
          `forbidden: ${err.message} (scan needs the ClusterRole pod-hardener-scan: manifests/components/scan-rbac)`,
        );
      default:
        return oneLine(
          `${at} answered ${err.status}${err.reason ? ` ${err.reason}` : ''} to GET ${err.path}: ${err.message}`,
        );
    }
  }
  const code = codeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ETIMEDOUT_REQUEST')
    return `${at} did not answer in time: ${message} (--request-timeout)`;
  if (NETWORK_CODES.has(code)) return oneLine(`cannot reach ${at}: ${message}`);
  if (TLS_CODE.test(code)) return oneLine(`TLS with ${at} failed: ${message} (${code})`);
  return oneLine(`talking to ${at}: ${message}`);
}
