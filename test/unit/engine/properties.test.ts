import fc from 'fast-check';
import { reviewAdmission } from '../../../src/admission/review';
import { normalizeCapability } from '../../../src/engine/capabilities';
import { harden } from '../../../src/engine/harden';
import { hardenPod } from '../../../src/engine/harden-pod';
import { podArb, policyOverridesArb } from '../../support/arbitraries';
import { containersOf } from '../../support/pods';
import { policyWith } from '../../support/policy';
import { podReview } from '../../support/reviews';
import { applyStrict, decodePatch } from '../../support/strict-patch';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 400);
/**
 * The default policy as it ships, and the generated overrides with a setting they leave out:
 * supplementalGroupsPolicy strict writes a pod-level field, which a second pass must find there.
 */
const fixedPointPolicyArb = fc.oneof(
  fc.constant({}),
  fc
    .tuple(policyOverridesArb, fc.constantFrom('off', 'strict'))
    .map(([overrides, supplementalGroupsPolicy]) => ({ ...overrides, supplementalGroupsPolicy })),
);
const create = { scope: { kind: 'create' as const }, namespace: 'team' };
const byName = (pod: any) => new Map(containersOf(pod).map((c) => [c.name, c]));
const PORTS_SYSCTL = { name: 'net.ipv4.ip_unprivileged_port_start', value: '0' };
const eff = (pod: any, c: any, f: string) =>
  c.securityContext?.[f] ?? pod.spec.securityContext?.[f];

