/**
 * Every documented value of the chart: `helm lint --strict` and `helm template` with each
 * combination of the table, and what each one must change in the rendered objects; a misspelled
 * or out-of-range value fails at install (values.schema.json); the schema of `config` is the
 * webhook's own configuration schema; the guard is what `pod-hardener guard-params`
 * writes; the files the chart shares with manifests/ are the same bytes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { guardPolicy } from '../../../src/policy/guard';
import {
  BUILD_TIMEOUT_MS,
  CHART,
  goTool,
  helmTemplate,
  helmTemplateArgs,
  K8sObject,
  REPO,
  run,
  valuesFile,
  writeTemp,
} from '../../support/tools';
import { CHART_SCHEMA, renderChartSchema } from '../../support/chart-schema';
import { expectReferenceUpToDate, readReference } from '../../support/references';

type Objects = K8sObject[];
const find = (objects: Objects, kind: string, name?: string) =>
  objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const one = (objects: Objects, kind: string, name?: string): K8sObject => {
  const found = find(objects, kind, name);
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
};
const deployment = (o: Objects) => one(o, 'Deployment');
const pod = (o: Objects) => deployment(o).spec.template.spec;
const container = (o: Objects) => pod(o).containers[0];
const config = (o: Objects) =>
  YAML.parse(
    one(o, 'ConfigMap', find(o, 'ConfigMap').find((c) => c.data?.['config.yaml'])!.metadata.name)
      .data['config.yaml'],
  );
const webhooks = (o: Objects) => one(o, 'MutatingWebhookConfiguration').webhooks as any[];
const notIn = (selector: any) =>
  selector.matchExpressions.find((e: any) => e.operator === 'NotIn').values;
/** The guard's parameters: its first three variables, by name. */
const guardVariables = (policy: K8sObject): Record<string, string> =>
  Object.fromEntries(policy.spec.variables.slice(0, 3).map((v: any) => [v.name, v.expression]));
