import type { Capabilities, Container, Pod, SecurityContext } from './types';

/**
 * Copies exactly the parts of a pod that rules may write, and shares everything else with the
 * original: the pod, metadata, annotations, spec, the container lists, each container, each
 * securityContext and capabilities object, and the add/drop lists. Rules write only at those
 * levels (a nested value such as seccompProfile is replaced whole, never edited in place), so
 * the input stays untouched and the diff can skip every shared subtree by identity.
 * A review therefore allocates a few small objects per container instead of a deep copy of the
 * pod, whose cost grows with everything a pod carries that no rule touches (env, volumes,
 * managed fields; the benchmarks' large pod is 44 KB), on every admission request.
 */
export function draftPod(pod: Pod): Pod {
  const copy: Pod = { ...pod };
  if (pod.metadata) {
    copy.metadata = { ...pod.metadata };
    if (pod.metadata.annotations) copy.metadata.annotations = { ...pod.metadata.annotations };
  }
  const spec = pod.spec!;
  copy.spec = { ...spec };
  if (spec.securityContext) copy.spec.securityContext = draftSecurityContext(spec.securityContext);
  copy.spec.containers = spec.containers!.map(draftContainer);
  if (spec.initContainers) copy.spec.initContainers = spec.initContainers.map(draftContainer);
  if (spec.ephemeralContainers)
    copy.spec.ephemeralContainers = spec.ephemeralContainers.map(draftContainer);
  return copy;
}

function draftContainer(container: Container): Container {
  const copy = { ...container };
  if (container.securityContext)
    copy.securityContext = draftSecurityContext(container.securityContext);
  return copy;
}

function draftSecurityContext(sc: SecurityContext): SecurityContext {
  const copy = { ...sc };
  if (sc.capabilities) copy.capabilities = draftCapabilities(sc.capabilities);
  return copy;
}

function draftCapabilities(caps: Capabilities): Capabilities {
  const copy = { ...caps };
  if (Array.isArray(caps.add)) copy.add = [...caps.add];
  if (Array.isArray(caps.drop)) copy.drop = [...caps.drop];
  return copy;
}
