/**
 * The example of docs/hardening.md, "Before and after", run through the webhook's review: the
 * pod in the left column, hardened and stored, has the security contexts and the summary
 * annotation of the right column; `kubectl apply` prints exactly the warnings shown, in their
 * order; and the audit annotations are the ones the paragraph after them names.
 */
import YAML from 'yaml';
import { reviewAdmission } from '../../../src/admission/review';
import { readDoc, section } from '../../support/markdown';
import { policyWith } from '../../support/policy';
import { podReview } from '../../support/reviews';
import { applyStrict, decodePatch } from '../../support/strict-patch';

/** The page and the section whose example is run here. */
const HARDENING_DOC = 'docs/hardening.md';
const EXAMPLE = 'Before and after';

const text = section(readDoc(HARDENING_DOC), EXAMPLE, HARDENING_DOC);
const blocks = [...text.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map(([, lang, body]) => ({
  lang,
  body,
}));

/** The side-by-side YAML split at the column where `# after` starts. */
function columns(block: string): { before: any; after: any } {
  const lines = block.split('\n');
  const at = lines[0].indexOf('# after');
  if (at < 0) throw new Error(`the first line of the ${EXAMPLE} example names no "# after" column`);
  const left = lines.map((l) => l.slice(0, at).trimEnd()).join('\n');
  const right = lines.map((l) => l.slice(at)).join('\n');
  return { before: YAML.parse(left), after: YAML.parse(right) };
}

describe(`${HARDENING_DOC}, "${EXAMPLE}"`, () => {
  const yamlBlock = blocks.find((b) => b.lang === 'yaml');
  const warningsBlock = blocks.find((b) => b.body.startsWith('Warning: '));
  if (!yamlBlock || !warningsBlock)
    throw new Error(`${HARDENING_DOC}: "${EXAMPLE}" lost its YAML or its warnings block`);
  const { before, after } = columns(yamlBlock.body);
  const pod = { apiVersion: 'v1', kind: 'Pod', ...before };
  const outcome = reviewAdmission(podReview(pod, { namespace: 'shop' }), 'enforce', policyWith());
  const response = (outcome.body as any).response;

  test('the webhook allows and patches the pod of the left column', () => {
    expect(outcome.status).toBe(200);
    expect(response.allowed).toBe(true);
    expect(outcome.record.decision).toBe('patched');
  });

  test('the stored pod is the right column', () => {
    const stored = applyStrict(structuredClone(pod), decodePatch(response));
    expect(stored).toMatchObject(after);
    // Beyond what the right column shows, nothing was added to the security contexts.
    expect(Object.keys(stored.spec.securityContext).sort()).toEqual(
      Object.keys(after.spec.securityContext).sort(),
    );
    expect(Object.keys(stored.spec.containers[0].securityContext).sort()).toEqual(
      Object.keys(after.spec.containers[0].securityContext).sort(),
    );
  });

  test('the warnings are the ones kubectl prints, in order', () => {
    const shown = warningsBlock.body
      .trimEnd()
      .split('\n')
      .map((l) => l.replace(/^Warning: /, ''));
    expect(response.warnings).toEqual(shown);
  });

  test('the audit annotations are the ones named', () => {
    const named = Object.fromEntries(
      [...text.matchAll(/`enforce\.pod-hardener\.io\/(\w+): ([^`]+)`|`\.\.\.\/(\w+): ([^`]+)`/g)]
        .map((m) => [m[1] ?? m[3], m[2] ?? m[4]] as const)
        .filter(([, value]) => !value.startsWith('<')),
    );
    expect(Object.keys(named)).toEqual(['mode', 'decision', 'exceptions']);
    expect(response.auditAnnotations).toMatchObject(named);
    expect(response.auditAnnotations.changes).toBe(
      after.metadata.annotations['pod-hardener.io/hardened'],
    );
  });
});
