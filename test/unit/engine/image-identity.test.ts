/**
 * Image identity in the engine: the image's numeric USER, handed in by the caller, is what a
 * container runs as when neither it nor the pod sets a non-root user; the defaults apply, with
 * a notice saying why, where the image's user cannot be used.
 */
import { harden } from '../../../src/engine/harden';
import type { ImageUser } from '../../../src/engine/types';
import { warningsFor } from '../../../src/admission/report';
import { policyWith } from '../../support/policy';
import { pod } from '../../support/pods';

const options = (users: Record<string, ImageUser>) => ({
  scope: { kind: 'create' as const },
  namespace: 'team',
  imageUsers: new Map(Object.entries(users)),
});

const sc = (p: unknown, i = 0) => (p as any).spec.containers[i].securityContext;

describe('harden() with image users', () => {
  test('USER 999 and nothing set: the container runs as 999, set on the container, said so', () => {
    const input = pod({ containers: [{ name: 'argocd', image: 'argocd:v3' }] });
    const result = harden(input, policyWith(), options({ 'argocd:v3': { found: true, uid: 999 } }));
    expect(sc(result.pod).runAsUser).toBe(999);
    // The default group still applies: the image named no group. On the container, since the pod
    // level has no user (containerd refuses a pod sandbox with a group and no user).
    expect(sc(result.pod).runAsGroup).toBe(3000);
    expect((result.pod as any).spec.securityContext.runAsGroup).toBeUndefined();
    // No pod-level user: the only container runs as its image's.
    expect((result.pod as any).spec.securityContext.runAsUser).toBeUndefined();
    expect(warningsFor('enforce', result.changes, result.notices)).toContain(
      'pod-hardener: container "argocd": runAsUser unset -> 999 (image USER)',
    );
    expect(result.summary).toContain('runAsUser=999 (image USER) [argocd]');
    // Idempotent: sent again, nothing changes (the image's user is now explicit).
    const again = harden(
      result.pod,
      policyWith(),
      options({ 'argocd:v3': { found: true, uid: 999 } }),
    );
    expect(again.changes).toEqual([]);
  });

  test('USER 101:101 gives both the user and the group; root on the container is replaced', () => {
    const input = pod({
      containers: [
        { name: 'web', image: 'nginx', securityContext: { runAsUser: 0, runAsGroup: 0 } },
      ],
    });
    const result = harden(
      input,
      policyWith(),
      options({ nginx: { found: true, uid: 101, gid: 101 } }),
    );
    expect(sc(result.pod)).toMatchObject({ runAsUser: 101, runAsGroup: 101 });
    expect(result.changes.filter((c) => c.because === 'image USER').map((c) => c.field)).toEqual([
      'securityContext.runAsUser',
      'securityContext.runAsGroup',
    ]);
  });

  test("containers of one pod keep their own images' users; one without gets the pod default", () => {
    const input = pod({
      containers: [
        { name: 'a', image: 'a' },
        { name: 'b', image: 'b' },
        { name: 'c', image: 'c' },
      ],
    });
    const result = harden(
      input,
      policyWith(),
      options({
        a: { found: true, uid: 999 },
        b: { found: true, uid: 2000 },
        c: { found: false, reason: 'the image\'s USER "app" is not a numeric UID' },
      }),
    );
    const p = result.pod as any;
    expect(p.spec.securityContext.runAsUser).toBe(1000);
    expect(sc(p, 0).runAsUser).toBe(999);
    expect(sc(p, 1).runAsUser).toBe(2000);
    expect(sc(p, 2)?.runAsUser).toBeUndefined(); // inherits 1000 from the pod
    expect(result.notices).toContainEqual({
      kind: 'imageIdentity',
      target: { kind: 'container', list: 'containers', name: 'c' },
      message:
        'image USER not used (the image\'s USER "app" is not a numeric UID); runAsUser 1000 applies',
    });
  });

  test('a non-root user set by the pod or the container wins over the image; no notice', () => {
    const input = pod({
      securityContext: { runAsUser: 4000 },
      containers: [
        { name: 'a', image: 'a' },
        { name: 'b', image: 'b', securityContext: { runAsUser: 5000 } },
      ],
    });
    const result = harden(
      input,
      policyWith(),
      options({ a: { found: true, uid: 999 }, b: { found: false, reason: 'x' } }),
    );
    const p = result.pod as any;
    expect(p.spec.securityContext.runAsUser).toBe(4000);
    expect(sc(p, 0)?.runAsUser).toBeUndefined();
    expect(sc(p, 1).runAsUser).toBe(5000);
    expect(result.notices.filter((n) => n.kind === 'imageIdentity')).toEqual([]);
  });

  test('without image users, the defaults apply exactly as before, with no notice', () => {
    const input = pod({ containers: [{ name: 'app', image: 'argocd:v3' }] });
    const result = harden(input, policyWith(), { scope: { kind: 'create' }, namespace: 'team' });
    expect((result.pod as any).spec.securityContext.runAsUser).toBe(1000);
    expect(sc(result.pod)?.runAsUser).toBeUndefined();
    expect(result.notices).toEqual([]);
  });
});
