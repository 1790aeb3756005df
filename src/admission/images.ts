import { isNonRootId } from '../engine/context';
import type { Container, Pod } from '../engine/types';

/**
 * The images whose USER a review may use (image identity): those of containers that run with
 * no non-root user or group of their own or from the pod, in a pod creation or in the new
 * containers of an ephemeral-container update. Read leniently, before the review decodes the
 * body: anything unexpected yields fewer images, never an error (the review reports it).
 * Linear in the body; at most `max` images.
 */
export function imagesToLookUp(body: unknown, max: number): string[] {
  const request = (body as { request?: unknown } | null)?.request as
    | {
        operation?: unknown;
        subResource?: unknown;
        kind?: { kind?: unknown };
        object?: Pod;
        oldObject?: Pod;
      }
    | undefined;
  if (typeof request !== 'object' || request === null || request.kind?.kind !== 'Pod') return [];
  const spec = request.object?.spec;
  if (typeof spec !== 'object' || spec === null) return [];
  let lists: unknown[];
  let known: ReadonlySet<unknown> = new Set();
  if (request.operation === 'CREATE' && (request.subResource ?? '') === '')
    lists = [spec.containers, spec.initContainers, spec.ephemeralContainers];
  else if (request.operation === 'UPDATE' && request.subResource === 'ephemeralcontainers') {
    lists = [spec.ephemeralContainers];
    const old = request.oldObject?.spec?.ephemeralContainers;
    if (Array.isArray(old)) known = new Set(old.map((c: Container | null) => c?.name));
  } else return [];
  const podSc = request.oldObject?.spec?.securityContext ?? spec.securityContext;
  const out = new Set<string>();
  for (const list of lists) {
    if (!Array.isArray(list)) continue;
    for (const c of list as (Container | null)[]) {
      if (typeof c !== 'object' || c === null || typeof c.image !== 'string') continue;
      if (known.has(c.name)) continue;
      const sc = c.securityContext;
      const user = sc?.runAsUser ?? podSc?.runAsUser;
      const group = sc?.runAsGroup ?? podSc?.runAsGroup;
      if (isNonRootId(user) && isNonRootId(group)) continue;
      out.add(c.image);
      if (out.size >= max) return [...out];
    }
  }
  return [...out];
}
