'use strict';
/*
 * Writes the review fixtures of the benchmark (test/fixtures/reviews/), minified, as
 * kube-apiserver sends them:
 *   pod-4k.review.json   the deployment pod of test/fixtures/pods/deployment-pod.json (~4 KB)
 *   pod-40k.review.json  a pod with 30 containers and 3 init containers, every field the
 *                        apiserver fills in, and the managedFields of its controller (~40 KB)
 * Deterministic: running it again gives the same bytes. `node bench/make-fixtures.js`
 */
const { readFileSync, writeFileSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const outDir = join(root, 'test', 'fixtures', 'reviews');

function review(object, uid) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name: object.metadata.name ?? '',
      namespace: object.metadata.namespace,
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        uid: '8f3f0c1e-5a4e-4f0e-9d7c-2b6a1d3e4f50',
        groups: [
          'system:serviceaccounts',
          'system:serviceaccounts:kube-system',
          'system:authenticated',
        ],
      },
      object,
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}

function bigPod() {
  const hash = '5c8f7d9b64';
  const app = 'checkout-mesh';
  const saVolume = 'kube-api-access-q9d2m';
  const container = (i, init) => {
    const name = init ? `init-${i}` : `worker-${String(i).padStart(2, '0')}`;
    const port = 8000 + i;
    const c = {
      name,
      image: `registry.example.com/shop/${init ? 'migrate' : 'worker'}:2.14.${i}`,
      ...(init
        ? {
            command: ['/bin/sh', '-c'],
            args: [`/opt/migrate --step=${i} --wait-for=postgres:5432`],
          }
        : { args: [`--listen=:${port}`] }),
      ...(init ? {} : { ports: [{ name: `http-${i}`, containerPort: port, protocol: 'TCP' }] }),
      env: [
        { name: 'SHARD', value: String(i) },
        ...(i % 2 === 0
          ? [
              {
                name: 'POD_NAME',
                valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } },
              },
            ]
          : []),
      ],
      resources: { limits: { memory: '256Mi' }, requests: { cpu: '50m', memory: '64Mi' } },
      volumeMounts: [
        {
          name: saVolume,
          readOnly: true,
          mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
        },
      ],
      ...(init || i % 3 !== 1
        ? {}
        : {
            readinessProbe: {
              httpGet: { path: '/readyz', port, scheme: 'HTTP' },
              timeoutSeconds: 1,
              periodSeconds: 5,
              successThreshold: 1,
              failureThreshold: 3,
            },
          }),
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      imagePullPolicy: 'IfNotPresent',
    };
    // A realistic mix: some containers already say something about their security context.
    if (i % 5 === 0)
      c.securityContext = { runAsUser: 0, capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } };
    else if (i % 3 === 0)
      c.securityContext = { allowPrivilegeEscalation: true, readOnlyRootFilesystem: true };
    return c;
  };
  const containers = Array.from({ length: 30 }, (_, i) => container(i + 1, false));
  const initContainers = Array.from({ length: 3 }, (_, i) => container(i + 1, true));

  const fieldsOf = (c) => {
    const f = {
      '.': {},
      'f:image': {},
      'f:imagePullPolicy': {},
      'f:name': {},
      'f:terminationMessagePath': {},
      'f:terminationMessagePolicy': {},
    };
    if (c.command) f['f:command'] = {};
    if (c.args) f['f:args'] = {};
    f['f:env'] = { '.': {} };
    for (const e of c.env)
      f['f:env'][`k:{"name":"${e.name}"}`] =
        e.value !== undefined
          ? { '.': {}, 'f:name': {}, 'f:value': {} }
          : {
              '.': {},
              'f:name': {},
              'f:valueFrom': {
                '.': {},
                [Object.keys(e.valueFrom)[0] === 'fieldRef' ? 'f:fieldRef' : 'f:secretKeyRef']: {},
              },
            };
    if (c.ports) {
      f['f:ports'] = { '.': {} };
      for (const p of c.ports)
        f['f:ports'][`k:{"containerPort":${p.containerPort},"protocol":"TCP"}`] = {
          '.': {},
          'f:containerPort': {},
          'f:name': {},
          'f:protocol': {},
        };
    }
    f['f:resources'] = {
      '.': {},
      'f:limits': { '.': {}, 'f:memory': {} },
      'f:requests': { '.': {}, 'f:cpu': {}, 'f:memory': {} },
    };
    if (c.readinessProbe)
      f['f:readinessProbe'] = {
        '.': {},
        'f:httpGet': { '.': {}, 'f:path': {}, 'f:port': {}, 'f:scheme': {} },
        'f:periodSeconds': {},
      };
    if (c.securityContext)
      f['f:securityContext'] = Object.fromEntries([
        ['.', {}],
        ...Object.keys(c.securityContext).map((k) => [`f:${k}`, {}]),
      ]);
    return f;
  };
  const byName = (list) =>
    Object.fromEntries(list.map((c) => [`k:{"name":"${c.name}"}`, fieldsOf(c)]));

  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      generateName: `${app}-${hash}-`,
      namespace: 'shop',
      uid: '3d4b1f6a-9c2e-4e8b-a7f1-5b0c9e2d8a61',
      creationTimestamp: '2026-11-27T05:00:00Z',
      labels: {
        'app.kubernetes.io/name': app,
        'app.kubernetes.io/part-of': 'shop',
        'app.kubernetes.io/version': '2.14',
        'pod-template-hash': hash,
      },
      annotations: {
        'kubectl.kubernetes.io/restartedAt': '2026-11-20T09:12:44Z',
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9001',
        'pod-hardener.io/allowed-capabilities': 'NET_RAW',
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `${app}-${hash}`,
          uid: '7e2a9b3c-1d4f-4a6e-8c5b-0f9d2e1a3b74',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: [
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2026-11-27T05:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': {
              'f:annotations': {
                '.': {},
                'f:kubectl.kubernetes.io/restartedAt': {},
                'f:pod-hardener.io/allowed-capabilities': {},
                'f:prometheus.io/port': {},
                'f:prometheus.io/scrape': {},
              },
              'f:generateName': {},
              'f:labels': {
                '.': {},
                'f:app.kubernetes.io/name': {},
                'f:app.kubernetes.io/part-of': {},
                'f:app.kubernetes.io/version': {},
                'f:pod-template-hash': {},
              },
              'f:ownerReferences': {
                '.': {},
                'k:{"uid":"7e2a9b3c-1d4f-4a6e-8c5b-0f9d2e1a3b74"}': {},
              },
            },
            'f:spec': {
              'f:containers': byName(containers),
              'f:initContainers': byName(initContainers),
              'f:dnsPolicy': {},
              'f:enableServiceLinks': {},
              'f:restartPolicy': {},
              'f:schedulerName': {},
              'f:securityContext': {},
              'f:terminationGracePeriodSeconds': {},
              'f:volumes': {
                '.': {},
                'k:{"name":"scratch"}': { '.': {}, 'f:emptyDir': {}, 'f:name': {} },
              },
            },
          },
        },
      ],
    },
    spec: {
      volumes: [
        { name: 'scratch', emptyDir: {} },
        {
          name: saVolume,
          projected: {
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              {
                configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] },
              },
              {
                downwardAPI: {
                  items: [
                    {
                      path: 'namespace',
                      fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' },
                    },
                  ],
                },
              },
            ],
            defaultMode: 420,
          },
        },
      ],
      initContainers,
      containers,
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      serviceAccount: 'default',
      securityContext: {},
      schedulerName: 'default-scheduler',
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
        {
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
    status: {},
  };
}

function main() {
  mkdirSync(outDir, { recursive: true });
  const small = JSON.parse(
    readFileSync(join(root, 'test', 'fixtures', 'pods', 'deployment-pod.json'), 'utf8'),
  );
  const files = {
    'pod-4k.review.json': review(small, '0b6f1d2e-4a5c-4e7b-9f3a-1c2d3e4f5a01'),
    'pod-40k.review.json': review(bigPod(), '0b6f1d2e-4a5c-4e7b-9f3a-1c2d3e4f5a40'),
  };
  for (const [name, body] of Object.entries(files)) {
    const text = JSON.stringify(body);
    writeFileSync(join(outDir, name), text + '\n');
    console.log(`${name}: ${Buffer.byteLength(text)} bytes`);
  }
}

if (require.main === module) main();
module.exports = { review, bigPod };
