import { Annotations } from '../names';
import { RuleContext, type HardenTarget } from './context';
import { draftPod } from './draft';
import { resolveExceptions } from './exceptions';
import { containerTarget, eachContainer } from './pod';
import { assertPodShape } from './pod-shape';
import type { Policy } from './policy';
import { RULES } from './rules';
import { MAX_MERGED_SUMMARY, summarize } from './summary';
import type { Change, Container, HardenOptions, HardenResult, Notice, Pod } from './types';

/**
 * Hardens one pod: every rule of docs/hardening.md ("The rules"), in order. Pure: the input is
 * never modified; the result is a copy when anything changed, with the list of changes and notices
 * from which every report (warnings, annotations, logs, metrics) is made.
 *
 * Throws InvalidPodError when a field the engine works on has an impossible shape.
 */
export function harden(input: unknown, policy: Policy, options: HardenOptions): HardenResult {
  assertPodShape(input);
  const pod: Pod = input;
  const exceptions = resolveExceptions(pod, policy, options.namespace);
  if (exceptions.skipPod)
    return { pod, changes: [], notices: exceptions.notices, skipped: true, summary: '' };

  const os = pod.spec!.os;
  if (typeof os === 'object' && os !== null && !Array.isArray(os) && os.name === 'windows') {
    // The API server rejects every Linux-only security field on Windows pods, and the one field
    // it allows (runAsNonRoot) would stop images that run as ContainerAdministrator, with no
    // numeric user to give them instead. Windows pods are admitted as they are, and said so.
    const notices = [
      ...exceptions.notices,
      {
        kind: 'windowsPod' as const,
        target: { kind: 'pod' as const },
        message: 'Windows pod: Linux hardening does not apply; left unchanged',
      },
    ];
    return { pod, changes: [], notices, skipped: false, summary: '' };
  }

  const draft = draftPod(pod);
  const scope = options.scope;
  const targets: HardenTarget[] = [];
  const untouched: Container[] = [];
  for (const { list, container } of eachContainer(draft)) {
    const name = container.name as string;
    const isNew =
      scope.kind === 'create' ||
      (list === 'ephemeralContainers' && !scope.existingEphemeral.has(name));
    if (!isNew || exceptions.untouched.has(name)) {
      untouched.push(container);
      continue;
    }
    const imageUser =
      typeof container.image === 'string' ? options.imageUsers?.get(container.image) : undefined;
    targets.push({
      ref: containerTarget(list, container),
      container,
      allowed: exceptions.allowedCapabilities(name),
      ...(imageUser !== undefined ? { imageUser } : {}),
    });
  }

  const ctx = new RuleContext(policy, draft, targets, untouched, scope.kind === 'create');
  for (const rule of RULES) rule(ctx);
  const notices = [...exceptions.notices, ...ctx.notices];
  if (ctx.changes.length === 0) return { pod, changes: [], notices, skipped: false, summary: '' };

  const summary = summarize(undefined, ctx.changes);
  // The API server only accepts changes to spec.ephemeralContainers on that subresource, so the
  // summary annotation is written on pod creation only.
  if (scope.kind === 'create') {
    const metadata = draft.metadata ?? (draft.metadata = {});
    const annotations = metadata.annotations ?? (metadata.annotations = {});
    annotations[Annotations.hardened] = hardenedAnnotation(
      annotations[Annotations.hardened],
      ctx.changes,
      summary,
      notices,
    );
  }
  return { pod: draft, changes: ctx.changes, notices, skipped: false, summary };
}

/**
 * The summary annotation: what this review changed, merged into what the pod already says when it
 * says something of a size pod-hardener writes (a reinvocation after a sidecar injector), and
 * written anew otherwise.
 */
function hardenedAnnotation(
  existing: unknown,
  changes: readonly Change[],
  summary: string,
  notices: Notice[],
): string {
  if (typeof existing !== 'string' || existing === '') return summary;
  if (existing.length <= MAX_MERGED_SUMMARY) return summarize(existing, changes);
  notices.push({
    kind: 'badAnnotation',
    target: { kind: 'pod' },
    message: `annotation ${Annotations.hardened} is longer than pod-hardener writes (${existing.length} characters); replaced, not merged`,
  });
  return summary;
}
