/**
 * The guard (a ValidatingAdmissionPolicy): kube-apiserver itself rejects, in namespaces that
 * opted in to enforcement, any pod that is neither hardened nor excepted. Validating admission
 * runs after every mutating webhook and policy, so a hardened pod passes; one that reached it
 * unhardened (webhook down, timed out, or unregistered) is rejected with a message that says why.
 * This is what lets the enforce webhook fail open (failurePolicy: Ignore).
 *
 * The operator's exceptions are written into the policy as CEL string literals (variables
 * skipNamespaces, exemptContainers, capabilityCeiling), not read from a parameter object: a
 * policy with `paramKind` depends on the API server resolving its parameters, and when it
 * cannot, every pod of an opted-in namespace is denied. Literals cannot go missing.
 *
 * "Hardened" is checked for what the webhook always enforces: effective runAsUser and runAsGroup
 * set and non-zero, privileged not true (unless a Bidirectional mount needs it), allowPrivilegeEscalation
 * false (unless SYS_ADMIN or privileged is kept, which the API server forbids beside it),
 * capabilities.drop contains ALL, capabilities.add only what the pod's allowlist annotations keep
 * within the ceiling. runAsNonRoot, fsGroup and seccompProfile are configurable (hardening.*)
 * and not checked: an explicit non-zero runAsUser already makes the container non-root. Nor are
 * the pod-level fields added only where a pod can take them (the unprivileged-port sysctl,
 * hostUsers: false).
 *
 * The audit policy is the same check with Warn and Audit actions, bound to audit namespaces: it
 * says that pod-hardener would harden a pod, and which containers, without changing it.
 */
import { LabelValues } from '../names';
import { celString } from './cel';
import { POLICY_API_VERSION, namespaceSelector } from './objects';
import { guardParams, paramVariables, type Exceptions, type Variable } from './params';

export { guardParams, type GuardParams } from './params';
interface Check {
  /** The variable listing the containers that fail it. */
  list: string;
  /** What those containers do, for the message. */
  problem: string;
}

export const GUARD_VARIABLES: readonly Variable[] = [
  {
    name: 'annotations',
    expression: 'has(object.metadata.annotations) ? object.metadata.annotations : {}',
  },
  {
    name: 'skipAllowed',
    expression: "request.namespace.matches('^(?:' + variables.skipNamespaces + ')$')",
  },
  { name: 'exemptPattern', expression: "'^(?:' + variables.exemptContainers + ')$'" },
  { name: 'ceilingPattern', expression: "'^(?:' + variables.capabilityCeiling + ')$'" },
  {
    name: 'skipPod',
    expression:
      "(variables.skipAllowed && 'pod-hardener.io/skip' in variables.annotations &&\n  variables.annotations['pod-hardener.io/skip'].trim().lowerAscii() == 'true') ||\n(has(object.spec.os) && object.spec.os.name == 'windows') ||\n'kubernetes.io/config.mirror' in variables.annotations",
  },
  {
    name: 'skipContainers',
    expression:
      "variables.skipAllowed && 'pod-hardener.io/skip-containers' in variables.annotations\n  ? variables.annotations['pod-hardener.io/skip-containers'].split(',').map(s, s.trim())\n  : []",
  },
  {
    name: 'podAllowed',
    expression:
      "'pod-hardener.io/allowed-capabilities' in variables.annotations\n  ? variables.annotations['pod-hardener.io/allowed-capabilities'].split(',')\n      .map(s, s.trim().upperAscii()).map(s, s.startsWith('CAP_') ? s.substring(4) : s)\n  : []",
  },
  {
    name: 'added',
    expression:
      "request.operation == 'CREATE'\n  ? dyn(object.spec.containers) + dyn(has(object.spec.initContainers) ? object.spec.initContainers : [])\n  : dyn(has(object.spec.ephemeralContainers)\n      ? object.spec.ephemeralContainers.filter(e, !has(oldObject.spec.ephemeralContainers) ||\n          !oldObject.spec.ephemeralContainers.exists(o, o.name == e.name))\n      : [])",
  },
  {
    name: 'checked',
    expression:
      "variables.skipPod ? [] : variables.added.filter(c,\n  !(c.name in variables.skipContainers) &&\n  !(c.name + '=' + (has(c.image) ? c.image : '')).matches(variables.exemptPattern))",
  },
  {
    name: 'podUser',
    expression:
      'has(object.spec.securityContext) && has(object.spec.securityContext.runAsUser)\n  ? object.spec.securityContext.runAsUser : 0',
  },
  {
    name: 'podGroup',
    expression:
      'has(object.spec.securityContext) && has(object.spec.securityContext.runAsGroup)\n  ? object.spec.securityContext.runAsGroup : 0',
  },
  {
    name: 'rootUser',
    expression:
      'variables.checked.filter(c, (has(c.securityContext) && has(c.securityContext.runAsUser)\n  ? c.securityContext.runAsUser : variables.podUser) == 0).map(c, c.name)',
  },
  {
    name: 'rootGroup',
    expression:
      'variables.checked.filter(c, (has(c.securityContext) && has(c.securityContext.runAsGroup)\n  ? c.securityContext.runAsGroup : variables.podGroup) == 0).map(c, c.name)',
  },
  // A container with a Bidirectional mount keeps privileged: the API server allows that
  // propagation only to privileged containers.
  {
    name: 'bidirectional',
    expression:
      "variables.checked.filter(c, has(c.volumeMounts) &&\n  c.volumeMounts.exists(m, has(m.mountPropagation) && m.mountPropagation == 'Bidirectional')).map(c, c.name)",
  },
  {
    name: 'privileged',
    expression:
      'variables.checked.filter(c, has(c.securityContext) && has(c.securityContext.privileged) &&\n  c.securityContext.privileged == true && !(c.name in variables.bidirectional)).map(c, c.name)',
  },
  {
    name: 'escalation',
    expression:
      "variables.checked.filter(c,\n  !(has(c.securityContext) && has(c.securityContext.allowPrivilegeEscalation) &&\n    c.securityContext.allowPrivilegeEscalation == false) &&\n  !(has(c.securityContext) && has(c.securityContext.capabilities) &&\n    has(c.securityContext.capabilities.add) &&\n    c.securityContext.capabilities.add.exists(a, a.trim().upperAscii() in ['SYS_ADMIN', 'CAP_SYS_ADMIN'])) &&\n  !(has(c.securityContext) && has(c.securityContext.privileged) && c.securityContext.privileged == true)\n).map(c, c.name)",
  },
  {
    name: 'noDropAll',
    expression:
      "variables.checked.filter(c, !(has(c.securityContext) && has(c.securityContext.capabilities) &&\n  has(c.securityContext.capabilities.drop) && 'ALL' in c.securityContext.capabilities.drop)\n).map(c, c.name)",
  },
  {
    name: 'extraCapabilities',
    expression:
      "variables.checked.filter(c, has(c.securityContext) && has(c.securityContext.capabilities) &&\n  has(c.securityContext.capabilities.add) &&\n  c.securityContext.capabilities.add.exists(a,\n    !(a.trim().upperAscii().startsWith('CAP_') ? a.trim().upperAscii().substring(4) : a.trim().upperAscii())\n      .matches(variables.ceilingPattern) ||\n    !((a.trim().upperAscii().startsWith('CAP_') ? a.trim().upperAscii().substring(4) : a.trim().upperAscii())\n      in variables.podAllowed + (('capabilities.pod-hardener.io/' + c.name) in variables.annotations\n        ? variables.annotations['capabilities.pod-hardener.io/' + c.name].split(',')\n            .map(s, s.trim().upperAscii()).map(s, s.startsWith('CAP_') ? s.substring(4) : s)\n        : []))\n  )).map(c, c.name)",
  },
];

