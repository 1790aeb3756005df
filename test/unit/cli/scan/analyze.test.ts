/**
 * scan's analysis over fixture pod lists: grouping by top owner, the webhook's verdict and
 * changes for each pod, exceptions, and what may stop working, without a cluster.
 */
import { reviewAdmission } from '../../../../src/admission/review';
import {
  analyze,
  analyzeNamespace,
  analyzePod,
  namespaceMode,
} from '../../../../src/cli/scan/analyze';
import type { PodEntry, RiskEntry, WorkloadEntry } from '../../../../src/cli/scan/report-schema';
import { targetKey } from '../../../../src/engine/describe';
import { Annotations } from '../../../../src/names';
import { policyWith } from '../../../support/policy';
import { podReview } from '../../../support/reviews';
import { HARDENED_SPEC, shopNamespace, storedPod } from '../../../support/stored-pods';

// The cluster's operator allows skipping everywhere, so the skipped pod of the fixture is skipped.
const policy = policyWith({ skipNamespaces: ['*'] });
const options = { policy, webhookNamespace: 'pod-hardener' };

function workload(ws: readonly WorkloadEntry[], key: string): WorkloadEntry {
  const w = ws.find((x) => `${x.kind}/${x.name}` === key);
  if (!w)
    throw new Error(`no workload ${key} in ${ws.map((x) => `${x.kind}/${x.name}`).join(', ')}`);
  return w;
}

const risks = (p: PodEntry, kind?: RiskEntry['kind']) =>
  p.risks.filter((r) => kind === undefined || r.kind === kind);

describe('grouping by top owner', () => {
  const ns = analyzeNamespace(shopNamespace(), options);

  it('groups every pod under the workload that created it, through ReplicaSets and Jobs', () => {
    expect(
      ns.workloads.map((w) => [
        `${w.kind}/${w.name}`,
        w.via.map((v) => `${v.kind}/${v.name}`),
        w.pods.map((p) => p.name),
      ]),
    ).toEqual([
      ['CronJob/report', ['Job/report-29000000'], ['report-29000000-q8x2z']],
      ['DaemonSet/agent', [], ['agent-x1']],
      [
        'Deployment/web',
        ['ReplicaSet/web-7d9c6b5f8d'],
        ['web-7d9c6b5f8d-aaaaa', 'web-7d9c6b5f8d-bbbbb'],
      ],
      ['Pod/debug', [], ['debug']],
      ['Pod/hardened', [], ['hardened']],
      ['Pod/skipped', [], ['skipped']],
      ['Rollout/canary', [], ['canary-5f6d7-abcde']],
      ['StatefulSet/db', [], ['db-0']],
    ]);
  });

  it('an owner that is not listed ends the walk, named by the reference to it', () => {
    const data = shopNamespace();
    // The ReplicaSet still points at its Deployment (being deleted): that name is what is known.
    const withoutDeployment = {
      ...data,
      owners: data.owners.filter((o) => o.kind !== 'Deployment'),
    };
    const ws = analyzeNamespace(withoutDeployment, options).workloads;
    expect(workload(ws, 'Deployment/web')).toMatchObject({
      via: [{ kind: 'ReplicaSet', name: 'web-7d9c6b5f8d' }],
    });
    const noOwners = analyzeNamespace({ ...data, owners: [] }, options).workloads;
    expect(workload(noOwners, 'Job/report-29000000').via).toEqual([]);
    expect(workload(noOwners, 'ReplicaSet/web-7d9c6b5f8d').pods).toHaveLength(2);
  });

  it('owner references are matched by uid: a namesake of another generation is not the owner', () => {
    const data = shopNamespace();
    const owners = data.owners.map((o) =>
      o.kind === 'ReplicaSet' ? { ...o, uid: 'another-uid' } : o,
    );
    const ws = analyzeNamespace({ ...data, owners }, options).workloads;
    expect(workload(ws, 'ReplicaSet/web-7d9c6b5f8d').pods).toHaveLength(2);
  });

  it('a cycle of owner references ends instead of looping', () => {
    const a = { kind: 'ReplicaSet', name: 'a', uid: 'ua', ownerReferences: [] as unknown[] };
    const b = {
      kind: 'ReplicaSet',
      name: 'b',
      uid: 'ub',
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'a', uid: 'ua', controller: true },
      ],
    };
    a.ownerReferences = [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'b', uid: 'ub', controller: true },
    ];
    const p = storedPod(
      'p',
      { containers: [{ name: 'c', image: 'c' }] },
      { owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'a', uid: 'ua' } },
    );
    const ws = analyzeNamespace(
      { name: 'shop', labels: {}, pods: [p], owners: [a, b] },
      options,
    ).workloads;
    expect(ws.map((w) => [`${w.kind}/${w.name}`, w.via.length])).toEqual([['ReplicaSet/a', 2]]);
  });

  it('a pod whose owner references name no controller is a bare pod', () => {
    const p = storedPod('orphan', { containers: [{ name: 'a', image: 'a' }] });
    (p.metadata as any).ownerReferences = [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'u' },
    ];
    const ws = analyzeNamespace(
      { name: 'shop', labels: {}, pods: [p], owners: [] },
      options,
    ).workloads;
    expect(ws.map((w) => `${w.kind}/${w.name}`)).toEqual(['Pod/orphan']);
  });
});

