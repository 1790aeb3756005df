import { Annotations } from '../names';
import { parseCapabilityList, splitList } from './capabilities';
import type { Policy } from './policy';
import { containerTarget, eachContainer } from './pod';
import type { Notice, Pod, Target } from './types';

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
  allowedCapabilities(containerName: string): CapabilityAllowlist;
  notices: Notice[];
}

const POD: Target = { kind: 'pod' };

/** What a container may keep: asked by name, never copied per container (see resolveExceptions). */
export type CapabilityAllowlist = Pick<ReadonlySet<string>, 'has'>;
const NOTHING: CapabilityAllowlist = new Set<string>();

/**
 * How many names one notice quotes, and how long a quoted pod value may be. Annotations reach the
 * webhook before the API server checks their 256 KiB limit, in bodies of up to 3 MiB: a notice per
 * unknown name, or a value quoted whole, would turn one hostile pod into megabytes of warnings,
 * log lines and audit annotations.
 */
const MAX_NAMED = 10;
const MAX_QUOTED = 64;

function quoted(value: string): string {
  return JSON.stringify(value.length <= MAX_QUOTED ? value : `${value.slice(0, MAX_QUOTED)}...`);
}

/** `"a", "b" and 3 more`: the first names of a list of any length, each quoted and clipped. */
function someOf(names: readonly string[]): string {
  const shown = names.slice(0, MAX_NAMED).map(quoted).join(', ');
  return names.length > MAX_NAMED ? `${shown} and ${names.length - MAX_NAMED} more` : shown;
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
      message: `annotation ${key}=${quoted(value)} is neither "true" nor "false"; ignored`,
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
    return { skipPod: true, untouched: new Set(), allowedCapabilities: () => NOTHING, notices };
  }

  const skipValue = annotation(pod, Annotations.skip, notices);
  if (skipValue !== undefined && isTrue(skipValue, Annotations.skip, notices)) {
    if (skipAllowed) {
      notices.push({
        kind: 'skipPod',
        target: POD,
        message: `pod left untouched: annotation ${Annotations.skip}="true"`,
      });
      return { skipPod: true, untouched: new Set(), allowedCapabilities: () => NOTHING, notices };
    }
    notices.push(skipDenied(Annotations.skip, namespace));
  }

  const untouched = new Set<string>();
  const skipContainers = annotation(pod, Annotations.skipContainers, notices);
  if (skipContainers !== undefined) {
    if (!skipAllowed) {
      notices.push(skipDenied(Annotations.skipContainers, namespace));
    } else {
      const present = new Set(containers.map(({ container }) => container.name as string));
      const unknown: string[] = [];
      for (const name of new Set(splitList(skipContainers))) {
        if (present.has(name)) untouched.add(name);
        else unknown.push(name);
      }
      if (unknown.length > 0) {
        notices.push({
          kind: 'badAnnotation',
          target: POD,
          message: `${Annotations.skipContainers} names ${someOf(unknown)}, not containers of this pod`,
        });
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
    const above = new Set<string>();
    for (const cap of parseCapabilityList(list)) {
      if (policy.ceilingAllows(cap)) allowed.add(cap);
      else above.add(cap);
    }
    if (above.size > 0) {
      notices.push({
        kind: 'capabilityAboveCeiling',
        target,
        message: `${key} lists ${someOf([...above])}, above the operator's ceiling (exceptions.capabilityCeiling); not kept`,
      });
    }
    return allowed;
  };

  const podWide = withinCeiling(
    annotation(pod, Annotations.allowedCapabilities, notices),
    Annotations.allowedCapabilities,
    POD,
  );
  // A container's own allowlist is asked before the pod-wide one instead of merged into a copy of
  // it: a copy per container would cost containers x pod-wide entries, both as large as a hostile
  // pod makes them.
  const perContainer = new Map<string, CapabilityAllowlist>();
  for (const { list, container } of containers) {
    const name = container.name as string;
    const key = Annotations.containerCapabilitiesPrefix + name;
    const own = annotation(pod, key, notices);
    if (own === undefined || untouched.has(name)) continue;
    const ownAllowed = withinCeiling(own, key, containerTarget(list, container));
    perContainer.set(name, { has: (cap) => ownAllowed.has(cap) || podWide.has(cap) });
  }

  return {
    skipPod: false,
    untouched,
    allowedCapabilities: (name) => perContainer.get(name) ?? podWide,
    notices,
  };
}

/**
 * A skip annotation the operator's bounds do not allow here. It names the setting, and who holds
 * it, so a pod author knows whom to ask rather than how to get around it.
 */
function skipDenied(key: string, namespace: string): Notice {
  return {
    kind: 'skipDenied',
    target: POD,
    message: `annotation ${key} ignored: skipping is not allowed in namespace ${quoted(namespace)}; a cluster operator can allow it by adding the namespace to exceptions.skipNamespaces in pod-hardener's configuration`,
  };
}