/** Each validation: its expression and the list of offending containers its message names. */
export const GUARD_CHECKS: readonly Check[] = [
  { list: 'rootUser', problem: 'would run as root (runAsUser unset or 0)' },
  { list: 'rootGroup', problem: 'would run with group 0 (runAsGroup unset or 0)' },
  { list: 'privileged', problem: 'are privileged' },
  { list: 'escalation', problem: 'do not set allowPrivilegeEscalation: false' },
  { list: 'noDropAll', problem: 'do not drop ALL capabilities' },
  {
    list: 'extraCapabilities',
    problem: 'add capabilities that are not allowlisted within the ceiling',
  },
];

const MATCH_CONSTRAINTS = {
  resourceRules: [
    { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] },
    {
      apiGroups: [''],
      apiVersions: ['v1'],
      operations: ['UPDATE'],
      resources: ['pods/ephemeralcontainers'],
    },
  ],
};

function validationPolicy(name: string, settings: Exceptions, lead: string): object {
  return {
    apiVersion: POLICY_API_VERSION,
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name },
    spec: {
      // An expression error rejects: the guard is the fallback and must not fail open itself.
      failurePolicy: 'Fail',
      matchConstraints: MATCH_CONSTRAINTS,
      variables: [...paramVariables(guardParams(settings)), ...GUARD_VARIABLES],
      validations: GUARD_CHECKS.map((check) => ({
        expression: `size(variables.${check.list}) == 0`,
        messageExpression: `${celString(`${lead}: containers `)} + variables.${check.list}.join(', ') + ${celString(` ${check.problem}`)}`,
        reason: 'Forbidden',
      })),
    },
  };
}

export const GUARD_LEAD = 'pod-hardener guard: not hardened (was the pod-hardener webhook down?)';
export const AUDIT_LEAD = 'pod-hardener audit: would be hardened';

/** The guard policy, its parameters written in. */
export function guardPolicy(name: string, settings: Exceptions): object {
  return validationPolicy(name, settings, GUARD_LEAD);
}

/** A binding to namespaces opted in with `value`, with the given actions. */
export function validationBinding(
  name: string,
  value: string,
  actions: readonly string[],
  namespace: string,
): object {
  return {
    apiVersion: POLICY_API_VERSION,
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name },
    spec: {
      policyName: name,
      validationActions: [...actions],
      matchResources: { namespaceSelector: namespaceSelector(value, namespace) },
    },
  };
}

/** The guard and its binding to enforce namespaces. */
export function guard(name: string, settings: Exceptions, namespace: string): object[] {
  return [
    guardPolicy(name, settings),
    validationBinding(name, LabelValues.enforce, ['Deny'], namespace),
  ];
}

/**
 * Audit namespaces in policy mode: the guard's checks with Warn (the client sees it) and Audit
 * (the audit log records it), never Deny. A MutatingAdmissionPolicy has no audit mode.
 */
export function auditPolicy(name: string, settings: Exceptions, namespace: string): object[] {
  return [
    validationPolicy(name, settings, AUDIT_LEAD),
    validationBinding(name, LabelValues.audit, ['Warn', 'Audit'], namespace),
  ];
}
