// Proves the e2e control plane itself: a real kube-apiserver (with etcd and
// kube-controller-manager) built from Go modules, driven by the built kubectl.

import { ControlPlane, startControlPlane } from './support/controlplane';

// The first run on a machine compiles Kubernetes (15-25 min on 2 cores).
const BUILD_AND_START_TIMEOUT_MS = 60 * 60 * 1000;
// Explicit, so the file does not depend on the runner's default (5 s in jest).
const TEST_TIMEOUT_MS = 120_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('test control plane', () => {
  let cp: ControlPlane;

  beforeAll(async () => {
    cp = await startControlPlane({ withControllerManager: true });
  }, BUILD_AND_START_TIMEOUT_MS);

  afterAll(async () => {
    await cp?.stop();
  }, 60_000);

  it(
    'serves TLS verified against the generated CA, with the admin token',
    async () => {
      expect(cp.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(cp.caPem).toContain('BEGIN CERTIFICATE');
      const version = JSON.parse((await cp.kubectl(['version', '-o', 'json'])).stdout);
      expect(version.serverVersion.gitVersion).toMatch(/^v1\.36\./);
      const who = JSON.parse((await cp.kubectl(['auth', 'whoami', '-o', 'json'])).stdout);
      expect(who.status.userInfo.username).toBe('admin');
      expect(who.status.userInfo.groups).toContain('system:masters');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'creates a pod from stdin YAML and reads it back',
    async () => {
      await cp.kubectl(['create', 'namespace', 'x']);
      await cp.kubectl(['apply', '-f', '-'], {
        input: `apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: x
spec:
  containers:
  - name: app
    image: registry.k8s.io/pause:3.10
`,
      });
      const pod = JSON.parse(
        (await cp.kubectl(['get', 'pod', 'p', '-n', 'x', '-o', 'json'])).stdout,
      );
      expect(pod.metadata.name).toBe('p');
      expect(pod.spec.containers[0].image).toBe('registry.k8s.io/pause:3.10');
      // No kubelet: the pod is never scheduled or run.
      expect(pod.status.phase).toBe('Pending');
      // Defaulting ran: a pod-level securityContext always exists.
      expect(pod.spec.securityContext).toEqual({});
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'enforces Pod Security admission on labelled namespaces',
    async () => {
      await cp.kubectl(['create', 'namespace', 'restricted']);
      await cp.kubectl([
        'label',
        'namespace',
        'restricted',
        'pod-security.kubernetes.io/enforce=restricted',
      ]);
      const res = await cp.kubectl(
        ['run', 'bad', '-n', 'restricted', '--image=registry.k8s.io/pause:3.10'],
        {
          allowFail: true,
        },
      );
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/violates PodSecurity "restricted:latest"/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'rejects a pod through a ValidatingAdmissionPolicy',
    async () => {
      await cp.kubectl(['create', 'namespace', 'vap']);
      await cp.kubectl(['apply', '-f', '-'], {
        input: `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: no-latest
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["pods"]
  validations:
  - expression: "object.spec.containers.all(c, !c.image.endsWith(':latest'))"
    message: no latest tags
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: no-latest
spec:
  policyName: no-latest
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: vap
`,
      });
      // The policy is enforced once the apiserver's informer has seen it.
      let res = { code: 0, stdout: '', stderr: '' };
      for (let i = 0; i < 50; i++) {
        res = await cp.kubectl(
          ['run', 'l', '-n', 'vap', '--image=nginx:latest', '--dry-run=server'],
          {
            allowFail: true,
          },
        );
        if (res.code !== 0) break;
        await sleep(200);
      }
      expect(res.stderr).toMatch(/no latest tags/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'runs Deployments: the controller manager creates their pods',
    async () => {
      await cp.kubectl([
        'create',
        'deployment',
        'web',
        '-n',
        'x',
        '--image=registry.k8s.io/pause:3.10',
        '--replicas=2',
      ]);
      let pods: Array<{ metadata: { name: string; ownerReferences?: Array<{ kind: string }> } }> =
        [];
      for (let i = 0; i < 120 && pods.length < 2; i++) {
        const out = await cp.kubectl(['get', 'pods', '-n', 'x', '-l', 'app=web', '-o', 'json']);
        pods = JSON.parse(out.stdout).items;
        if (pods.length < 2) await sleep(250);
      }
      expect(pods).toHaveLength(2);
      expect(pods[0].metadata.ownerReferences?.[0].kind).toBe('ReplicaSet');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'deletes namespaces (namespace controller)',
    async () => {
      await cp.kubectl(['delete', 'namespace', 'x', '--wait=true', '--timeout=60s'], {
        timeoutMs: 90_000,
      });
      const res = await cp.kubectl(['get', 'namespace', 'x'], { allowFail: true });
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/NotFound|not found/);
    },
    TEST_TIMEOUT_MS,
  );
});
