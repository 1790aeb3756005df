/**
 * One source for defaults: the names, ports, paths and lifetimes that the code defaults to
 * (DEFAULT_CONFIG in src/config/schema.ts) are the ones the shipped manifests, the chart, the
 * documentation (README.md, docs/) and the shipped config.yaml use. An operator who replaces the
 * ConfigMap with a minimal configuration must still get the Secret the RBAC allows, the ports the
 * Deployment exposes and the webhook configuration the ClusterRole may patch. (examples/config.yaml is pinned to the
 * defaults by example.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { loadConfig } from '../../../src/config/load';
import { DEFAULT_CONFIG } from '../../../src/config/schema';
import {
  BUILD_TIMEOUT_MS,
  goTool,
  helmTemplate,
  K8sObject,
  kubectl,
  kustomize,
  REPO,
} from '../../support/tools';
import { readDoc, section } from '../../support/markdown';

const D = DEFAULT_CONFIG;
const sm = D.certificates.selfManaged;
/** The namespace every install path uses; the code takes it from the downward API. */
const NAMESPACE = 'pod-hardener';
/** The kubernetes.io/tls Secret of the cert-manager and manual paths. */
const TLS_SECRET = 'pod-hardener-tls';

const one = (objects: K8sObject[], kind: string, name?: string): K8sObject => {
  const found = objects.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
};

/** What every rendering (kustomize overlay or chart mode) must agree on with the defaults. */
function checkInstall(objects: K8sObject[], mode: 'self-managed' | 'files'): void {
  for (const o of objects)
    if (o.metadata.namespace !== undefined)
      expect([o.kind, o.metadata.name, o.metadata.namespace]).toEqual([
        o.kind,
        o.metadata.name,
        NAMESPACE,
      ]);
  const deployment = one(objects, 'Deployment');
  const container = deployment.spec.template.spec.containers[0];
  const ports = Object.fromEntries(container.ports.map((p: any) => [p.name, p.containerPort]));
  expect(ports).toEqual({ https: D.server.port, metrics: D.server.metricsPort });
  const service = one(objects, 'Service', sm.serviceName);
  expect(service.spec.ports.find((p: any) => p.name === 'metrics').port).toBe(D.server.metricsPort);
  const tlsMount = container.volumeMounts.find((m: any) => m.name === 'tls');
  expect(tlsMount.mountPath).toBe(D.certificates.directory);

  const mwc = one(objects, 'MutatingWebhookConfiguration', sm.webhookConfigurationName);
  for (const w of mwc.webhooks) {
    expect(w.clientConfig.service).toMatchObject({ name: sm.serviceName, namespace: NAMESPACE });
    expect(
      w.namespaceSelector.matchExpressions.find((e: any) => e.operator === 'NotIn').values,
    ).toEqual(['kube-system', NAMESPACE]);
  }
  const binding = one(objects, 'ValidatingAdmissionPolicyBinding');
  // The guard's parameters are written into it: nothing for the API server to look up.
  expect(binding.spec.paramRef).toBeUndefined();
  expect(one(objects, 'ValidatingAdmissionPolicy').spec.paramKind).toBeUndefined();

  const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
  if (mode === 'self-managed') {
    expect(env.POD_HARDENER_CERT_SOURCE).toBe('self-managed');
    expect(one(objects, 'Secret').metadata.name).toBe(sm.secretName);
    expect(one(objects, 'Role').rules[0].resourceNames).toEqual([sm.secretName]);
    expect(one(objects, 'ClusterRole').rules[0].resourceNames).toEqual([
      sm.webhookConfigurationName,
    ]);
  } else {
    expect(env).toMatchObject({
      POD_HARDENER_CERT_SOURCE: 'files',
      POD_HARDENER_TLS_CERT_FILE: `${D.certificates.directory}/tls.crt`,
      POD_HARDENER_TLS_KEY_FILE: `${D.certificates.directory}/tls.key`,
    });
    expect(
      deployment.spec.template.spec.volumes.find((v: any) => v.name === 'tls').secret.secretName,
    ).toBe(TLS_SECRET);
  }
  // The ConfigMap states the defaults: loading it gives exactly what no file gives.
  const configMap = objects.find(
    (o) => o.kind === 'ConfigMap' && o.data?.['config.yaml'] !== undefined,
  )!;
  const shipped = loadConfig({
    argv: ['--config', 'config.yaml'],
    env: { POD_HARDENER_CERT_SOURCE: 'self-managed', POD_HARDENER_NAMESPACE: NAMESPACE },
    readFile: () => configMap.data['config.yaml'],
  });
  const builtIn = loadConfig({
    argv: [],
    env: { POD_HARDENER_CERT_SOURCE: 'self-managed', POD_HARDENER_NAMESPACE: NAMESPACE },
    readFile: () => '',
  });
  expect(shipped.config).toEqual(builtIn.config);
}

/** The cert-manager serving certificate lives as long as a self-managed one. */
function checkCertManager(objects: K8sObject[]): void {
  const serving = one(objects, 'Certificate', 'pod-hardener-serving');
  expect(serving.spec).toMatchObject({
    secretName: TLS_SECRET,
    duration: `${sm.validityDays * 24}h`,
    renewBefore: `${sm.renewBeforeDays * 24}h`,
  });
  expect(serving.spec.dnsNames).toEqual([
    `${sm.serviceName}.${NAMESPACE}.svc`,
    `${sm.serviceName}.${NAMESPACE}.svc.cluster.local`,
  ]);
  expect(
    one(objects, 'MutatingWebhookConfiguration').metadata.annotations[
      'cert-manager.io/inject-ca-from'
    ],
  ).toBe(`${NAMESPACE}/pod-hardener-serving`);
}

