import { Annotations } from '../names';
import { parseCapabilityList, splitList } from './capabilities';
import type { Policy } from './policy';
import type { Container, ContainerList, ContainerTarget, Notice, Pod, Target } from './types';

/**
 * What the pod's annotations and the operator's exemptions leave out of hardening, bounded by
 * the operator's policy: skip annotations only count in the namespaces the operator allows, and
 * capability allowlists only up to the operator's ceiling. Anything a pod author asks beyond
 * that is ignored and reported as a notice (and so as a warning and a metric).
 */
export interface Exceptions {
  skipPod: boolean;
  /** Names of containers left exactly as they are (skip-containers annotation or operator exemption). */
  untouched: ReadonlySet<string>;
  /** Normalized capabilities a container may keep in capabilities.add, within the ceiling. */
  allowedCapabilities(containerName: string): ReadonlySet<string>;
  notices: Notice[];
}

const POD: Target = { kind: 'pod' };

export const CONTAINER_LISTS: readonly ContainerList[] = [
  'containers',
  'initContainers',
  'ephemeralContainers',
];

/** Every container of the pod with the list it is in. */
export function eachContainer(pod: Pod): { list: ContainerList; container: Container }[] {
  const out: { list: ContainerList; container: Container }[] = [];
  for (const list of CONTAINER_LISTS) {
    for (const container of pod.spec?.[list] ?? []) out.push({ list, container });
  }
  return out;
}

export function containerTarget(list: ContainerList, container: Container): ContainerTarget {
  return { kind: 'container', list, name: container.name as string };
}

function annotation(pod: Pod, key: string, notices: Notice[]): string | undefined {
  const value = pod.metadata?.annotations?.[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    notices.push({
      kind: 'badAnnotation',
      target: POD,
      message: `annotation ${key} is not a string; ignored`,
    });
    return undefined;
  }
  return value;
}

function isTrue(value: string, key: string, notices: Notice[]): boolean {
  const v = value.trim().toLowerCase();
  if (v !== 'true' && v !== 'false') {
    notices.push({
      kind: 'badAnnotation',
      target: POD,
      message: `annotation ${key}="${value}" is neither "true" nor "false"; ignored`,
    });
  }
  return v === 'true';
}

export function resolveExceptions(pod: Pod, policy: Policy, namespace: string): Exceptions {
  const notices: Notice[] = [];
  const skipAllowed = policy.skipAllowedIn(namespace);
  const containers = eachContainer(pod);

  // A mirror pod shows what the kubelet runs from a static pod's manifest on the node. Hardening
  // it would make the API show settings the running process does not have (the kubelet never
  // applies the mirror pod's spec), so it is left as it is, and said so.
  if (pod.metadata?.annotations?.[Annotations.mirrorPod] !== undefined) {
    notices.push({
      kind: 'mirrorPod',
      target: POD,
      message:
        'mirror pod of a static pod left untouched: the kubelet runs the static pod from its manifest on the node, ' +
        'not from this object; harden the manifest there (kubectl harden -f FILE --write)',
    });
    return { skipPod: true, untouched: new Set(), allowedCapabilities: () => new Set(), notices };
  }

  const skipValue = annotation(pod, Annotations.skip, notices);
  if (skipValue !== undefined && isTrue(skipValue, Annotations.skip, notices)) {
    if (skipAllowed) {
      notices.push({
        kind: 'skipPod',
        target: POD,
        message: `pod left untouched: annotation ${Annotations.skip}="true"`,
      });
      return { skipPod: true, untouched: new Set(), allowedCapabilities: () => new Set(), notices };
    }
    notices.push({
      kind: 'skipDenied',
      target: POD,
      message: `annotation ${Annotations.skip} ignored: the operator does not allow skipping in namespace ${namespace}`,
    });
  }

  const untouched = new Set<string>();
  const skipContainers = annotation(pod, Annotations.skipContainers, notices);
  if (skipContainers !== undefined) {
    const names = splitList(skipContainers);
    if (!skipAllowed) {
      notices.push({
        kind: 'skipDenied',
        target: POD,
        message: `annotation ${Annotations.skipContainers} ignored: the operator does not allow skipping in namespace ${namespace}`,
      });
    } else {
      const present = new Set(containers.map(({ container }) => container.name as string));
      for (const name of names) {
        if (present.has(name)) {
          untouched.add(name);
        } else {
          notices.push({
            kind: 'badAnnotation',
            target: POD,
            message: `${Annotations.skipContainers} names "${name}", which is not a container of this pod`,
          });
        }
      }
      for (const { list, container } of containers) {
        if (untouched.has(container.name as string)) {
          notices.push({
            kind: 'skipContainers',
            target: containerTarget(list, container),
            message: `container left untouched: listed in ${Annotations.skipContainers}`,
          });
        }
      }
    }
  }

  for (const { list, container } of containers) {
    const name = container.name as string;
    if (
      !untouched.has(name) &&
      policy.isExempt(name, typeof container.image === 'string' ? container.image : '')
    ) {
      untouched.add(name);
      notices.push({
        kind: 'exemptContainer',
        target: containerTarget(list, container),
        message: 'container left untouched: exempt by the operator',
      });
    }
  }

  const withinCeiling = (list: string | undefined, key: string, target: Target): Set<string> => {
    const allowed = new Set<string>();
    if (list === undefined) return allowed;
    for (const cap of parseCapabilityList(list)) {
      if (policy.ceilingAllows(cap)) {
        allowed.add(cap);
      } else {
        notices.push({
          kind: 'capabilityAboveCeiling',
          target,
          message: `${key} lists ${cap}, above the operator's ceiling; not kept`,
        });
      }
    }
    return allowed;
  };

  const podWide = withinCeiling(
    annotation(pod, Annotations.allowedCapabilities, notices),
    Annotations.allowedCapabilities,
    POD,
  );
  const perContainer = new Map<string, ReadonlySet<string>>();
  for (const { list, container } of containers) {
    const name = container.name as string;
    const key = Annotations.containerCapabilitiesPrefix + name;
    const own = annotation(pod, key, notices);
    if (own === undefined || untouched.has(name)) continue;
    perContainer.set(
      name,
      new Set([...podWide, ...withinCeiling(own, key, containerTarget(list, container))]),
    );
  }

  return {
    skipPod: false,
    untouched,
    allowedCapabilities: (name) => perContainer.get(name) ?? podWide,
    notices,
  };
}
