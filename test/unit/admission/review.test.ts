import { reviewAdmission } from '../../../src/admission/review';
import { compilePolicy } from '../../../src/engine/policy';
import { Annotations } from '../../../src/names';
import { policyWith } from '../../support/policy';
import { pod, STORED_POD_CLAIMS } from '../../support/pods';
import { fixture, podReview } from '../../support/reviews';
import { applyStrict, decodePatch } from '../../support/strict-patch';
import { CASES } from '../engine/cases';

const policy = policyWith();
const responseOf = (outcome: { body: unknown }) => (outcome.body as any).response;

describe('POST /mutate: the patch, applied strictly to the object as received, gives the hardened pod', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const review = podReview(structuredClone(c.input), { namespace: c.namespace });
    const outcome = reviewAdmission(review, 'enforce', policyWith(c.policy));
    const response = responseOf(outcome);

    expect(outcome.status).toBe(200);
    expect(response.uid).toBe(review.request.uid);
    expect(response.allowed).toBe(true);
    if (c.expected === undefined) {
      expect(response.patch).toBeUndefined();
      expect(response.patchType).toBeUndefined();
      return;
    }
    expect(response.patchType).toBe('JSONPatch');
    const applied = applyStrict(c.input, decodePatch(response));
    expect(applied).toEqual(c.expected);

    // Sent again, the hardened pod yields no patch.
    const again = responseOf(
      reviewAdmission(
        podReview(applied, { namespace: c.namespace }),
        'enforce',
        policyWith(c.policy),
      ),
    );
    expect(again.patch).toBeUndefined();
  });
});

describe('reviews of a pod created by a Deployment (as kube-apiserver sends it)', () => {
  const object = fixture('pods/deployment-pod.json');

  it('hardens it, names every overridden value in warnings, and touches nothing else', () => {
    const outcome = reviewAdmission(podReview(object), 'enforce', policy);
    const response = responseOf(outcome);
    const applied = applyStrict(object, decodePatch(response));

    expect(outcome.record.decision).toBe('patched');
    expect(applied.spec.securityContext).toEqual({
      runAsUser: 1000,
      runAsGroup: 3000,
      runAsNonRoot: true,
      fsGroup: 3000,
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
      // nginx declares containerPort 80 and now runs as UID 1000.
      sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }],
    });
    expect(applied.spec.containers[0].securityContext).toEqual({
      capabilities: { drop: ['ALL'] },
      allowPrivilegeEscalation: false,
    });
    expect(response.warnings).toContain(
      'pod-hardener: container "nginx": capabilities.add: removed NET_BIND_SERVICE,SYS_TIME (not allowlisted)',
    );
    expect(response.warnings).toContain('pod-hardener: pod: runAsUser unset -> 1000');
    expect(response.warnings).toContain(
      'pod-hardener: pod: sysctls: added net.ipv4.ip_unprivileged_port_start=0, so that non-root processes bind ports below 1024 (needed by nginx:80)',
    );
    expect(response.auditAnnotations).toMatchObject({ mode: 'enforce', decision: 'patched' });

    // Everything outside the security contexts and the summary annotation is as received.
    const strip = (p: any) => {
      const c = structuredClone(p);
      delete c.metadata.annotations[Annotations.hardened];
      delete c.spec.securityContext;
      for (const k of c.spec.containers) delete k.securityContext;
      return c;
    };
    expect(strip(applied)).toEqual(strip(object));
  });

  it('says first what may stop working, each risk then its fix, each warning short enough to be kept whole', () => {
    const response = responseOf(reviewAdmission(podReview(object), 'enforce', policy));
    const warnings: string[] = response.warnings;
    // The API server cuts every warning to 256 characters once a response's warnings pass 4 KiB,
    // which other admission steps can make happen: the fix is a warning of its own.
    for (const w of warnings) expect([w, w.length <= 250]).toEqual([w, true]);
    const first = warnings.findIndex((w) => !/: (may stop working|fix): /.test(w));
    const risky = first < 0 ? warnings.length : first;
    const risks = warnings.slice(0, risky);
    expect(risks.length).toBeGreaterThan(0);
    for (const [i, w] of risks.entries())
      expect(w).toMatch(
        i % 2 === 0
          ? /^pod-hardener: container "[a-z]+": may stop working: /
          : /^pod-hardener: container "[a-z]+": fix: /,
      );
    expect(risks).toContain(
      // SYS_TIME is above the default ceiling, and this namespace may not skip: only the operator can.
      `pod-hardener: container "nginx": fix: above the operator's capabilityCeiling, no allowlist keeps SYS_TIME: run it unhardened: an operator exemption (exceptions.exemptContainers)`,
    );
    expect(warnings.slice(risky).some((w) => /may stop working|: fix: /.test(w))).toBe(false);
  });

  it('a fix too long for one warning loses its middle, not the way out at its end', () => {
    // A container name as long as Kubernetes allows, named twice in its fix line.
    const name = 'c'.repeat(63);
    const long = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'team' },
      spec: { containers: [{ name, image: 'app' }] },
    };
    const response = responseOf(
      reviewAdmission(podReview(long), 'enforce', policyWith({ skipNamespaces: ['*'] })),
    );
    const fix = (response.warnings as string[]).find((w) => w.includes(': fix: '))!;
    expect(fix.length).toBeLessThanOrEqual(250);
    expect(fix).toMatch(/^pod-hardener: container "c{63}": fix: runAsUser = the image's UID/);
    expect(fix).toContain(' ... ');
    expect(fix.endsWith(`needs root: pod-hardener.io/skip-containers: "${name}"`)).toBe(true);
  });

  it('in audit mode returns no patch, and warnings saying what would change', () => {
    const outcome = reviewAdmission(podReview(object), 'audit', policy);
    const response = responseOf(outcome);
    expect(response.patch).toBeUndefined();
    expect(response.patchType).toBeUndefined();
    expect(response.warnings).toContain(
      'pod-hardener (audit only, nothing changed): would change pod: runAsUser unset -> 1000',
    );
    expect(response.auditAnnotations.mode).toBe('audit');
    expect(response.auditAnnotations.changes).toContain('runAsUser=1000 [pod]');
    expect(outcome.record.changes.length).toBeGreaterThan(0);
  });
});

