import { harden } from '../../../src/engine/harden';
import { InvalidPodError } from '../../../src/engine/pod-shape';
import { Annotations } from '../../../src/names';
import { policyWith } from '../../support/policy';
import { pod } from '../../support/pods';
import { CASES } from './cases';

const create = (namespace = 'team') => ({ scope: { kind: 'create' as const }, namespace });

describe('harden(): every hardening rule over fixture pods', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const input = structuredClone(c.input);
    const result = harden(input, policyWith(c.policy), create(c.namespace));

    expect(input).toEqual(c.input); // the input is never modified
    if (c.expected === undefined) {
      expect(result.changes).toEqual([]);
      expect(result.pod).toBe(input);
    } else {
      expect(result.pod).toEqual(c.expected);
    }
    if (c.rules) expect([...new Set(result.changes.map((ch) => ch.rule))].sort()).toEqual([...c.rules].sort());
    for (const kind of c.notices ?? []) expect(result.notices.map((n) => n.kind)).toContain(kind);

    // Idempotent: the hardened pod hardened again changes nothing.
    const again = harden(result.pod, policyWith(c.policy), create(c.namespace));
    expect(again.changes).toEqual([]);
  });
});

describe('harden(): ephemeral containers (pods/ephemeralcontainers UPDATE)', () => {
  const running = pod({
    securityContext: { runAsUser: 1000, runAsGroup: 3000, runAsNonRoot: true },
    containers: [{ name: 'app', image: 'app', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    ephemeralContainers: [
      { name: 'debugger-old', image: 'busybox', securityContext: { privileged: true } },
      { name: 'debugger-new', image: 'busybox', targetContainerName: 'app' },
    ],
  });

  it('hardens only the new ephemeral containers, at container level, and writes no annotation', () => {
    const result = harden(running, policyWith(), {
      scope: { kind: 'ephemeral', existingEphemeral: new Set(['debugger-old']) },
      namespace: 'team',
    });
    const spec = result.pod.spec as any;
    expect(spec.ephemeralContainers[0]).toEqual(running.spec.ephemeralContainers[0]);
    expect(spec.ephemeralContainers[1].securityContext).toEqual({
      capabilities: { drop: ['ALL'] },
      allowPrivilegeEscalation: false,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.securityContext).toEqual(running.spec.securityContext);
    expect(spec.containers).toEqual(running.spec.containers);
    expect(result.pod.metadata?.annotations?.[Annotations.hardened]).toBeUndefined();
  });

  it('sets identity on the ephemeral container itself when the pod level is root', () => {
    const rootPod = pod({ ephemeralContainers: [{ name: 'dbg', image: 'busybox' }] });
    const result = harden(rootPod, policyWith(), { scope: { kind: 'ephemeral', existingEphemeral: new Set() }, namespace: 'team' });
    expect((result.pod.spec as any).ephemeralContainers[0].securityContext).toEqual({
      runAsUser: 1000,
      runAsGroup: 3000,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      allowPrivilegeEscalation: false,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(result.pod.spec!.securityContext).toEqual({});
  });
});

describe('harden(): the summary annotation', () => {
  it('says what changed, per target', () => {
    const result = harden(pod({ containers: [{ name: 'app', image: 'a', securityContext: { runAsUser: 0, capabilities: { add: ['SYS_TIME'] } } }] }), policyWith(), create());
    expect(result.pod.metadata!.annotations![Annotations.hardened]).toBe(
      'runAsUser=1000 [pod,app]; runAsGroup=3000 [pod]; runAsNonRoot=true [pod]; capabilities.add-=SYS_TIME [app]; ' +
        'capabilities.drop+=ALL [app]; allowPrivilegeEscalation=false [app]; seccompProfile=RuntimeDefault [pod]',
    );
  });

  it('merges with what an earlier invocation wrote (reinvocation after a sidecar injector)', () => {
    const first = harden(pod(), policyWith(), create()).pod as any;
    first.spec.containers.push({ name: 'sidecar', image: 'proxy' });
    const second = harden(first, policyWith(), create());
    expect(second.changes.every((c) => c.target.kind === 'container' && c.target.name === 'sidecar')).toBe(true);
    expect(second.pod.metadata!.annotations![Annotations.hardened]).toContain('allowPrivilegeEscalation=false [app,sidecar]');
    expect(second.pod.metadata!.annotations![Annotations.hardened]).toContain('runAsUser=1000 [pod]');
  });
});

describe('harden(): shapes it refuses', () => {
  it.each([
    ['not an object', 'x', 'object'],
    ['no spec', { metadata: {} }, 'spec'],
    ['containers not a list', { spec: { containers: {} } }, 'spec.containers'],
    ['container without a name', { spec: { containers: [{ image: 'x' }] } }, 'spec.containers[0].name'],
    ['securityContext a string', { spec: { containers: [{ name: 'a', securityContext: 'root' }] } }, 'spec.containers[0].securityContext'],
    ['capabilities.add with a number', { spec: { containers: [{ name: 'a', securityContext: { capabilities: { add: [1] } } }] } }, 'spec.containers[0].securityContext.capabilities.add[0]'],
    ['annotations a list', { metadata: { annotations: [] }, spec: { containers: [] } }, 'metadata.annotations'],
  ])('%s', (_n, input, path) => {
    expect(() => harden(input, policyWith(), create())).toThrow(InvalidPodError);
    try {
      harden(input, policyWith(), create());
    } catch (e) {
      expect((e as InvalidPodError).path).toBe(path);
    }
  });
});
