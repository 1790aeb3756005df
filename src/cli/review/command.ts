/**
 * `pod-hardener review`: the webhook's answer to one AdmissionReview, without a cluster. The
 * response goes to stdout exactly as the webhook would send it (JSON); stderr says the same for a
 * person: the HTTP status, the decision, the patch decoded, the warnings and audit annotations.
 */
import { reviewAdmission } from '../../admission/review';
import { MODES, type Mode } from '../../admission/types';
import type { Policy } from '../../engine/policy';
import { ADMISSION_API_VERSION, ADMISSION_KIND } from '../../names';
import { isJsonObject as isObject } from '../../engine/json';
import { EXIT, parseOptions, type Command, type Io } from '../command';
import { policyFor } from '../configured-policy';

type Output = Pick<Io, 'stdout' | 'stderr'>;

type Obj = Record<string, unknown>;

/**
 * A bare Pod (`kubectl create --dry-run=client -o json`, a pod from a manifest) is wrapped in the
 * AdmissionReview the API server would send for its creation.
 */
function asReview(body: unknown): { review: unknown; wrapped: boolean } {
  if (!isObject(body) || body.kind !== 'Pod') return { review: body, wrapped: false };
  const meta = isObject(body.metadata) ? body.metadata : {};
  const namespace =
    typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
  return {
    wrapped: true,
    review: {
      apiVersion: ADMISSION_API_VERSION,
      kind: ADMISSION_KIND,
      request: {
        uid: 'pod-hardener-review',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        name: typeof meta.name === 'string' ? meta.name : '',
        namespace,
        operation: 'CREATE',
        object: body,
        oldObject: null,
        dryRun: true,
      },
    },
  };
}

/** Returns the exit code: 0 when the webhook would allow the request, 1 when not, 2 when stdin is not JSON. */
export function review(text: string, mode: Mode, policy: Policy, io: Output): number {
  if (text.trim() === '') {
    io.stderr('pod-hardener: standard input is empty: pipe an AdmissionReview (JSON) in\n');
    return EXIT.error;
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    io.stderr(
      `pod-hardener: standard input is not JSON (the webhook would answer HTTP 400): ${(err as Error).message}\n`,
    );
    return EXIT.error;
  }
  const { review: request, wrapped } = asReview(body);
  const outcome = reviewAdmission(request, mode, policy);
  io.stdout(`${JSON.stringify(outcome.body, null, 2)}\n`);

  const response = (
    isObject(outcome.body) && isObject(outcome.body.response) ? outcome.body.response : {}
  ) as Obj;
  const record = outcome.record;
  const lines: string[] = [];
  if (wrapped)
    lines.push(
      'input is a Pod: reviewed as its CREATE in namespace ' +
        String((request as { request: Obj }).request.namespace),
    );
  const subject = [
    record.namespace && record.pod
      ? `pod ${record.namespace}/${record.pod}`
      : record.pod
        ? `pod ${record.pod}`
        : '',
    record.uid ? `uid ${record.uid}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const allowed = response.allowed === true;
  lines.push(
    `HTTP ${outcome.status}, ${allowed ? 'allowed' : 'not allowed'}, decision ${record.decision} (mode ${mode}${subject ? `, ${subject}` : ''})`,
  );
  const status = isObject(response.status) ? response.status : undefined;
  if (status?.message)
    lines.push(
      `message: ${typeof status.message === 'string' ? status.message : JSON.stringify(status.message)}`,
    );
  if (typeof response.patch === 'string') {
    const ops = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as {
      op: string;
      path: string;
      value?: unknown;
    }[];
    lines.push(
      `patch (${String(response.patchType)}, ${ops.length} operation${ops.length === 1 ? '' : 's'}):`,
    );
    for (const op of ops)
      lines.push(`  ${op.op} ${op.path}${'value' in op ? ` = ${JSON.stringify(op.value)}` : ''}`);
  } else if (allowed) {
    lines.push('no patch');
  }
  if (Array.isArray(response.warnings) && response.warnings.length > 0) {
    lines.push('warnings:', ...response.warnings.map((w) => `  ${String(w)}`));
  }
  if (isObject(response.auditAnnotations)) {
    lines.push(
      'audit annotations:',
      ...Object.entries(response.auditAnnotations).map(([k, v]) => `  ${k}: ${String(v)}`),
    );
  }
  io.stderr(lines.map((l) => `${l}\n`).join(''));
  return outcome.status === 200 && allowed ? EXIT.ok : EXIT.changes;
}

export const reviewCommand: Command = {
  summary: "the webhook's answer to one AdmissionReview (or a bare Pod) on stdin",
  usage: `pod-hardener review [--config FILE] [--mode enforce|audit] < admission-review.json

Reads one AdmissionReview (JSON) on stdin, prints the response the webhook would give, and on
stderr the decoded patch and the warnings.
  --config         the webhook's configuration file
  --mode           enforce (POST /mutate, the default) or audit (POST /audit)
`,
  async run(args, io) {
    const v = parseOptions(args, {
      config: { type: 'string' },
      mode: { type: 'string', choices: MODES },
    });
    const { policy } = policyFor(v.config, io);
    return review(await io.readStdin(), v.mode ?? 'enforce', policy, io);
  },
};
