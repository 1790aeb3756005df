/**
 * Which images a review asks the registry about: only those of containers that would get the
 * policy's user or group, only in the containers a review may harden, never more than the cap,
 * and never a failure whatever the body.
 */
import { imagesToLookUp } from '../../../src/admission/images';
import { pod } from '../../support/pods';
import { podReview } from '../../support/reviews';

describe('imagesToLookUp', () => {
  test('containers with no non-root user or group of their own or from the pod', () => {
    const object = pod({
      securityContext: { runAsGroup: 3000 },
      initContainers: [{ name: 'init', image: 'init:1' }],
      containers: [
        { name: 'a', image: 'a:1' },
        { name: 'b', image: 'b:1', securityContext: { runAsUser: 5000 } },
        { name: 'c', image: 'c:1', securityContext: { runAsUser: 0 } },
        { name: 'd', image: 'a:1' },
      ],
    });
    expect(imagesToLookUp(podReview(object), 32)).toEqual(['a:1', 'c:1', 'init:1']);
  });

  test('an ephemeral-container update: only the new ephemeral containers', () => {
    const old = pod({
      containers: [{ name: 'app', image: 'app' }],
      ephemeralContainers: [{ name: 'dbg-1', image: 'busybox:old' }],
    });
    const object = structuredClone<any>(old);
    object.spec.ephemeralContainers.push({ name: 'dbg-2', image: 'busybox:new' });
    const review = podReview(object, {
      operation: 'UPDATE',
      subResource: 'ephemeralcontainers',
      oldObject: old,
    });
    expect(imagesToLookUp(review, 32)).toEqual(['busybox:new']);
  });

  test('at most `max` images', () => {
    const containers = Array.from({ length: 100 }, (_, i) => ({ name: `c${i}`, image: `i${i}` }));
    expect(imagesToLookUp(podReview(pod({ containers })), 5)).toHaveLength(5);
  });

  test.each([
    ['not an object', 'x'],
    ['no request', {}],
    ['another kind', { request: { kind: { kind: 'Secret' }, operation: 'CREATE', object: {} } }],
    ['a DELETE', { request: { kind: { kind: 'Pod' }, operation: 'DELETE', object: pod({}) } }],
    ['containers not a list', podReview({ spec: { containers: 'x' } })],
    ['a container null', podReview({ spec: { containers: [null, { image: 3 }] } })],
  ])('%s: no image, no error', (_what, body) => {
    expect(imagesToLookUp(body, 32)).toEqual([]);
  });
});