describe('what would change: the webhook engine on each pod', () => {
  const ns = analyzeNamespace(shopNamespace(), options);

  it('each pod gets exactly the changes the webhook would make at its creation', () => {
    for (const pod of shopNamespace().pods) {
      const entry = analyzePod(pod, 'shop', policy);
      const outcome = reviewAdmission(podReview(pod, { namespace: 'shop' }), 'enforce', policy);
      const expected =
        outcome.record.decision === 'patched'
          ? 'change'
          : outcome.record.decision === 'skipped'
            ? 'skipped'
            : 'unchanged';
      expect([entry.name, entry.verdict]).toEqual([entry.name, expected]);
      expect(entry.changes.map((c) => [c.rule, c.target, c.text])).toEqual(
        expected === 'change'
          ? outcome.record.changes.map((c) => [c.rule, targetKey(c.target), expect.any(String)])
          : [],
      );
    }
  });

  it('a hardened pod has nothing to change and shows what was changed at its creation', () => {
    const p = workload(ns.workloads, 'Pod/hardened').pods[0];
    expect(p).toMatchObject({
      verdict: 'unchanged',
      changes: [],
      risks: [],
      hardened: 'runAsUser=1000 [pod]',
    });
  });

  it('a skipped pod is skipped, with the exception named', () => {
    const p = workload(ns.workloads, 'Pod/skipped').pods[0];
    expect(p.verdict).toBe('skipped');
    expect(p.changes).toEqual([]);
    expect(p.exceptions).toEqual([
      {
        kind: 'skipPod',
        target: 'pod',
        message: expect.stringContaining(Annotations.skip),
        honoured: true,
      },
    ]);
  });

  it('a skip the operator does not allow in this namespace is a denied exception, and the pod changes', () => {
    const p = workload(
      analyzeNamespace(shopNamespace(), {
        ...options,
        policy: policyWith({ skipNamespaces: ['other'] }),
      }).workloads,
      'Pod/skipped',
    ).pods[0];
    expect(p.verdict).toBe('change');
    expect(p.exceptions).toEqual([
      expect.objectContaining({ kind: 'skipDenied', honoured: false }),
    ]);
  });

  it('changes carry the rule, target, field, values and the warning text', () => {
    const p = workload(ns.workloads, 'DaemonSet/agent').pods[0];
    expect(p.changes).toContainEqual({
      rule: 'capabilities.add',
      target: 'container/agent',
      field: 'securityContext.capabilities.add',
      from: ['NET_ADMIN', 'NET_RAW'],
      to: ['NET_RAW'],
      removed: ['NET_ADMIN'],
      text: 'capabilities.add: removed NET_ADMIN (not allowlisted)',
    });
    expect(p.changes).toContainEqual(
      expect.objectContaining({
        rule: 'runAsUser',
        target: 'pod',
        from: null,
        to: 1000,
        text: 'runAsUser unset -> 1000',
      }),
    );
    expect(p.exceptions).toEqual([
      expect.objectContaining({
        kind: 'capabilityAllowlist',
        target: 'container/agent',
        honoured: true,
      }),
    ]);
  });

  it('exempt containers are an exception and get neither changes nor risks', () => {
    const exempt = policyWith({ exemptContainers: [{ name: 'istio-init', image: 'istio/*' }] });
    const pod = storedPod('meshed', {
      initContainers: [
        {
          name: 'istio-init',
          image: 'istio/proxyv2:1.22',
          securityContext: { runAsUser: 0, capabilities: { add: ['NET_ADMIN'] } },
        },
      ],
      containers: [{ name: 'app', image: 'app', securityContext: { runAsUser: 101 } }],
    });
    const p = analyzePod(pod, 'shop', exempt);
    expect(p.exceptions).toEqual([
      expect.objectContaining({ kind: 'exemptContainer', target: 'initContainer/istio-init' }),
    ]);
    expect(p.changes.filter((c) => c.target === 'initContainer/istio-init')).toEqual([]);
    expect(p.risks.filter((r) => r.target === 'initContainer/istio-init')).toEqual([]);
  });

  it('leaves ephemeral containers out: a pod is never created with them', () => {
    const pod = storedPod('debugged', {
      ...HARDENED_SPEC,
      ephemeralContainers: [{ name: 'debugger', image: 'busybox' }],
    });
    expect(analyzePod(pod, 'shop', policy)).toMatchObject({ verdict: 'unchanged', changes: [] });
  });

  it('a pod the webhook would fail on is refused, with the error it would answer', () => {
    const pod = storedPod('broken', {
      containers: [
        { name: 'a', image: 'a', securityContext: { capabilities: { add: 'NET_ADMIN' } } },
      ],
    });
    const p = analyzePod(pod, 'shop', policy);
    expect(p.verdict).toBe('refused');
    expect(p.error).toMatch(
      /^the webhook would answer HTTP 400 BAD_POD: request\.object is not a valid Pod: spec\.containers\[0\]\.securityContext\.capabilities\.add/,
    );
  });
});

