/**
 * Workloads that already meet every hardening rule, in the shapes charts ship them, and twins
 * that each miss one rule in one container. Shared by the webhook test (the pods their
 * controllers create, sent over HTTPS) and the offline tool's `--check` test (the manifests as a
 * file), so both hold the product to the same promise: nothing to change on an already hardened
 * pod, and on a twin only the container that misses the rule.
 */
import YAML from 'yaml';
import { HARDENED_POD_SC } from './pods';

/** Every rule met by the container itself, as charts write it when the pod level stays empty. */
const containerHardened = (uid: number, gid = uid) => ({
  runAsUser: uid,
  runAsGroup: gid,
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
});

/**
 * ingress-nginx's admission Job (the chart's createSecretJob): every rule at container level,
 * nothing at pod level. A webhook that sets pod-level values no container inherits patches it.
 */
const INGRESS_NGINX_ADMISSION_CREATE = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'ingress-nginx-admission-create', namespace: 'ingress-nginx' },
  spec: {
    template: {
      metadata: {
        name: 'ingress-nginx-admission-create',
        labels: { 'app.kubernetes.io/component': 'admission-webhook' },
      },
      spec: {
        containers: [
          {
            name: 'create',
            image: 'registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.5.3',
            imagePullPolicy: 'IfNotPresent',
            args: [
              'create',
              '--host=ingress-nginx-controller-admission,ingress-nginx-controller-admission.$(POD_NAMESPACE).svc',
              '--namespace=$(POD_NAMESPACE)',
              '--secret-name=ingress-nginx-admission',
            ],
            env: [
              {
                name: 'POD_NAMESPACE',
                valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
              },
            ],
            securityContext: containerHardened(65532),
          },
        ],
        restartPolicy: 'OnFailure',
        serviceAccountName: 'ingress-nginx-admission',
        nodeSelector: { 'kubernetes.io/os': 'linux' },
      },
    },
  },
};

/** A native sidecar (an init container with restartPolicy Always) beside the app, each hardened itself. */
const NATIVE_SIDECAR_DEPLOYMENT = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'orders', namespace: 'shop' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'orders' } },
    template: {
      metadata: { labels: { app: 'orders' } },
      spec: {
        initContainers: [
          {
            name: 'cloud-sql-proxy',
            image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.1',
            restartPolicy: 'Always',
            args: ['--port=5432', '--structured-logs', 'shop-prod:europe-west1:orders'],
            securityContext: containerHardened(65532),
          },
        ],
        containers: [
          {
            name: 'orders',
            image: 'registry.example.com/shop/orders:3.2.0',
            ports: [{ containerPort: 8080, protocol: 'TCP' }],
            securityContext: containerHardened(10001),
          },
        ],
      },
    },
  },
};

/** The identity and seccomp profile at pod level, where every container inherits them; a writable volume under its fsGroup. */
const POD_LEVEL_DEPLOYMENT = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'reports', namespace: 'finance' },
  spec: {
    selector: { matchLabels: { app: 'reports' } },
    template: {
      metadata: { labels: { app: 'reports' } },
      spec: {
        securityContext: {
          ...HARDENED_POD_SC,
          fsGroup: 3000,
          fsGroupChangePolicy: 'OnRootMismatch',
        },
        volumes: [{ name: 'scratch', emptyDir: {} }],
        containers: [
          {
            name: 'reports',
            image: 'registry.example.com/finance/reports:1.8.0',
            volumeMounts: [{ name: 'scratch', mountPath: '/tmp' }],
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    },
  },
};

/** Each a fresh copy: a test may edit what it gets. */
export function hardenedWorkloads(): any[] {
  return structuredClone([
    POD_LEVEL_DEPLOYMENT,
    NATIVE_SIDECAR_DEPLOYMENT,
    INGRESS_NGINX_ADMISSION_CREATE,
  ]);
}

/** A twin of a hardened workload with one field of one container's securityContext removed. */
export interface MissingRule {
  /** The workload as hardened; `workload` is it less the one field. */
  hardened: any;
  workload: any;
  list: 'containers' | 'initContainers';
  index: number;
  /** The securityContext field removed, under which the webhook must patch. */
  field: string;
}

function missing(
  workload: object,
  list: MissingRule['list'],
  index: number,
  field: string,
): MissingRule {
  const copy: any = structuredClone(workload);
  const spec = copy.spec.template.spec;
  delete spec[list][index].securityContext[field];
  return { hardened: structuredClone(workload), workload: copy, list, index, field };
}

/**
 * Fields only a container can carry: the missing rule is met on that container alone, and a
 * patch reaching anywhere else in the pod changes what the other containers run with.
 */
export function missingOneRule(): MissingRule[] {
  return [
    missing(NATIVE_SIDECAR_DEPLOYMENT, 'initContainers', 0, 'allowPrivilegeEscalation'),
    missing(INGRESS_NGINX_ADMISSION_CREATE, 'containers', 0, 'capabilities'),
  ];
}

/** The workloads as one multi-document YAML file, the way a chart renders them. */
export function manifestText(workloads: readonly unknown[]): string {
  return workloads.map((w) => YAML.stringify(w)).join('---\n');
}
