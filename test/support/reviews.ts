import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Fixtures live in test/fixtures; every test gets a fresh copy. */
export function fixture<T = any>(relative: string): T {
  return JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', relative), 'utf8')) as T;
}

let counter = 0;

export interface ReviewOptions {
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  subResource?: string;
  namespace?: string;
  oldObject?: unknown;
  kind?: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string };
  uid?: string;
}

/** An AdmissionReview as kube-apiserver sends it for a pod. */
export function podReview(object: unknown, o: ReviewOptions = {}): any {
  const namespace =
    o.namespace ?? ((object as any)?.metadata?.namespace as string | undefined) ?? 'default';
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: o.uid ?? `uid-${++counter}`,
      kind: o.kind ?? { group: '', version: 'v1', kind: 'Pod' },
      resource: o.resource ?? { group: '', version: 'v1', resource: 'pods' },
      requestKind: o.kind ?? { group: '', version: 'v1', kind: 'Pod' },
      requestResource: o.resource ?? { group: '', version: 'v1', resource: 'pods' },
      ...(o.subResource ? { subResource: o.subResource } : {}),
      name: (object as any)?.metadata?.name ?? '',
      namespace,
      operation: o.operation ?? 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        groups: ['system:serviceaccounts', 'system:authenticated'],
      },
      object,
      oldObject: o.oldObject ?? null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}
