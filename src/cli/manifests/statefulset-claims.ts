/**
 * The StatefulSet controller gives each pod a volume for every volumeClaimTemplate
 * (`<claim>-<statefulset>-<ordinal>`), so the pod the webhook sees mounts writable volumes that
 * the template does not list, and gets fsGroup for them. The engine is shown those volumes too;
 * they are taken out of the result again, since they are not part of the manifest.
 */
import { isJsonObject as isObject } from '../../engine/json';
import { str } from './workload-kinds';

type Obj = Record<string, unknown>;

export function withClaimVolumes(pod: Obj, statefulSet: Obj, name: string): Obj {
  const claims = isObject(statefulSet.spec) ? statefulSet.spec.volumeClaimTemplates : undefined;
  const spec = pod.spec as Obj;
  if (!Array.isArray(claims) || claims.length === 0) return pod;
  const volumes = Array.isArray(spec.volumes) ? spec.volumes : [];
  const present = new Set(volumes.map((v) => (isObject(v) ? v.name : undefined)));
  const extra = claims
    .map((c) => (isObject(c) && isObject(c.metadata) ? str(c.metadata.name) : undefined))
    .filter((claim): claim is string => claim !== undefined && !present.has(claim))
    .map((claim) => ({ name: claim, persistentVolumeClaim: { claimName: `${claim}-${name}-0` } }));
  return extra.length === 0
    ? pod
    : { ...pod, spec: { ...spec, volumes: [...(volumes as unknown[]), ...extra] } };
}

export function withoutClaimVolumes(hardened: Obj, pod: Obj): Obj {
  const original = pod.spec as Obj;
  const spec = { ...(hardened.spec as Obj) };
  if ('volumes' in original) spec.volumes = original.volumes;
  else delete spec.volumes;
  return { ...hardened, spec };
}
