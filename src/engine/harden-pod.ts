import { asPodHardenerError, createError, type PodHardenerError } from '../errors';
import { harden } from './harden';
import { createPatch, type PatchOperation } from './patch';
import type { Policy } from './policy';
import { InvalidPodError } from './pod-shape';
import { risksOf, type RiskEntry } from './risks';
import { storedView } from './stored-pod';
import type { HardenOptions, HardenResult, Pod } from './types';

export interface HardenPodOptions extends HardenOptions {
  /**
   * The stored pod, on a pods/ephemeralcontainers update: everything but the new ephemeral
   * containers is read from it (stored-pod.ts).
   */
  oldObject?: unknown;
}

/** A pod hardened: the engine's result, and the JSON patch that takes the object as received there. */
export interface PodHardening extends HardenResult {
  /** RFC 6902 operations on the object as received; empty when nothing changes. */
  patch: PatchOperation[];
  /**
   * What may stop working, each with the change that fixes it; each is also a `mayStopWorking`
   * notice, so the webhook's warnings and `kubectl harden` say it too.
   */
  risks: RiskEntry[];
  error?: undefined;
}

/** Why a pod could not be hardened, as the webhook answers it (its code decides the HTTP status). */
export interface HardeningFailure {
  error: PodHardenerError;
  /**
   * For BAD_POD: the field with an impossible shape (`spec.containers[0].name`) and what is wrong
   * with it (`spec.containers[0].name: must be a string`), for callers that point at the field.
   */
  invalid?: { path: string; message: string };
}

/**
 * "Harden this pod": the one entry point the webhook, `kubectl harden`, `scan` and the policy
 * renderer's differential test call. It reads the pod as the API server will store it, runs the
 * rule chain, makes the guarded patch and maps every failure to the error table, so that each
 * caller only chooses how to say the outcome (an AdmissionResponse, an edited file, a report).
 * Never throws.
 */
export function hardenPod(
  object: unknown,
  policy: Policy,
  options: HardenPodOptions,
): PodHardening | HardeningFailure {
  try {
    const stored = storedView(object, options.oldObject, options.scope);
    const result = harden(stored.pod, policy, options);
    if (stored.notices.length > 0) result.notices.unshift(...stored.notices);
    const patch =
      result.changes.length > 0 ? createPatch(object, stored.patchTarget(result.pod)) : [];
    const risks =
      patch.length > 0
        ? risksOf(stored.pod as Pod, result.pod, result.changes, {
            policy,
            namespace: options.namespace,
          })
        : [];
    for (const { target, risk } of risks)
      result.notices.push({
        kind: 'mayStopWorking',
        target,
        message: `may stop working: ${risk.reason}`,
        fix: risk.fix,
      });
    return { ...result, patch, risks: risks.map((r) => r.risk) };
  } catch (thrown) {
    if (thrown instanceof InvalidPodError)
      return {
        error: createError('BAD_POD', thrown.message),
        invalid: { path: thrown.path, message: thrown.message },
      };
    return { error: asPodHardenerError(thrown) };
  }
}
