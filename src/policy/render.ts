/**
 * Policy mode: the configuration rendered as objects kube-apiserver runs itself, with no webhook,
 * no certificates and no network hop. Pure: settings in, Kubernetes objects out.
 */
import type { PolicySettings } from '../engine/policy';
import { auditPolicy, guard } from './guard';
import { mutatingPolicy } from './mutating';

export interface PolicyModeOptions {
  /** The install's namespace, never matched (as kube-system). Default pod-hardener. */
  namespace?: string;
  /** Prefix of every object's name. Default pod-hardener. */
  name?: string;
}

/**
 * The MutatingAdmissionPolicy and its binding (enforce namespaces), the guard (enforce
 * namespaces) and the audit policy (audit namespaces), each a plain object ready for YAML.
 */
export function renderPolicyMode(
  settings: PolicySettings,
  options: PolicyModeOptions = {},
): object[] {
  const namespace = options.namespace ?? 'pod-hardener';
  const name = options.name ?? 'pod-hardener';
  return [
    ...mutatingPolicy(settings, { name, namespace }),
    ...guard(`${name}-guard`, settings, namespace),
    ...auditPolicy(`${name}-audit`, settings, namespace),
  ];
}
