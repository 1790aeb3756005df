/**
 * createPatch: the diff of the places rules may write, and the guard on what may be sent. The
 * engine's results go through it in every review test; these are the edges no rule reaches.
 */
import { createPatch, UnsafePatchError } from '../../../src/engine/patch';
import { applyStrict } from '../../support/strict-patch';

const pod = () => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', labels: { app: 'p' } },
  spec: {
    containers: [
      {
        name: 'app',
        image: 'app',
        securityContext: { runAsUser: 0, capabilities: { add: ['NET_ADMIN'] } },
      },
      { name: 'side', image: 'side' },
    ],
    initContainers: [{ name: 'init', image: 'init' }],
  },
});

/** A copy shaped like the engine's draft: the path to each security context copied, the rest shared. */
function draftOf(original: ReturnType<typeof pod>) {
  return {
    ...original,
    metadata: { ...original.metadata },
    spec: {
      ...original.spec,
      containers: original.spec.containers.map((c) => ({ ...c })),
      initContainers: original.spec.initContainers.map((c) => ({ ...c })),
    },
  } as ReturnType<typeof pod> & {
    metadata: { annotations?: Record<string, string> };
    spec: { securityContext?: object };
  };
}

describe('createPatch', () => {
  it('patches the annotations, the pod and container security contexts, and applies strictly', () => {
    const original = pod();
    const hardened = draftOf(original);
    hardened.metadata.annotations = { 'pod-hardener.io/hardened': 'runAsUser=1000 [app]' };
    hardened.spec.securityContext = { runAsNonRoot: true };
    hardened.spec.containers[0].securityContext = {
      runAsUser: 1000,
      capabilities: {} as { add: string[] },
    };
    (hardened.spec.initContainers[0] as { securityContext?: object }).securityContext = {
      allowPrivilegeEscalation: false,
    };
    const ops = createPatch(original, hardened);
    expect(ops).toEqual(
      expect.arrayContaining([
        {
          op: 'add',
          path: '/metadata/annotations',
          value: { 'pod-hardener.io/hardened': 'runAsUser=1000 [app]' },
        },
        { op: 'add', path: '/spec/securityContext', value: { runAsNonRoot: true } },
        { op: 'replace', path: '/spec/containers/0/securityContext/runAsUser', value: 1000 },
        { op: 'remove', path: '/spec/containers/0/securityContext/capabilities/add' },
        {
          op: 'add',
          path: '/spec/initContainers/0/securityContext',
          value: { allowPrivilegeEscalation: false },
        },
      ]),
    );
    expect(ops).toHaveLength(5);
    expect(applyStrict(original, ops)).toEqual(hardened);
  });

  it('patches spec.hostUsers (user namespaces), and refuses taking it away', () => {
    const original = pod();
    const hardened = {
      ...draftOf(original),
      spec: { ...draftOf(original).spec, hostUsers: false },
    };
    expect(createPatch(original, hardened)).toEqual([
      { op: 'add', path: '/spec/hostUsers', value: false },
    ]);
    expect(applyStrict(original, createPatch(original, hardened))).toEqual(hardened);
    expect(() =>
      createPatch(hardened, { ...hardened, spec: { ...hardened.spec, hostUsers: undefined } }),
    ).toThrow('remove /spec/hostUsers');
  });

  it('adds metadata whole to an object that had none', () => {
    const original = { spec: { containers: [{ name: 'app' }] } };
    const hardened = {
      metadata: { annotations: { 'pod-hardener.io/hardened': 'x' } },
      spec: original.spec,
    };
    expect(createPatch(original, hardened)).toEqual([
      { op: 'add', path: '/metadata', value: hardened.metadata },
    ]);
  });

  it('gives no operation when nothing was copied', () => {
    const original = pod();
    expect(createPatch(original, original)).toEqual([]);
    expect(createPatch(original, draftOf(original))).toEqual([]);
  });

  it('removes what was inside a replaced seccompProfile, any key, the empty one included', () => {
    const original = pod();
    (original.spec.containers[0].securityContext as Record<string, unknown>).seccompProfile = {
      type: 'Unconfined',
      localhostProfile: 'x.json',
      '': 1,
    };
    const hardened = draftOf(original);
    hardened.spec.containers[0].securityContext = {
      ...original.spec.containers[0].securityContext,
      seccompProfile: { type: 'RuntimeDefault' },
    } as (typeof original.spec.containers)[0]['securityContext'];
    const ops = createPatch(original, hardened);
    expect(ops.map((o) => `${o.op} ${o.path}`).sort()).toEqual([
      'remove /spec/containers/0/securityContext/seccompProfile/',
      'remove /spec/containers/0/securityContext/seccompProfile/localhostProfile',
      'replace /spec/containers/0/securityContext/seccompProfile/type',
    ]);
    expect(applyStrict(original, ops)).toEqual(hardened);
  });

  it('refuses removals no rule asks for: a security context field, a whole security context', () => {
    const original = pod();
    const lostField = draftOf(original);
    lostField.spec.containers[0].securityContext = {
      capabilities: { add: ['NET_ADMIN'] },
    } as (typeof original.spec.containers)[0]['securityContext'];
    expect(() => createPatch(original, lostField)).toThrow(UnsafePatchError);
    expect(() => createPatch(original, lostField)).toThrow(
      'remove /spec/containers/0/securityContext/runAsUser',
    );

    const lostContext = draftOf(original);
    delete (lostContext.spec.containers[0] as { securityContext?: object }).securityContext;
    expect(() => createPatch(original, lostContext)).toThrow(
      'remove /spec/containers/0/securityContext:',
    );
  });

  it('refuses a container list that is not the original one container for one container', () => {
    const original = pod();
    const hardened = draftOf(original);
    hardened.spec.containers = hardened.spec.containers.slice(0, 1);
    expect(() => createPatch(original, hardened)).toThrow(UnsafePatchError);
  });

  it('refuses an annotation other than pod-hardener.io/hardened, added alone or with the annotations whole', () => {
    const original = pod();
    const whole = draftOf(original);
    whole.metadata.annotations = { 'pod-hardener.io/hardened': 'x', 'example.com/other': 'x' };
    expect(() => createPatch(original, whole)).toThrow('add /metadata/annotations:');

    const withAnnotations = {
      ...original,
      metadata: { ...original.metadata, annotations: { keep: 'y' } },
    };
    const one = {
      ...withAnnotations,
      metadata: {
        ...withAnnotations.metadata,
        annotations: { keep: 'y', 'example.com/other': 'x' },
      },
    };
    expect(() => createPatch(withAnnotations, one)).toThrow(
      'add /metadata/annotations/example.com~1other',
    );

    const bare = { spec: original.spec };
    expect(() => createPatch(bare, { ...bare, metadata: { labels: { a: 'b' } } })).toThrow(
      'add /metadata:',
    );
  });
});