const env = (o: Objects) =>
  Object.fromEntries(container(o).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

interface Case {
  name: string;
  values: Record<string, unknown>;
  release?: string;
  namespace?: string;
  check(objects: Objects): void;
}

const CASES: Case[] = [
  {
    name: 'defaults: self-managed certificates, RBAC and the empty Secret, the guard, fail open',
    values: {},
    check: (o) => {
      expect(env(o).POD_HARDENER_CERT_SOURCE).toBe('self-managed');
      expect(pod(o).automountServiceAccountToken).toBe(true);
      expect(one(o, 'Role').rules[0].resourceNames).toEqual(['pod-hardener-certs']);
      expect(one(o, 'ClusterRole').rules[0].resourceNames).toEqual(['pod-hardener']);
      expect(one(o, 'Secret', 'pod-hardener-certs').data).toBeUndefined();
      expect(webhooks(o).map((w) => w.failurePolicy)).toEqual(['Ignore', 'Ignore']);
      expect(find(o, 'ValidatingAdmissionPolicy')).toHaveLength(1);
      expect(container(o).image).toBe('pod-hardener:0.1.0');
      expect(
        find(o, 'ServiceMonitor').length +
          find(o, 'PrometheusRule').length +
          find(o, 'NetworkPolicy').length,
      ).toBe(0);
    },
  },
  {
    name: 'certificates.mode cert-manager: Issuers, CA and serving Certificates, inject-ca-from, no RBAC, no token',
    values: {
      certificates: {
        mode: 'cert-manager',
        certManager: { duration: '720h', renewBefore: '240h' },
      },
    },
    check: (o) => {
      expect(
        find(o, 'Issuer')
          .map((i) => i.metadata.name)
          .sort(),
      ).toEqual(['pod-hardener-ca', 'pod-hardener-selfsigned']);
      const serving = one(o, 'Certificate', 'pod-hardener-serving');
      expect(serving.spec).toMatchObject({
        secretName: 'pod-hardener-tls',
        duration: '720h',
        renewBefore: '240h',
        issuerRef: { name: 'pod-hardener-ca', kind: 'Issuer' },
      });
      expect(one(o, 'MutatingWebhookConfiguration').metadata.annotations).toEqual({
        'cert-manager.io/inject-ca-from': 'pod-hardener/pod-hardener-serving',
      });
      expect(
        find(o, 'Role').length + find(o, 'ClusterRole').length + find(o, 'Secret').length,
      ).toBe(0);
      expect(pod(o).automountServiceAccountToken).toBe(false);
      expect(env(o)).toMatchObject({
        POD_HARDENER_CERT_SOURCE: 'files',
        POD_HARDENER_TLS_CERT_FILE: '/var/run/pod-hardener/tls/tls.crt',
      });
    },
  },
  {
    name: 'certificates.certManager.issuerRef: your issuer signs, no bootstrap CA',
    values: {
      certificates: {
        mode: 'cert-manager',
        certManager: { issuerRef: { name: 'corp-ca', kind: 'ClusterIssuer' } },
      },
    },
    check: (o) => {
      expect(find(o, 'Issuer')).toHaveLength(0);
      expect(find(o, 'Certificate').map((c) => c.metadata.name)).toEqual(['pod-hardener-serving']);
      expect(one(o, 'Certificate').spec.issuerRef).toEqual({
        name: 'corp-ca',
        kind: 'ClusterIssuer',
      });
    },
  },
  {
    name: 'certificates.mode manual with secretName and caBundle',
    values: {
      certificates: {
        mode: 'manual',
        manual: { secretName: 'my-tls', caBundle: 'LS0tLS1CRUdJTg==' },
      },
    },
    check: (o) => {
      expect(pod(o).volumes.find((v: any) => v.name === 'tls').secret.secretName).toBe('my-tls');
      expect(webhooks(o).map((w) => w.clientConfig.caBundle)).toEqual([
        'LS0tLS1CRUdJTg==',
        'LS0tLS1CRUdJTg==',
      ]);
      expect(find(o, 'Certificate').length + find(o, 'Role').length).toBe(0);
    },
  },
  {
    name: 'guard.enabled false: no guard objects, the enforce webhook fails closed',
    values: { guard: { enabled: false } },
    check: (o) => {
      expect(o.filter((x) => x.metadata.name === 'pod-hardener-guard')).toEqual([]);
      expect(webhooks(o).map((w) => [w.name, w.failurePolicy])).toEqual([
        ['enforce.pod-hardener.io', 'Fail'],
        ['audit.pod-hardener.io', 'Ignore'],
      ]);
    },
  },
  {
    name: 'webhook.timeoutSeconds and excludedNamespaces: both webhooks and the guard binding',
    values: {
      webhook: {
        timeoutSeconds: 10,
        excludedNamespaces: ['istio-system', 'kube-system', 'monitoring'],
      },
    },
    check: (o) => {
      expect(webhooks(o).map((w) => w.timeoutSeconds)).toEqual([10, 10]);
      const expected = ['kube-system', 'pod-hardener', 'istio-system', 'monitoring'];
      for (const w of webhooks(o)) expect(notIn(w.namespaceSelector)).toEqual(expected);
      expect(
        notIn(one(o, 'ValidatingAdmissionPolicyBinding').spec.matchResources.namespaceSelector),
      ).toEqual(expected);
    },
  },
  {
    name: 'hostNetwork: on the node, with its ports in the pod and in config.yaml',
    values: { hostNetwork: { enabled: true, port: 9443, metricsPort: 9080 } },
    check: (o) => {
      expect(pod(o)).toMatchObject({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' });
      expect(container(o).ports.map((p: any) => [p.name, p.containerPort])).toEqual([
        ['https', 9443],
        ['metrics', 9080],
      ]);
      expect(config(o).server).toEqual({ port: 9443, metricsPort: 9080 });
      // The Service and the probes use the port names, so they follow.
      expect(one(o, 'Service').spec.ports.map((p: any) => p.targetPort)).toEqual([
        'https',
        'metrics',
      ]);
    },
  },
  {
    name: 'image: repository, tag, pullPolicy, pullSecrets',
    values: {
      image: { repository: 'registry.example.com/pod-hardener', tag: '9.9.9', pullPolicy: 'Never' },
      imagePullSecrets: [{ name: 'regcred' }],
    },
    check: (o) => {
      expect(container(o)).toMatchObject({
        image: 'registry.example.com/pod-hardener:9.9.9',
        imagePullPolicy: 'Never',
      });
      expect(pod(o).imagePullSecrets).toEqual([{ name: 'regcred' }]);
    },
  },
  {
    name: 'image.digest wins over the tag',
    values: { image: { digest: `sha256:${'a'.repeat(64)}` } },
    check: (o) => expect(container(o).image).toBe(`pod-hardener@sha256:${'a'.repeat(64)}`),
  },
  {
    name: 'scheduling: replicas, resources, priorityClassName, nodeSelector, tolerations, affinity, spread',
    values: {
      replicas: 3,
      resources: { requests: { cpu: '100m' } },
      priorityClassName: 'system-cluster-critical',
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'pool', operator: 'In', values: ['system'] }] },
            ],
          },
        },
      },
      topologySpreadConstraints: [
        {
          maxSkew: 2,
          topologyKey: 'kubernetes.io/hostname',
          whenUnsatisfiable: 'DoNotSchedule',
          labelSelector: { matchLabels: { app: 'x' } },
        },
      ],
    },
    check: (o) => {
      expect(deployment(o).spec.replicas).toBe(3);
      // Helm merges maps with the defaults: the memory request and limit stay.
      expect(container(o).resources).toEqual({
        requests: { cpu: '100m', memory: '96Mi' },
        limits: { memory: '256Mi' },
      });
      expect(pod(o)).toMatchObject({
        priorityClassName: 'system-cluster-critical',
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }],
        affinity: { nodeAffinity: expect.any(Object) },
        topologySpreadConstraints: [
          expect.objectContaining({ maxSkew: 2, whenUnsatisfiable: 'DoNotSchedule' }),
        ],
      });
    },
  },
  {
    name: 'topologySpreadConstraints [] turns spreading off',
    values: { topologySpreadConstraints: [] },
    check: (o) => expect(pod(o).topologySpreadConstraints).toBeUndefined(),
  },
  {
    name: 'podDisruptionBudget: a percentage; disabled, none',
    values: { podDisruptionBudget: { minAvailable: '50%' } },
    check: (o) => expect(one(o, 'PodDisruptionBudget').spec.minAvailable).toBe('50%'),
  },
  {
    name: 'podDisruptionBudget.enabled false',
    values: { podDisruptionBudget: { enabled: false } },
    check: (o) => expect(find(o, 'PodDisruptionBudget')).toHaveLength(0),
  },
  {
    name: 'podAnnotations and podLabels: on the pods, never in the selector',
    values: { podAnnotations: { 'example.com/team': 'platform' }, podLabels: { team: 'platform' } },
    check: (o) => {
      const template = deployment(o).spec.template.metadata;
      expect(template.annotations).toMatchObject({
        'example.com/team': 'platform',
        'checksum/config': expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      expect(template.labels.team).toBe('platform');
      expect(deployment(o).spec.selector.matchLabels.team).toBeUndefined();
    },
  },
  {
    name: 'config: rendered into the ConfigMap with the chart-owned keys; the guard follows the exceptions',
    values: {
      config: {
        hardening: { runAsUser: 2000 },
        exceptions: {
          exemptContainers: [{ name: 'istio-init', image: 'docker.io/istio/proxyv2:*' }],
        },
        server: { maxInFlight: 100 },
        log: { level: 'debug' },
      },
    },
    check: (o) => {
      const c = config(o);
      expect(c.hardening).toEqual({
        runAsUser: 2000,
        runAsGroup: 3000,
        runAsNonRoot: true,
        fsGroup: true,
        seccompProfile: true,
        unprivilegedPorts: 'auto',
        userNamespaces: 'off',
        supplementalGroupsPolicy: 'off',
      });
      expect(c.server).toEqual({ port: 8443, metricsPort: 8080, maxInFlight: 100 });
      expect(c.log.level).toBe('debug');
      expect(guardVariables(one(o, 'ValidatingAdmissionPolicy')).exemptContainers).toBe(
        "'istio-init=docker\\\\.io/istio/proxyv2:.*'",
      );
    },
  },
  {
    name: 'monitoring: ServiceMonitor and PrometheusRule with labels, relabelings, runbook address',
    values: {
      monitoring: {
        serviceMonitor: {
          enabled: true,
          interval: '15s',
          labels: { release: 'kps' },
          metricRelabelings: [{ action: 'drop', regex: 'nodejs_.*', sourceLabels: ['__name__'] }],
        },
        prometheusRule: {
          enabled: true,
          labels: { release: 'kps' },
          runbookBaseUrl: 'https://wiki.example.com/pod-hardener',
        },
      },
    },
    check: (o) => {
      const sm = one(o, 'ServiceMonitor');
      expect(sm.metadata.labels.release).toBe('kps');
      expect(sm.spec.endpoints[0]).toMatchObject({
        port: 'metrics',
        interval: '15s',
        metricRelabelings: [expect.objectContaining({ action: 'drop' })],
      });
      const rule = one(o, 'PrometheusRule');
      expect(rule.metadata.labels.release).toBe('kps');
      const urls = rule.spec.groups.flatMap((g: any) =>
        g.rules.map((r: any) => r.annotations.runbook_url),
      );
      expect(urls.length).toBeGreaterThan(5);
      for (const url of urls)
        expect(url).toMatch(/^https:\/\/wiki\.example\.com\/pod-hardener#podhardener[a-z]+$/);
    },
  },
  {
    name: 'networkPolicy: narrowed sources, scrapers, API server CIDR and ports',
    values: {
      networkPolicy: {
        enabled: true,
        webhookFrom: [{ ipBlock: { cidr: '10.0.0.0/24' } }],
        metricsNamespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
        apiServer: { ports: [443], cidrs: ['10.0.0.1/32'] },
      },
    },
    check: (o) => {
      const spec = one(o, 'NetworkPolicy').spec;
      expect(spec.ingress[0]).toEqual({
        from: [{ ipBlock: { cidr: '10.0.0.0/24' } }],
        ports: [{ port: 'https', protocol: 'TCP' }],
      });
      expect(spec.ingress[1].from).toEqual([
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
      ]);
      expect(spec.egress[0]).toEqual({
        to: [{ ipBlock: { cidr: '10.0.0.1/32' } }],
        ports: [{ port: 443, protocol: 'TCP' }],
      });
    },
  },
  {
    name: 'networkPolicy with cert-manager certificates: no egress to the API server, DNS only',
    values: { certificates: { mode: 'cert-manager' }, networkPolicy: { enabled: true } },
    check: (o) => {
      const egress = one(o, 'NetworkPolicy').spec.egress;
      expect(egress).toHaveLength(1);
      expect(egress[0].ports.map((p: any) => p.port)).toEqual([53, 53]);
    },
  },
  {
    name: 'image identity: egress to the registries only with it on, and the credentials Secret mounted and configured',
    values: {
      certificates: { mode: 'cert-manager' },
      networkPolicy: { enabled: true, registries: { ports: [443, 5000], cidrs: ['192.0.2.0/24'] } },
      config: { imageIdentity: { enabled: true, registries: ['ghcr.io'] } },
      imageIdentity: { credentialsSecret: 'registry-pull' },
    },
    check: (o) => {
      const egress = one(o, 'NetworkPolicy').spec.egress;
      expect(egress[0]).toEqual({
        to: [{ ipBlock: { cidr: '192.0.2.0/24' } }],
        ports: [
          { port: 443, protocol: 'TCP' },
          { port: 5000, protocol: 'TCP' },
        ],
      });
      const file = config(o).imageIdentity;
      expect(file).toEqual({
        enabled: true,
        registries: ['ghcr.io'],
        credentialsFile: '/var/run/pod-hardener/registries/.dockerconfigjson',
      });
      expect(pod(o).volumes).toContainEqual({
        name: 'registry-credentials',
        secret: { secretName: 'registry-pull', defaultMode: 288 },
      });
      expect(container(o).volumeMounts).toContainEqual({
        name: 'registry-credentials',
        mountPath: '/var/run/pod-hardener/registries',
        readOnly: true,
      });
    },
  },
  {
    name: 'another release and namespace: every name, reference and exclusion follows',
    release: 'ph',
    namespace: 'security',
    values: {
      certificates: { mode: 'cert-manager' },
      monitoring: { prometheusRule: { enabled: true } },
    },
    check: (o) => {
      for (const x of o)
        if (x.metadata.namespace !== undefined)
          expect([x.kind, x.metadata.namespace]).toEqual([x.kind, 'security']);
      expect(deployment(o).metadata.name).toBe('ph-pod-hardener');
      for (const w of webhooks(o)) {
        expect(w.clientConfig.service).toMatchObject({
          name: 'ph-pod-hardener',
          namespace: 'security',
        });
        expect(notIn(w.namespaceSelector)).toEqual(['kube-system', 'security']);
      }
      expect(
        one(o, 'MutatingWebhookConfiguration').metadata.annotations[
          'cert-manager.io/inject-ca-from'
        ],
      ).toBe('security/ph-pod-hardener-serving');
      expect(one(o, 'Certificate', 'ph-pod-hardener-serving').spec.dnsNames).toEqual([
        'ph-pod-hardener.security.svc',
        'ph-pod-hardener.security.svc.cluster.local',
      ]);
      expect(one(o, 'ValidatingAdmissionPolicyBinding').spec).toMatchObject({
        policyName: 'ph-pod-hardener-guard',
      });
      expect(one(o, 'ValidatingAdmissionPolicyBinding').spec.paramRef).toBeUndefined();
      const exprs = one(o, 'PrometheusRule')
        .spec.groups[0].rules.map((r: any) => r.expr)
        .join('\n');
      expect(exprs).toContain('job="ph-pod-hardener",namespace="security"');
      expect(exprs).toContain('policy="ph-pod-hardener-guard"');
      expect(exprs).not.toContain('job="pod-hardener"');
    },
  },
  {
    name: 'another release, self-managed: config.yaml names the objects the RBAC allows',
    release: 'ph',
    namespace: 'security',
    values: {},
    check: (o) => {
      expect(config(o).certificates.selfManaged).toMatchObject({
        serviceName: 'ph-pod-hardener',
        secretName: 'ph-pod-hardener-certs',
        webhookConfigurationName: 'ph-pod-hardener',
      });
      expect(one(o, 'Role').rules[0].resourceNames).toEqual(['ph-pod-hardener-certs']);
      expect(one(o, 'ClusterRole').rules[0].resourceNames).toEqual(['ph-pod-hardener']);
      expect(find(o, 'Secret').map((s) => s.metadata.name)).toEqual(['ph-pod-hardener-certs']);
    },
  },
  {
    name: 'fullnameOverride',
    values: { fullnameOverride: 'hardener' },
    check: (o) => {
      expect(one(o, 'Service').metadata.name).toBe('hardener');
      expect(webhooks(o)[0].clientConfig.service.name).toBe('hardener');
    },
  },
];

let helm: string;
beforeAll(() => {
  helm = goTool('helm');
}, BUILD_TIMEOUT_MS);

describe('chart values', () => {
  test.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const lint = run(helm, [
      'lint',
      '--strict',
      CHART,
      '--values',
      valuesFile(c.values),
      '--namespace',
      c.namespace ?? 'pod-hardener',
    ]);
    expect({
      status: lint.status,
      output: lint.status === 0 ? '' : lint.stdout + lint.stderr,
    }).toEqual({ status: 0, output: '' });
    c.check(helmTemplate(c.values, { release: c.release, namespace: c.namespace }));
  });

  test('the chart packages', () => {
    const r = run(helm, [
      'package',
      CHART,
      '--destination',
      writeTemp('x', '').replace(/\/x$/, ''),
    ]);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['a misspelled top-level key', { replica: 3 }, /replica/],
    ['a misspelled nested key', { image: { tga: '1.0' } }, /tga/],
    ['an unknown certificate mode', { certificates: { mode: 'selfmanaged' } }, /mode/],
    [
      'a timeout beyond the API server limit',
      { webhook: { timeoutSeconds: 31 } },
      /timeoutSeconds/,
    ],
    ['a misspelled config.yaml key', { config: { hardening: { runAsUsr: 1000 } } }, /runAsUsr/],
    ['a config.yaml key the chart owns', { config: { server: { port: 9443 } } }, /port/],
    ['a wrong type in config.yaml', { config: { hardening: { fsGroup: 'yes' } } }, /fsGroup/],
    [
      'a capability that is no name',
      { config: { exceptions: { capabilityCeiling: ['NET RAW'] } } },
      /capabilityCeiling/,
    ],
  ])('the schema refuses %s, naming it', (_what, values, named) => {
    const r = run(helm, helmTemplateArgs(values));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/values don't meet the specifications of the schema|schema/);
    expect(r.stderr).toMatch(named);
  });

  test('an exceptions list set to null fails with a message, rather than a guard that disagrees', () => {
    const r = run(helm, helmTemplateArgs({ config: { exceptions: { skipNamespaces: null } } }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/config\.exceptions\.skipNamespaces must be set/);
  });
});

describe('one definition', () => {
  test("values.schema.json's config is the webhook's configuration schema, less the keys the chart sets", () => {
    expectReferenceUpToDate(CHART_SCHEMA, renderChartSchema(readReference(CHART_SCHEMA)));
  });

  test.each([
    [
      'the guard policy',
      'manifests/components/guard/policy.yaml',
      'charts/pod-hardener/files/guard-policy.yaml',
    ],
    [
      'the alert rules',
      'manifests/components/monitoring/prometheusrule.yaml',
      'charts/pod-hardener/files/prometheusrule.yaml',
    ],
  ])('%s: the chart holds the same bytes as manifests/ (copy %s to %s)', (_what, source, copy) => {
    expect(readFileSync(join(REPO, copy), 'utf8')).toBe(readFileSync(join(REPO, source), 'utf8'));
  });

  test('appVersion is the package version and the kustomize image tag', () => {
    const chart = YAML.parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'));
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
    const kustomization = YAML.parse(
      readFileSync(join(REPO, 'manifests', 'base', 'kustomization.yaml'), 'utf8'),
    );
    expect([chart.appVersion, kustomization.images[0].newTag]).toEqual([pkg.version, pkg.version]);
  });

  test.each<[string, Record<string, unknown>]>([
    [
      'patterns with metacharacters',
      {
        skipNamespaces: ['team-*', 'ab', '*-x*y'],
        exemptContainers: [
          { name: 'istio-init', image: 'docker.io/istio/proxyv2:1.2+x' },
          { name: 'debug*' },
          { image: 'ghcr.io/(x)/*' },
        ],
        capabilityCeiling: ['cap_net_raw', 'Chown', 'NET_BIND_SERVICE'],
      },
    ],
    ['empty lists', { skipNamespaces: [], exemptContainers: [], capabilityCeiling: [] }],
    [
      'any capability',
      { skipNamespaces: ['*'], exemptContainers: [], capabilityCeiling: ['NET_ADMIN', '*'] },
    ],
  ])('the guard is what guard-params writes: %s', (_what, exceptions) => {
    const objects = helmTemplate({ config: { exceptions } });
    const { metadata, ...rendered } = one(objects, 'ValidatingAdmissionPolicy');
    const { metadata: _name, ...expected } = guardPolicy('x', exceptions as any) as any;
    expect(metadata.name).toBe('pod-hardener-guard');
    expect(rendered).toEqual(expected);
    expect(find(objects, 'ConfigMap', 'pod-hardener-guard')).toEqual([]);
  });
});