describe('properties over generated pods', () => {
  it('a hardened pod is a fixed point: its patch applied, a second review patches nothing', () => {
    fc.assert(
      fc.property(podArb, fixedPointPolicyArb, (input, overrides) => {
        const policy = policyWith(overrides);
        // The product's path: the patch the webhook returns, applied the way the API server
        // applies it, to the object as sent; not the engine's own copy of the result.
        const once = hardenPod(input, policy, create);
        if (once.error) throw new Error(once.error.message);
        const stored = applyStrict(input, once.patch);
        expect(stored).toEqual(once.pod);
        const twice = hardenPod(stored, policy, create);
        if (twice.error) throw new Error(twice.error.message);
        expect(twice.changes).toEqual([]);
        expect(twice.patch).toEqual([]);
        const response = (reviewAdmission(podReview(stored), 'enforce', policy).body as any)
          .response;
        expect(response.patch).toBeUndefined();
        expect(response.patchType).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('the review patch applies strictly to the object as received and gives the engine result', () => {
    fc.assert(
      fc.property(podArb, policyOverridesArb, (input, overrides) => {
        const policy = policyWith(overrides);
        const outcome = reviewAdmission(podReview(structuredClone(input)), 'enforce', policy);
        expect(outcome.status).toBe(200);
        expect(applyStrict(input, decodePatch((outcome.body as any).response))).toEqual(
          harden(input, policy, create).pod,
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('no container ever ends with more privilege than it had', () => {
    fc.assert(
      fc.property(podArb, policyOverridesArb, (input, overrides) => {
        const out = harden(input, policyWith(overrides), create).pod as any;
        const after = byName(out);
        for (const before of containersOf(input)) {
          const a = after.get(before.name);
          const addBefore: string[] = before.securityContext?.capabilities?.add ?? [];
          const addAfter: string[] = a.securityContext?.capabilities?.add ?? [];
          expect(addAfter.every((cap) => addBefore.includes(cap))).toBe(true);
          const dropBefore: string[] = before.securityContext?.capabilities?.drop ?? [];
          const dropAfter: string[] = a.securityContext?.capabilities?.drop ?? [];
          expect(dropBefore.every((cap) => dropAfter.includes(cap))).toBe(true);
          if (a.securityContext?.privileged === true)
            expect(before.securityContext?.privileged).toBe(true);
          if (before.securityContext?.allowPrivilegeEscalation === false)
            expect(a.securityContext.allowPrivilegeEscalation).toBe(false);
          const uidBefore = eff(input, before, 'runAsUser');
          const uidAfter = eff(out, a, 'runAsUser');
          if (uidBefore !== undefined && uidBefore !== 0) expect(uidAfter).toBe(uidBefore);
          if (uidAfter === 0 || uidAfter === undefined)
            expect(uidBefore === 0 || uidBefore === undefined).toBe(true);
          if (eff(input, before, 'runAsNonRoot') === true)
            expect(eff(out, a, 'runAsNonRoot')).toBe(true);
        }
        // The pod level: no host namespace is ever entered, a user namespace is never left, and
        // the one sysctl pod-hardener may add is the port sysctl at 0; every other stays as it was.
        for (const f of ['hostNetwork', 'hostPID', 'hostIPC'])
          expect(out.spec[f]).toBe(input.spec[f]);
        if (input.spec.hostUsers !== undefined)
          expect(out.spec.hostUsers).toBe(input.spec.hostUsers);
        else expect([undefined, false]).toContain(out.spec.hostUsers);
        const sysctlsBefore: any[] = input.spec.securityContext?.sysctls ?? [];
        const sysctlsAfter: any[] = out.spec.securityContext?.sysctls ?? [];
        expect(sysctlsAfter.slice(0, sysctlsBefore.length)).toEqual(sysctlsBefore);
        expect(sysctlsAfter.slice(sysctlsBefore.length)).toEqual(
          sysctlsAfter.length > sysctlsBefore.length ? [PORTS_SYSCTL] : [],
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('every hardened container ends hardened, and untouched ones keep every effective value', () => {
    fc.assert(
      fc.property(podArb, policyOverridesArb, (input, overrides) => {
        const policy = policyWith(overrides);
        const result = harden(input, policy, create);
        if (result.skipped || input.spec.os?.name === 'windows') {
          expect(result.pod).toBe(input);
          return;
        }
        const named = (...kinds: string[]) =>
          new Set(
            result.notices.filter((n) => kinds.includes(n.kind)).map((n) => (n.target as any).name),
          );
        const untouched = named('skipContainers', 'exemptContainer');
        // A Bidirectional mount keeps privileged (the API server requires it), and escalation
        // cannot be forbidden beside it.
        const keptPrivileged = named('privilegedKept');
        const out = result.pod as any;
        const before = byName(input);
        for (const c of containersOf(out)) {
          const b = before.get(c.name);
          if (untouched.has(c.name)) {
            // Only what it inherited from a pod level the confinement rule fixed may have become
            // its own, unchanged: the AppArmor profile and the SELinux options.
            const { appArmorProfile, seLinuxOptions, ...rest } = c.securityContext ?? {};
            const own = b.securityContext ?? {};
            const inherited = input.spec.securityContext ?? {};
            expect(rest).toEqual(
              Object.fromEntries(
                Object.entries(own).filter(
                  ([k]) => k !== 'appArmorProfile' && k !== 'seLinuxOptions',
                ),
              ),
            );
            expect({ ...c, securityContext: undefined }).toEqual({
              ...b,
              securityContext: undefined,
            });
            // What it runs with is its own value, else the pod's (an AppArmor annotation of its
            // own decides over both, and is never touched).
            const outPod = out.spec.securityContext ?? {};
            const annotated =
              input.metadata?.annotations?.[
                `container.apparmor.security.beta.kubernetes.io/${c.name}`
              ];
            if (annotated == null)
              expect(appArmorProfile ?? outPod.appArmorProfile ?? null).toEqual(
                own.appArmorProfile ?? inherited.appArmorProfile ?? null,
              );
            expect(seLinuxOptions ?? outPod.seLinuxOptions ?? null).toEqual(
              own.seLinuxOptions ?? inherited.seLinuxOptions ?? null,
            );
            for (const f of ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'seccompProfile'])
              expect(eff(out, c, f)).toEqual(eff(input, b, f));
            continue;
          }
          const sc = c.securityContext;
          expect(eff(out, c, 'runAsUser')).toBeGreaterThan(0);
          expect(eff(out, c, 'runAsGroup')).toBeGreaterThan(0);
          if (overrides.runAsNonRoot) expect(eff(out, c, 'runAsNonRoot')).toBe(true);
          expect(['RuntimeDefault', 'Localhost']).toContain(eff(out, c, 'seccompProfile')?.type);
          const bidirectional = (c.volumeMounts ?? []).some(
            (m: any) => m.mountPropagation === 'Bidirectional',
          );
          expect(keptPrivileged.has(c.name)).toBe(
            bidirectional && b.securityContext?.privileged === true,
          );
          expect(sc.privileged === true).toBe(keptPrivileged.has(c.name));
          expect(sc.capabilities.drop).toContain('ALL');
          const kept: string[] = sc.capabilities.add ?? [];
          for (const cap of kept) expect(policy.ceilingAllows(normalizeCapability(cap))).toBe(true);
          if (
            !kept.some((cap) => normalizeCapability(cap) === 'SYS_ADMIN') &&
            !keptPrivileged.has(c.name)
          )
            expect(sc.allowPrivilegeEscalation).toBe(false);
        }

        // Ports: a hardened container that declares a port below 1024 or keeps NET_BIND_SERVICE
        // gets the sysctl wherever it may be set; nothing else does.
        const hardenedOnes = containersOf(out).filter((c) => !untouched.has(c.name));
        const needsLowPort = hardenedOnes.some(
          (c) =>
            (c.ports ?? []).some((p: any) => p.containerPort < 1024) ||
            (c.securityContext.capabilities.add ?? []).some(
              (cap: string) => normalizeCapability(cap) === 'NET_BIND_SERVICE',
            ),
        );
        const own = (input.spec.securityContext?.sysctls ?? []).some(
          (x: any) => x.name.replace(/\//g, '.') === PORTS_SYSCTL.name,
        );
        const added = result.changes.some((c) => c.rule === 'unprivilegedPorts');
        expect(added).toBe(
          needsLowPort &&
            !own &&
            overrides.unprivilegedPorts === 'auto' &&
            input.spec.hostNetwork !== true,
        );
        if (added) expect(out.spec.securityContext.sysctls).toContainEqual(PORTS_SYSCTL);

        // User namespaces: only when on, only where the pod leaves hostUsers unset, and never
        // beside a host namespace.
        const userns = result.changes.some((c) => c.rule === 'userNamespaces');
        if (userns) {
          expect(overrides.userNamespaces).toBe('on');
          expect(input.spec.hostUsers).toBeUndefined();
          expect(out.spec.hostUsers).toBe(false);
          for (const f of ['hostNetwork', 'hostPID', 'hostIPC']) expect(out.spec[f]).not.toBe(true);
          for (const v of out.spec.volumes ?? []) expect(v.hostPath ?? v.nfs).toBeUndefined();
        } else {
          expect(out.spec.hostUsers).toBe(input.spec.hostUsers);
        }
        // Where it is set wherever it may be: kube-judge.test.ts, which asks the API server.
      }),
      { numRuns: RUNS },
    );
  });
});
