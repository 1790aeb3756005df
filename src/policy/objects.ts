/** What every rendered admission policy object shares. */
import { Labels } from '../names';

export const POLICY_API_VERSION = 'admissionregistration.k8s.io/v1';

/** The namespaces a binding matches: opted in with `value`, never kube-system or the install's. */
export function namespaceSelector(value: string, namespace: string): Record<string, unknown> {
  return {
    matchExpressions: [
      { key: Labels.enabled, operator: 'In', values: [value] },
      {
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: [...new Set(['kube-system', namespace])],
      },
    ],
  };
}
