/**
 * The Helm chart installs the same objects as the kustomize manifests: rendered with default
 * values (release pod-hardener in namespace pod-hardener) it is compared, object by object, with
 * `kubectl kustomize manifests/`, and each certificate mode and optional part with its overlay or
 * component. The only differences allowed are the ones listed in DIFFERENCES, each with the
 * reason the chart does it otherwise (docs/helm.md repeats them for users).
 */
import YAML from 'yaml';
import {
  BUILD_TIMEOUT_MS,
  goTool,
  helmTemplate,
  K8sObject,
  kubectl,
  kustomize,
  kustomizeWith,
  objectKey,
  REPO,
} from '../../support/tools';
import { join } from 'node:path';

interface Difference {
  what: string;
  why: string;
  /** Brings both renderings to common ground for this one difference, in place. */
  normalize(kustomized: K8sObject[], charted: K8sObject[]): K8sObject[][];
}

const HELM_LABELS = [
  'helm.sh/chart',
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/managed-by',
];
const INSTANCE = 'app.kubernetes.io/instance';
const CONFIG_HASH = /^(pod-hardener-config)-[a-z0-9]{10}$/;

/** Every object of a rendering, and every nested value, depth first. */
function visit(value: unknown, fn: (node: Record<string, any>, key: string) => void): void {
  if (Array.isArray(value)) value.forEach((v) => visit(v, fn));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) fn(v, k);
      visit(v, fn);
    }
  }
}

const podSpec = (o: K8sObject) => (o.kind === 'Deployment' ? o.spec.template.spec : undefined);

export const DIFFERENCES: Difference[] = [
  {
    what: 'no Namespace object',
    why:
      'Helm stores the release in its namespace before it creates any object, so the namespace must exist first ' +
      '(`helm install --create-namespace`); a chart-owned Namespace would also take everything else in it on `helm uninstall`',
    normalize: (k, c) => [k.filter((o) => o.kind !== 'Namespace'), c],
  },
  {
    what: "Helm's standard labels on every object",
    why:
      'the chart labels every object with helm.sh/chart, app.kubernetes.io/{name,instance,version,part-of,managed-by}, ' +
      "as Helm charts do; kustomize's labels reach only the base's objects",
    normalize: (k, c) => {
      for (const o of [...k, ...c]) {
        for (const key of HELM_LABELS) delete o.metadata.labels?.[key];
        if (o.metadata.labels && Object.keys(o.metadata.labels).length === 0)
          delete o.metadata.labels;
      }
      return [k, c];
    },
  },
  {
    what: 'app.kubernetes.io/instance in selectors and pod labels',
    why: "so that two releases (in two namespaces) never select each other's pods",
    normalize: (k, c) => {
      for (const o of c) {
        visit(o.spec, (node, key) => {
          if (
            key === 'matchLabels' ||
            key === 'labels' ||
            (key === 'selector' && o.kind === 'Service')
          )
            delete node[INSTANCE];
        });
      }
      return [k, c];
    },
  },
  {
    what: 'ConfigMap pod-hardener-config without a content hash, and a checksum/config pod annotation',
    why:
      "kustomize's configMapGenerator hashes the name so that an edit rolls the Deployment; Helm has no generator, " +
      'so the chart keeps the name and rolls the Deployment through a checksum of config.yaml in the pod template',
    normalize: (k, c) => {
      for (const o of k) {
        if (o.kind === 'ConfigMap' && CONFIG_HASH.test(o.metadata.name))
          o.metadata.name = o.metadata.name.replace(CONFIG_HASH, '$1');
        for (const v of podSpec(o)?.volumes ?? [])
          if (v.configMap && CONFIG_HASH.test(v.configMap.name))
            v.configMap.name = v.configMap.name.replace(CONFIG_HASH, '$1');
      }
      for (const o of c) {
        const template = o.kind === 'Deployment' ? o.spec.template.metadata : undefined;
        if (template?.annotations) {
          delete template.annotations['checksum/config'];
          if (Object.keys(template.annotations).length === 0) delete template.annotations;
        }
      }
      return [k, c];
    },
  },
  {
    what: 'config.yaml compared as YAML, not as text',
    why: "values.config is rendered with toYaml: the same keys and values, without manifests/base/config.yaml's comments",
    normalize: (k, c) => {
      for (const o of [...k, ...c])
        if (o.kind === 'ConfigMap' && o.data?.['config.yaml'] !== undefined)
          o.data['config.yaml'] = YAML.parse(o.data['config.yaml']);
      return [k, c];
    },
  },
  {
    what: 'env, volumeMounts and volumes compared by name, not by position',
    why: "kustomize's strategic-merge patches (the self-managed overlay's) move the entries they touch to the front; the order has no meaning here",
    normalize: (k, c) => {
      const byName = (list: { name: string }[] | undefined) =>
        list?.sort((a, b) => a.name.localeCompare(b.name));
      for (const o of [...k, ...c]) {
        const spec = podSpec(o);
        if (!spec) continue;
        byName(spec.volumes);
        for (const container of spec.containers) {
          byName(container.env);
          byName(container.volumeMounts);
        }
      }
      return [k, c];
    },
  },
];

