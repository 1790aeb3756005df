/**
 * scan's failures in one line each, and the ClusterRole it ships: exactly what it reads.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { READS } from '../../../../src/cli/scan/collect';
import { ApiError, describeFailure, ScanError } from '../../../../src/cli/scan/errors';

const where = { server: 'https://10.0.0.1:6443', context: 'prod' };
const coded = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('describeFailure', () => {
  it.each([
    [
      new ApiError(401, 'Unauthorized', 'Unauthorized', '/api/v1/namespaces/x'),
      /^the API server https:\/\/10\.0\.0\.1:6443 \(context "prod"\) refused the credentials: 401 Unauthorized \(the token is invalid or expired/,
    ],
    [
      new ApiError(
        403,
        'Forbidden',
        'namespaces "x" is forbidden: User "bob" cannot get resource "namespaces"',
        '/api/v1/namespaces/x',
      ),
      /^forbidden: namespaces "x" is forbidden: User "bob" .* \(scan needs the ClusterRole pod-hardener-scan/,
    ],
    [
      new ApiError(500, 'InternalError', 'etcd\nleader changed', '/api/v1/namespaces/x/pods'),
      /^the API server .* answered 500 InternalError to GET \/api\/v1\/namespaces\/x\/pods: etcd leader changed$/,
    ],
    [
      coded('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:6443'),
      /^cannot reach the API server https:\/\/10\.0\.0\.1:6443 \(context "prod"\): connect ECONNREFUSED/,
    ],
    [coded('ENOTFOUND', 'getaddrinfo ENOTFOUND api.example'), /^cannot reach .*ENOTFOUND/],
    [
      coded('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'),
      /^TLS with the API server .* failed: self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/,
    ],
    [
      coded('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"),
      /^TLS with .* \(ERR_TLS_CERT_ALTNAME_INVALID\)$/,
    ],
    [
      coded('ETIMEDOUT_REQUEST', 'no answer to GET /api/v1/namespaces within 30 s'),
      /did not answer in time: .*\(--request-timeout\)$/,
    ],
    [new ScanError('kubeconfig /x: ENOENT\n  more'), /^kubeconfig \/x: ENOENT more$/],
  ])('%s', (err, expected) => {
    const text = describeFailure(err, where);
    expect(text).toMatch(expected);
    expect(text).not.toContain('\n');
  });
});

describe('the ClusterRole pod-hardener-scan', () => {
  const role = YAML.parse(
    readFileSync(
      join(__dirname, '../../../../manifests/components/scan-rbac/clusterrole.yaml'),
      'utf8',
    ),
  );

  it('grants exactly what scan reads: no watch, no write, no other resource', () => {
    expect(role).toMatchObject({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'pod-hardener-scan' },
    });
    const granted = role.rules.flatMap((r: any) =>
      r.apiGroups.flatMap((g: string) =>
        r.resources.map((res: string) => `${g}/${res}: ${[...r.verbs].sort().join(',')}`),
      ),
    );
    const needed = READS.map((r) => `${r.group}/${r.resource}: ${[...r.verbs].sort().join(',')}`);
    expect(granted.sort()).toEqual(needed.sort());
    expect(
      role.rules.every(
        (r: any) => r.resourceNames === undefined && r.nonResourceURLs === undefined,
      ),
    ).toBe(true);
  });
});