beforeAll(() => {
  goTool('helm');
  kubectl();
}, BUILD_TIMEOUT_MS);

describe('the defaults in the code are the ones every install path uses', () => {
  test('kustomize: manifests/ (self-managed)', () =>
    checkInstall(kustomize(join(REPO, 'manifests')), 'self-managed'));
  test('kustomize: cert-manager overlay', () => {
    const objects = kustomize(join(REPO, 'manifests', 'overlays', 'cert-manager'));
    checkInstall(objects, 'files');
    checkCertManager(objects);
  });
  test('kustomize: manual overlay', () =>
    checkInstall(kustomize(join(REPO, 'manifests', 'overlays', 'manual')), 'files'));
  test('chart: default values (self-managed)', () => checkInstall(helmTemplate(), 'self-managed'));
  test('chart: cert-manager', () => {
    const objects = helmTemplate({ certificates: { mode: 'cert-manager' } });
    checkInstall(objects, 'files');
    checkCertManager(objects);
  });
  test('chart: manual', () =>
    checkInstall(helmTemplate({ certificates: { mode: 'manual' } }), 'files'));

  test('the chart states the same lifetimes as the code', () => {
    const values = YAML.parse(
      readFileSync(join(REPO, 'charts', 'pod-hardener', 'values.yaml'), 'utf8'),
    );
    expect(values.config.certificates.selfManaged).toEqual({
      validityDays: sm.validityDays,
      renewBeforeDays: sm.renewBeforeDays,
      checkIntervalSeconds: sm.checkIntervalSeconds,
    });
    expect(values.certificates.certManager).toMatchObject({
      duration: `${sm.validityDays * 24}h`,
      renewBefore: `${sm.renewBeforeDays * 24}h`,
    });
  });
});

/** Where the documentation states the defaults: every key, the README's short list, certificates. */
const CONFIGURATION_DOC = 'docs/configuration.md';
const README = 'README.md';
const CERTIFICATES_DOC = 'docs/operations.md';

describe('the documentation states the defaults of the code', () => {
  // Rows whose default is explained in words rather than stated as a value, and why.
  const DESCRIBED: Record<string, string> = {
    'exceptions.capabilityCeiling': 'a list of 14 names, summarised',
    'certificates.source': 'depends on whether certFile/keyFile are set',
    'certificates.certFile': 'no default',
    'certificates.keyFile': 'no default',
    'certificates.selfManaged.namespace': 'from POD_HARDENER_NAMESPACE',
    'imageIdentity.credentialsFile': 'no default',
  };

  /** The `| key | default | ...` rows of a table, `a / b` cells spread over their keys. */
  const rowsOf = (text: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .flatMap((line) => {
        const [keys, defaults] = line.split(' | ').map((cell) => cell.replace(/^\| /, ''));
        const names = keys.split(' / ').map((k) => k.replace(/`/g, ''));
        const parent = names[0].split('.').slice(0, -1).join('.');
        const values = defaults.split(' / ');
        return names.map((name, i) => ({
          key: i === 0 ? name : `${parent}.${name}`,
          cell: (values.length === names.length ? values[i] : defaults).trim(),
        }));
      });
  const everyKey = rowsOf(section(readDoc(CONFIGURATION_DOC), 'Every key', CONFIGURATION_DOC));
  const mostUsed = rowsOf(section(readDoc(README), 'Most-used settings', README));

  const valueAt = (key: string): unknown =>
    key.split('.').reduce<any>((node, part) => node?.[part], D);
  const parseCell = (cell: string): unknown => {
    const text = cell.replace(/`/g, '');
    if (text.startsWith('[')) return JSON.parse(text);
    if (text === 'true' || text === 'false') return text === 'true';
    return /^\d+$/.test(text) ? Number(text) : text;
  };
  const expectDefaults = (rows: Array<{ key: string; cell: string }>) => {
    for (const { key, cell } of rows.filter((r) => !(r.key in DESCRIBED)))
      expect({ key, default: parseCell(cell) }).toEqual({ key, default: valueAt(key) });
  };

  test(`every configuration key has a row in ${CONFIGURATION_DOC}`, () => {
    const leaves: string[] = [];
    const walk = (node: Record<string, unknown>, path: string[]) => {
      for (const [k, v] of Object.entries(node)) {
        if (v !== null && typeof v === 'object' && !Array.isArray(v))
          walk(v as Record<string, unknown>, [...path, k]);
        else leaves.push([...path, k].join('.'));
      }
    };
    walk(D, []);
    expect(leaves.filter((k) => !everyKey.some((r) => r.key === k))).toEqual([]);
  });

  test(`each row of ${CONFIGURATION_DOC} states the default value of the code`, () => {
    expect(everyKey.filter((r) => !(r.key in DESCRIBED)).length).toBeGreaterThan(20);
    expectDefaults(everyKey);
  });

  test(`the most-used settings of ${README} are keys, with the defaults of the code`, () => {
    expect(mostUsed.length).toBeGreaterThanOrEqual(5);
    expect(mostUsed.filter((r) => !everyKey.some((e) => e.key === r.key))).toEqual([]);
    expectDefaults(mostUsed);
  });

  test('the self-managed section names the default Secret and lifetime', () => {
    const selfManaged = section(
      readDoc(CERTIFICATES_DOC),
      'Self-managed certificates',
      CERTIFICATES_DOC,
    );
    expect(selfManaged).toContain(`Secret \`${sm.secretName}\``);
    expect(selfManaged).toContain(`\`validityDays: ${sm.validityDays}\``);
    expect(selfManaged).toContain(`\`renewBeforeDays: ${sm.renewBeforeDays}\``);
  });
});