describe('which requests are mutated', () => {
  it('a pods/ephemeralcontainers UPDATE hardens only the new ephemeral container', () => {
    const old = pod({
      securityContext: { runAsUser: 1000 },
      ephemeralContainers: [{ name: 'dbg-1', image: 'busybox' }],
    });
    const updated = structuredClone(old);
    updated.spec.ephemeralContainers.push({
      name: 'dbg-2',
      image: 'busybox',
      targetContainerName: 'app',
    });
    const response = responseOf(
      reviewAdmission(
        podReview(updated, {
          operation: 'UPDATE',
          subResource: 'ephemeralcontainers',
          oldObject: old,
        }),
        'enforce',
        policy,
      ),
    );
    const ops = decodePatch(response);
    expect(ops.length).toBeGreaterThan(0);
    expect(ops.every((op) => op.path.startsWith('/spec/ephemeralContainers/1/'))).toBe(true);
    const applied = applyStrict(updated, ops);
    expect(applied.spec.ephemeralContainers[1].securityContext).toMatchObject({
      runAsGroup: 3000,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
  });

  describe('on pods/ephemeralcontainers, the stored pod decides, not the request body', () => {
    // kube-apiserver keeps only spec.ephemeralContainers of this body and restores the rest from
    // the stored pod, so each claim below would be dropped on the way to storage: believing it
    // would let a root, privileged SYS_ADMIN debug container through untouched.
    const stored = pod({ containers: [{ name: 'app', image: 'app' }] });
    const attacker = {
      name: 'dbg',
      image: 'busybox',
      securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN'] } },
    };
    /** The ephemeral-containers update of `stored` whose request body is `body`. */
    const debugUpdate = (body: any, p: typeof policy) =>
      reviewAdmission(
        podReview(body, {
          operation: 'UPDATE',
          subResource: 'ephemeralcontainers',
          oldObject: stored,
        }),
        'enforce',
        p,
      );
    const withDebug = (body: any) => {
      body.spec.ephemeralContainers = [attacker];
      return body;
    };
    it.each(STORED_POD_CLAIMS)('%s in the body is not believed', (_what, claim) => {
      const body = withDebug(structuredClone(stored));
      claim(body);
      const outcome = debugUpdate(body, policyWith({ skipNamespaces: ['*'] }));
      const response = responseOf(outcome);
      const ops = decodePatch(response);
      expect(ops.every((op) => op.path.startsWith('/spec/ephemeralContainers/0/'))).toBe(true);
      const applied = applyStrict(body, ops);
      // What the API server stores: the old pod with the body's ephemeral containers.
      const debug = applied.spec.ephemeralContainers[0].securityContext;
      expect(debug).toMatchObject({
        privileged: false,
        allowPrivilegeEscalation: false,
        runAsUser: 1000,
        runAsGroup: 3000,
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
        capabilities: { drop: ['ALL'] },
      });
      expect(debug.capabilities.add).toBeUndefined();
      expect(outcome.record.notices.map((n) => n.kind)).toContain('requestNotStored');
      expect(response.warnings.join('\n')).toContain('the stored pod was judged');
    });

    it('a body that agrees with the stored pod says nothing about it', () => {
      const body = withDebug(structuredClone(stored));
      const outcome = debugUpdate(body, policy);
      expect(outcome.record.notices.map((n) => n.kind)).not.toContain('requestNotStored');
    });

    it('an update without the stored pod is refused, never judged on the body alone', () => {
      const outcome = reviewAdmission(
        podReview(withDebug(structuredClone(stored)), {
          operation: 'UPDATE',
          subResource: 'ephemeralcontainers',
        }),
        'enforce',
        policy,
      );
      expect(outcome.status).toBe(400);
      expect(responseOf(outcome).status.message).toContain('oldObject');
    });
  });

  it.each([
    ['an UPDATE of the pod itself', { operation: 'UPDATE' as const, oldObject: pod() }],
    ['a DELETE', { operation: 'DELETE' as const }],
    ['a CREATE of a subresource (pods/binding)', { subResource: 'binding' }],
    [
      'another kind (a Deployment)',
      {
        kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
        resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      },
    ],
  ])('%s is allowed unchanged', (_n, o) => {
    const outcome = reviewAdmission(podReview(pod(), o), 'enforce', policy);
    expect(outcome.status).toBe(200);
    expect(responseOf(outcome)).toEqual({ uid: expect.any(String), allowed: true });
    expect(outcome.record.decision).toBe('ignored');
  });

  it('a skipped pod is admitted untouched and the exception is recorded', () => {
    const outcome = reviewAdmission(
      podReview(pod({}, { [Annotations.skip]: 'true' })),
      'enforce',
      policyWith({ skipNamespaces: ['*'] }),
    );
    const response = responseOf(outcome);
    expect(response.patch).toBeUndefined();
    expect(outcome.record.decision).toBe('skipped');
    expect(response.auditAnnotations.exceptions).toBe('skipPod@pod');
    expect(response.warnings).toEqual([
      `pod-hardener: pod: pod left untouched: annotation ${Annotations.skip}="true"`,
    ]);
  });

  it('uses the operator policy it is given', () => {
    const custom = compilePolicy({ ...policy.settings, runAsUser: 4242 });
    const applied = applyStrict(
      pod(),
      decodePatch(responseOf(reviewAdmission(podReview(pod()), 'enforce', custom))),
    );
    expect(applied.spec.securityContext.runAsUser).toBe(4242);
  });
});

describe('bad input gets a clear answer', () => {
  it.each([
    ['a string', 'hello'],
    ['null', null],
    [
      'an AdmissionReview of another version',
      { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } },
    ],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }],
    [
      'a request without uid',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { object: {} } },
    ],
  ])('%s: 400 with a message', (_n, body) => {
    const outcome = reviewAdmission(body, 'enforce', policy);
    expect(outcome.status).toBe(400);
    expect(responseOf(outcome).allowed).toBe(false);
    expect(responseOf(outcome).status.message).toMatch(/^pod-hardener NOT_ADMISSION_REVIEW: /);
  });

  it('a malformed pod: 400 that echoes the uid and names the field', () => {
    const review = podReview({
      spec: { containers: [{ name: 'a', securityContext: { capabilities: { add: 'ALL' } } }] },
    });
    const outcome = reviewAdmission(review, 'enforce', policy);
    expect(outcome.status).toBe(400);
    expect(responseOf(outcome).uid).toBe(review.request.uid);
    expect(responseOf(outcome).status.message).toContain(
      'spec.containers[0].securityContext.capabilities.add',
    );
  });

  it('an exception inside the engine: 500 that still echoes the uid', () => {
    const review = podReview(pod());
    const throwing = {
      ...policy,
      skipAllowedIn: () => {
        throw new Error('boom');
      },
    };
    const outcome = reviewAdmission(review, 'enforce', throwing);
    expect(outcome.status).toBe(500);
    expect(responseOf(outcome).uid).toBe(review.request.uid);
    expect(responseOf(outcome).status.message).toContain('boom');
    expect(outcome.record.decision).toBe('error');
  });
});