function normalized(
  kustomized: K8sObject[],
  charted: K8sObject[],
): [Map<string, K8sObject>, Map<string, K8sObject>] {
  let [k, c] = [structuredClone(kustomized), structuredClone(charted)];
  for (const d of DIFFERENCES) [k, c] = d.normalize(k, c) as [K8sObject[], K8sObject[]];
  const index = (objects: K8sObject[]) => new Map(objects.map((o) => [objectKey(o), o]));
  return [index(k), index(c)];
}

function expectSameObjects(kustomized: K8sObject[], charted: K8sObject[]): void {
  const [k, c] = normalized(kustomized, charted);
  expect([...c.keys()].sort()).toEqual([...k.keys()].sort());
  for (const [key, object] of k) expect({ key, object: c.get(key) }).toEqual({ key, object });
}

beforeAll(() => {
  goTool('helm');
  kubectl();
}, BUILD_TIMEOUT_MS);

describe('the chart renders what kustomize renders', () => {
  test('default values = manifests/ (self-managed certificates, the guard)', () => {
    const kustomized = kustomize(join(REPO, 'manifests'));
    expect(kustomized.length).toBeGreaterThan(10);
    expectSameObjects(kustomized, helmTemplate());
  });

  test.each([
    ['cert-manager', 'overlays/cert-manager'],
    ['manual', 'overlays/manual'],
  ])('certificates.mode %s = manifests/%s', (mode, overlay) => {
    expectSameObjects(
      kustomize(join(REPO, 'manifests', overlay)),
      helmTemplate({ certificates: { mode } }),
    );
  });

  test('monitoring and networkPolicy = the monitoring and network-policy components', () => {
    const kustomized = kustomizeWith('overlays/self-managed', ['monitoring', 'network-policy']);
    const kinds = kustomized.map((o) => o.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['ServiceMonitor', 'PrometheusRule', 'NetworkPolicy']),
    );
    expectSameObjects(
      kustomized,
      helmTemplate({
        monitoring: {
          serviceMonitor: { enabled: true },
          prometheusRule: { enabled: true },
          grafanaDashboard: { enabled: true },
        },
        networkPolicy: { enabled: true },
      }),
    );
  });

  test('every difference is needed: without its normalisation the comparison fails', () => {
    // A difference that no longer exists must leave the list (and docs/helm.md).
    const kustomized = kustomizeWith('overlays/self-managed', ['monitoring', 'network-policy']);
    const charted = helmTemplate({
      monitoring: {
        serviceMonitor: { enabled: true },
        prometheusRule: { enabled: true },
        grafanaDashboard: { enabled: true },
      },
      networkPolicy: { enabled: true },
    });
    for (const skipped of DIFFERENCES) {
      let [k, c] = [structuredClone(kustomized), structuredClone(charted)];
      for (const d of DIFFERENCES)
        if (d !== skipped) [k, c] = d.normalize(k, c) as [K8sObject[], K8sObject[]];
      expect({
        difference: skipped.what,
        same: JSON.stringify(sortKeys(k)) === JSON.stringify(sortKeys(c)),
      }).toEqual({ difference: skipped.what, same: false });
    }
  });

  test('every chart object carries the standard labels of its release', () => {
    for (const o of helmTemplate(
      {
        certificates: { mode: 'cert-manager' },
        monitoring: {
          serviceMonitor: { enabled: true },
          prometheusRule: { enabled: true },
          grafanaDashboard: { enabled: true },
        },
        networkPolicy: { enabled: true },
      },
      { release: 'ph' },
    )) {
      expect({ key: objectKey(o), labels: o.metadata.labels }).toEqual({
        key: objectKey(o),
        labels: expect.objectContaining({
          'app.kubernetes.io/name': 'pod-hardener',
          'app.kubernetes.io/instance': 'ph',
          'app.kubernetes.io/managed-by': 'Helm',
          'helm.sh/chart': 'pod-hardener-0.1.0',
        }),
      });
    }
  });
});

/** Objects sorted by identity, keys sorted, so that two renderings compare as text. */
function sortKeys(objects: K8sObject[]): unknown {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, x]) => [k, sort(x)]),
          )
        : v;
  return [...objects].sort((a, b) => objectKey(a).localeCompare(objectKey(b))).map(sort);
}

test('guard.keepOnUninstall marks the guard and only the guard for Helm to keep', () => {
  const kept = (values: Record<string, unknown>) =>
    helmTemplate(values)
      .filter((o) => o.metadata.annotations?.['helm.sh/resource-policy'] === 'keep')
      .map(objectKey)
      .sort();
  expect(kept({})).toEqual([]);
  expect(kept({ guard: { keepOnUninstall: true } })).toEqual(
    helmTemplate({})
      .filter(
        (o) =>
          /^ValidatingAdmissionPolicy(Binding)?$/.test(o.kind) && /guard/.test(o.metadata.name),
      )
      .map(objectKey)
      .sort(),
  );
  expect(kept({ guard: { keepOnUninstall: true } })).toHaveLength(2);
});
