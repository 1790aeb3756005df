/**
 * Image identity's invariants over generated pods and generated image users: hardening stays
 * idempotent with the same lookups, every hardened container ends with a non-root user, a
 * container that had no acceptable user runs as its image's when the image has one.
 */
import fc from 'fast-check';
import { harden } from '../../../src/engine/harden';
import type { ImageUser } from '../../../src/engine/types';
import { podArb } from '../../support/arbitraries';
import { containersOf } from '../../support/pods';
import { policyWith } from '../../support/policy';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 400);

const imageUserArb: fc.Arbitrary<ImageUser> = fc.oneof(
  fc.record({ found: fc.constant(true as const), uid: fc.integer({ min: 1, max: 70000 }) }),
  fc.record({
    found: fc.constant(true as const),
    uid: fc.integer({ min: 1, max: 70000 }),
    gid: fc.integer({ min: 1, max: 70000 }),
  }),
  fc.record({ found: fc.constant(false as const), reason: fc.constant('a name') }),
);

/** A pod, and an image user for each image it names (or none for some). */
const podWithUsersArb = podArb.chain((pod) => {
  const images = [...new Set(containersOf(pod).map((c: any) => c.image as string))];
  return fc
    .array(fc.option(imageUserArb, { nil: undefined }), {
      minLength: images.length,
      maxLength: images.length,
    })
    .map((users) => {
      const map = new Map<string, ImageUser>();
      images.forEach((image, i) => users[i] !== undefined && map.set(image, users[i]));
      return { pod, users: map };
    });
});

const options = (imageUsers: ReadonlyMap<string, ImageUser>) => ({
  scope: { kind: 'create' as const },
  namespace: 'team',
  imageUsers,
});
const isNonRoot = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;

test('idempotent, non-root, and the image user where the container had none', () => {
  fc.assert(
    fc.property(podWithUsersArb, ({ pod, users }) => {
      const policy = policyWith();
      const once = harden(pod, policy, options(users));
      expect(harden(once.pod, policy, options(users)).changes).toEqual([]);
      if (once.skipped || (pod as any).spec.os?.name === 'windows') return;
      const before = new Map<string, any>(containersOf(pod).map((c: any) => [c.name, c]));
      const touched = new Set(
        once.changes.flatMap((c) => (c.target.kind === 'container' ? [c.target.name] : [])),
      );
      for (const c of containersOf(once.pod)) {
        const podSc = (once.pod as any).spec.securityContext;
        const user = c.securityContext?.runAsUser ?? podSc?.runAsUser;
        const original = before.get(c.name);
        const originalUser =
          original.securityContext?.runAsUser ?? (pod as any).spec.securityContext?.runAsUser;
        // Exempt and skipped containers are not the engine's to change.
        if (!touched.has(c.name) && !isNonRoot(originalUser) && !isNonRoot(user)) continue;
        expect(isNonRoot(user)).toBe(true);
        const image = users.get(c.image);
        if (image?.found && !isNonRoot(originalUser) && touched.has(c.name))
          expect(c.securityContext.runAsUser).toBe(image.uid);
      }
    }),
    { numRuns: RUNS },
  );
});
