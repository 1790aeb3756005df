import { isJsonObject } from './json';
import type { HardenScope, Notice, Pod } from './types';
import { InvalidPodError } from './pod-shape';

/**
 * The pod as the API server will store it, which is what every decision must be made on.
 *
 * On a pod CREATE that is the request's object. On the `pods/ephemeralcontainers` subresource it
 * is not: kube-apiserver runs mutating admission first, then its ephemeral-containers strategy
 * (PrepareForUpdate in pkg/registry/core/pod/strategy.go) copies only `spec.ephemeralContainers`
 * from the new object onto the stored pod and drops everything else the request carried. A body
 * that claims a mirror-pod or skip annotation, `os.name: windows` or a non-root pod-level
 * securityContext would steer a webhook that believed it, and none of it would be stored. So the
 * engine reads everything but the ephemeral containers from `oldObject`, the stored pod.
 */
export interface StoredView {
  /** What the engine hardens. */
  pod: unknown;
  /** Said to the requester and logged where the body disagrees with the stored pod. */
  notices: Notice[];
  /** Puts the hardened ephemeral containers back into the body, which is what the patch applies to. */
  patchTarget(hardened: Pod): unknown;
}

/** Fields of the body compared with the stored pod, beside the spec outside ephemeral containers. */
const METADATA_COMPARED = ['annotations', 'labels'] as const;
/** How many differing fields a notice names: a hostile body can differ in thousands. */
const MAX_NAMED = 5;

export function storedView(object: unknown, oldObject: unknown, scope: HardenScope): StoredView {
  if (scope.kind === 'create') return { pod: object, notices: [], patchTarget: (pod) => pod };
  if (!isJsonObject(oldObject) || !isJsonObject(oldObject.spec))
    throw new InvalidPodError(
      'oldObject',
      'must be the stored Pod on a pods/ephemeralcontainers UPDATE',
    );
  if (!isJsonObject(object) || !isJsonObject(object.spec))
    throw new InvalidPodError('object', 'must be a Pod object');
  const body = object as Pod;
  const stored = oldObject as Pod;
  const pod: Pod = {
    ...stored,
    spec: { ...stored.spec, ephemeralContainers: body.spec!.ephemeralContainers },
  };
  const differing = differences(body, stored);
  const notices: Notice[] =
    differing.length === 0
      ? []
      : [
          {
            kind: 'requestNotStored',
            target: { kind: 'pod' },
            message: `the request differs from the stored pod outside spec.ephemeralContainers (${namedList(differing)}); the API server keeps only the ephemeral containers, so the stored pod was judged`,
          },
        ];
  return {
    pod,
    notices,
    patchTarget: (hardened) => ({
      ...body,
      spec: { ...body.spec, ephemeralContainers: hardened.spec!.ephemeralContainers },
    }),
  };
}

function namedList(fields: readonly string[]): string {
  const named = fields.slice(0, MAX_NAMED).join(', ');
  return fields.length > MAX_NAMED ? `${named} and ${fields.length - MAX_NAMED} more` : named;
}

/** The fields of the body outside the ephemeral containers that the stored pod does not have. */
function differences(body: Pod, stored: Pod): string[] {
  const out: string[] = [];
  for (const key of METADATA_COMPARED) {
    if (!sameJson(body.metadata?.[key], stored.metadata?.[key])) out.push(`metadata.${key}`);
  }
  const keys = new Set([...Object.keys(body.spec!), ...Object.keys(stored.spec!)]);
  for (const key of keys) {
    if (key === 'ephemeralContainers') continue;
    if (!sameJson(body.spec![key], stored.spec![key])) out.push(`spec.${key}`);
  }
  return out;
}

/**
 * Structural equality of two decoded JSON values, absent and null alike (the API server omits
 * empty fields in one and may carry null in the other). Iterative and linear in the size of the
 * smaller value: a body of 3 MiB must not cost more than reading it.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  const stack: [unknown, unknown][] = [[a, b]];
  while (stack.length > 0) {
    const [x, y] = stack.pop()!;
    if (x === y || (x == null && y == null)) continue;
    if (x == null || y == null || typeof x !== typeof y) return false;
    if (Array.isArray(x)) {
      if (!Array.isArray(y) || x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) stack.push([x[i], y[i]]);
      continue;
    }
    if (isJsonObject(x)) {
      if (!isJsonObject(y) || Array.isArray(y)) return false;
      const xKeys = Object.keys(x).filter((k) => x[k] != null);
      const yCount = Object.keys(y).filter((k) => y[k] != null).length;
      if (xKeys.length !== yCount) return false;
      for (const k of xKeys) stack.push([x[k], y[k]]);
      continue;
    }
    return false;
  }
  return true;
}