describe('what may stop working', () => {
  const ns = analyzeNamespace(shopNamespace(), options);
  const pod = (key: string) => workload(ns.workloads, key).pods[0];

  it('a user the API cannot see; a low port is no risk where pod-hardener adds the port sysctl', () => {
    const p = pod('Deployment/web');
    expect(risks(p).map((r) => r.kind)).toEqual(['runsAsRoot']);
    expect(risks(p, 'runsAsRoot')[0]).toMatchObject({ target: 'container/web', root: 'unknown' });
  });

  it('a low port is a risk with unprivilegedPorts: never', () => {
    const never = analyzeNamespace(shopNamespace(), {
      ...options,
      policy: policyWith({ unprivilegedPorts: 'never' }),
    });
    const p = workload(never.workloads, 'Deployment/web').pods[0];
    expect(risks(p).map((r) => r.kind)).toEqual(['runsAsRoot', 'lowPort']);
    expect(risks(p, 'lowPort')[0]).toMatchObject({ target: 'container/web', port: 80 });
    expect(risks(p, 'lowPort')[0].reason).toMatch(
      /containerPort 80.*UID 1000.*net\.ipv4\.ip_unprivileged_port_start/,
    );
  });

  it('root that the API shows, and a hostPath volume', () => {
    const p = pod('StatefulSet/db');
    expect(risks(p, 'runsAsRoot')).toEqual([
      expect.objectContaining({ target: 'container/postgres', root: 'yes' }),
    ]);
    expect(risks(p, 'hostPath')).toEqual([
      expect.objectContaining({ target: 'container/postgres', volume: 'data', path: '/srv/db' }),
    ]);
  });

  it('host namespaces and lost capabilities', () => {
    const p = pod('DaemonSet/agent');
    expect(risks(p, 'hostNamespace')).toEqual([
      expect.objectContaining({ target: 'pod', hostNamespaces: ['hostNetwork', 'hostPID'] }),
    ]);
    expect(risks(p, 'capabilitiesLost')).toEqual([
      expect.objectContaining({ target: 'container/agent', capabilities: ['NET_ADMIN'] }),
    ]);
    // NET_ADMIN is above the default ceiling: no allowlist can keep it, so the fix is to leave the
    // container unhardened, which this namespace allows its pods to ask.
    expect(risks(p, 'capabilitiesLost')[0].fix).toBe(
      `above the operator's capabilityCeiling, no allowlist keeps NET_ADMIN: run it unhardened: pod-hardener.io/skip-containers: "agent"`,
    );
    expect(risks(p, 'hostNamespace')[0].fix).toContain('pod-hardener.io/skip: "true"');
  });

  describe('each fix names what works where the pod is', () => {
    const spec = (sc: object, extra: object = {}) => ({
      ...extra,
      containers: [{ name: 'app', image: 'app', securityContext: sc }],
    });
    const lost = (sc: object, onPolicy = policy, extra: object = {}) =>
      risks(analyzePod(storedPod('p', spec(sc, extra)), 'shop', onPolicy), 'capabilitiesLost')[0];

    it('a capability within the ceiling, at an explicit non-root UID: its allowlist annotation', () => {
      const r = lost({ runAsUser: 101, capabilities: { add: ['NET_BIND_SERVICE'] } });
      expect(r.fix).toBe('capabilities.pod-hardener.io/app: "NET_BIND_SERVICE"');
      expect(r.reason).toContain(
        'as UID 101, a setcap binary that carries it no longer even starts',
      );
    });

    it('a capability a root process used: the allowlist serves only a setcap binary, else unhardened', () => {
      const r = lost({ capabilities: { add: ['NET_RAW'] } });
      expect(r.fix).toBe(
        'a setcap binary: capabilities.pod-hardener.io/app: "NET_RAW"; needs it as root, so unhardened: pod-hardener.io/skip-containers: "app"',
      );
    });

    it("where the namespace may not skip, the operator's exemption instead of the annotation", () => {
      const strict = policyWith({ skipNamespaces: [] });
      const r = lost({ capabilities: { add: ['NET_ADMIN'] } }, strict);
      expect(r.fix).toContain('an operator exemption (exceptions.exemptContainers)');
      expect(r.fix).not.toContain('skip-containers');
      const root = risks(analyzePod(storedPod('p', spec({})), 'shop', strict), 'runsAsRoot')[0];
      expect(root.fix).toMatch(/needs root: an operator exemption/);
    });

    it('a root image: every way out, within what one warning keeps', () => {
      const [r] = risks(analyzePod(storedPod('p', spec({})), 'shop', policy), 'runsAsRoot');
      expect(r.fix).toBe(
        `runAsUser = the image's UID if not 0; emptyDir where it writes; setcap binary: capabilities.add + capabilities.pod-hardener.io/app; needs root: pod-hardener.io/skip-containers: "app"`,
      );
    });
  });

  describe('a kept user in a new group', () => {
    const groupRisks = (sc: object, imageUsers?: Map<string, any>) =>
      risks(
        analyzePod(
          storedPod('p', { containers: [{ name: 'app', image: 'app:1', securityContext: sc }] }),
          'shop',
          policy,
          imageUsers,
        ),
        'groupReplaced',
      );

    it("an explicit UID without a group runs in the image's group today, GID 3000 hardened", () => {
      const [r] = groupRisks({ runAsUser: 1001 });
      expect(r).toMatchObject({ target: 'container/app' });
      expect(r.reason).toContain('(0 where the image has none for it)');
      expect(r.reason).toContain('in GID 3000');
      expect(r.fix).toContain('emptyDir where it writes');
    });

    it('none where the group is set, or comes from the image, or the user changes too', () => {
      expect(groupRisks({ runAsUser: 1001, runAsGroup: 1001 })).toEqual([]);
      const withGroup = new Map([['app:1', { found: true, uid: 1001, gid: 1001 }]]);
      expect(groupRisks({}, withGroup)).toEqual([]);
      expect(groupRisks({})).toEqual([]);
    });

    it('an image USER without a group, read by image identity: the risk, since the group is new', () => {
      const noGroup = new Map([['app:1', { found: true, uid: 1001 }]]);
      expect(groupRisks({}, noGroup)).toEqual([
        expect.objectContaining({ kind: 'groupReplaced', target: 'container/app' }),
      ]);
    });
  });

  it('a privileged container that would become unprivileged', () => {
    expect(risks(pod('CronJob/report'), 'privileged')).toEqual([
      expect.objectContaining({ target: 'container/report' }),
    ]);
  });

  it('nothing for pods that do not change', () => {
    expect(pod('Pod/hardened').risks).toEqual([]);
    expect(pod('Pod/skipped').risks).toEqual([]);
  });

  it('no low-port risk when the pod already lets non-root processes bind it', () => {
    const spec = {
      securityContext: { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] },
      containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] }],
    };
    expect(risks(analyzePod(storedPod('web', spec), 'shop', policy), 'lowPort')).toEqual([]);
  });

  it('with hostNetwork, the node decides the low port', () => {
    const spec = {
      hostNetwork: true,
      containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 53 }] }],
    };
    const [r] = risks(analyzePod(storedPod('dns', spec), 'shop', policy), 'lowPort');
    expect(r).toMatchObject({ port: 53 });
    expect(r.reason).toContain(
      "with hostNetwork the node's net.ipv4.ip_unprivileged_port_start decides",
    );
  });

  it('a container already non-root by its image (runAsNonRoot, no runAsUser) gets another UID', () => {
    const spec = {
      securityContext: { runAsNonRoot: true },
      containers: [{ name: 'app', image: 'app' }],
    };
    const p = analyzePod(storedPod('app', spec), 'shop', policy);
    expect(p.risks.map((r) => r.kind)).toEqual(['imageUserReplaced']);
  });

  it('a non-root container binding no low port only gets capabilities dropped: no risk', () => {
    const spec = {
      securityContext: { runAsUser: 101, runAsGroup: 101 },
      containers: [{ name: 'app', image: 'app', ports: [{ containerPort: 8080 }] }],
    };
    const p = analyzePod(storedPod('app', spec), 'shop', policy);
    expect(p.verdict).toBe('change');
    expect(p.risks).toEqual([]);
  });
});

