/**
 * Every label and annotation key of pod-hardener, defined once (error codes: errors.ts).
 * Everything else imports from here, so a key users write on their namespaces and pods is never
 * spelled twice, and a typo cannot make one place disagree with another.
 */

export const DOMAIN = 'pod-hardener.io';

export const Labels = {
  /** Namespace label: "true" enforces, "audit" reports only. Matched by the webhook's namespaceSelector. */
  enabled: `${DOMAIN}/enabled`,
} as const;

export const LabelValues = {
  enforce: 'true',
  audit: 'audit',
} as const;

export const Annotations = {
  /** Pod: "true" admits the pod untouched. */
  skip: `${DOMAIN}/skip`,
  /** Pod: comma-separated container names left untouched. */
  skipContainers: `${DOMAIN}/skip-containers`,
  /** Pod: comma-separated capabilities kept in capabilities.add of every container. */
  allowedCapabilities: `${DOMAIN}/allowed-capabilities`,
  /** Pod: prefix of the per-container allowlist, `capabilities.pod-hardener.io/<container-name>`. */
  containerCapabilitiesPrefix: `capabilities.${DOMAIN}/`,
  /** Pod: written by pod-hardener, summarising what it changed. */
  hardened: `${DOMAIN}/hardened`,
  /**
   * Kubernetes' own: set by the kubelet on the mirror pod of a static pod. The kubelet runs a
   * static pod from its manifest file, never from this API object, and deletes any pod carrying
   * this annotation that no static pod of its own backs, so such a pod never runs from the API.
   */
  mirrorPod: 'kubernetes.io/config.mirror',
  /**
   * Kubernetes' own: the AppArmor profile of one container before the securityContext field
   * (`container.apparmor.security.beta.kubernetes.io/<container-name>`), still honoured and kept
   * in step with the field by the API server.
   */
  appArmorContainerPrefix: 'container.apparmor.security.beta.kubernetes.io/',
} as const;

/** Keys of the AdmissionResponse auditAnnotations (the API server prefixes them with the webhook name). */
export const AuditKeys = {
  mode: 'mode',
  decision: 'decision',
  changes: 'changes',
  exceptions: 'exceptions',
} as const;

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';