describe('namespace modes', () => {
  it.each([
    ['kube-system', { 'pod-hardener.io/enabled': 'true' }, 'excluded'],
    ['pod-hardener', {}, 'excluded'],
    ['shop', { 'pod-hardener.io/enabled': 'true' }, 'enforce'],
    ['shop', { 'pod-hardener.io/enabled': 'audit' }, 'audit'],
    ['shop', { 'pod-hardener.io/enabled': 'yes' }, 'off'],
    ['shop', {}, 'off'],
  ])('%s %j is %s', (name, labels, mode) => {
    expect(namespaceMode(name, labels, 'pod-hardener').mode).toBe(mode);
  });

  it('the webhook namespace is the one given', () => {
    expect(namespaceMode('security', {}, 'security').mode).toBe('excluded');
    expect(namespaceMode('pod-hardener', {}, 'security').mode).toBe('off');
  });

  it('pods of excluded namespaces are listed, not analysed', () => {
    const data = { ...shopNamespace(), name: 'kube-system' };
    const [ns] = analyze([data], options);
    expect(ns.mode).toBe('excluded');
    const pods = ns.workloads.flatMap((w) => w.pods);
    expect(pods).toHaveLength(9);
    expect(
      pods.every(
        (p) => p.verdict === 'notReached' && p.changes.length === 0 && p.risks.length === 0,
      ),
    ).toBe(true);
  });

  it('namespaces are sorted by name', () => {
    const out = analyze(
      [
        { ...shopNamespace(), name: 'zeta' },
        { ...shopNamespace(), name: 'alpha' },
      ],
      options,
    );
    expect(out.map((n) => n.name)).toEqual(['alpha', 'zeta']);
  });
});
