/**
 * Install by mode: the chart's `mode: policy` and the kustomize overlay manifests/overlays/policy
 * render the objects `pod-hardener policy` writes for the same configuration, and nothing of the
 * webhook; a cluster without MutatingAdmissionPolicy v1 (Kubernetes < 1.36) is refused with a
 * message that says so.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { loadPolicy } from '../../../src/cli/policy';
import { DEFAULT_POLICY, type PolicySettings } from '../../../src/config/schema';
import { mutatingPolicy } from '../../../src/policy/mutating';
import { auditPolicy } from '../../../src/policy/guard';
import { renderPolicyMode } from '../../../src/policy/render';
import { toYamlDocuments } from '../../../src/policy/documents';
import {
  BUILD_TIMEOUT_MS,
  CHART,
  goTool,
  helmTemplate,
  helmTemplateArgs,
  K8sObject,
  kustomize,
  REPO,
  run,
} from '../../support/tools';

const MAP_API = 'admissionregistration.k8s.io/v1/MutatingAdmissionPolicy';
const ON_136 = ['--kube-version', '1.36.5', '--api-versions', MAP_API];

beforeAll(() => {
  goTool('helm');
}, BUILD_TIMEOUT_MS);

const kinds = (objects: K8sObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`);
const one = (objects: K8sObject[], kind: string) => {
  const found = objects.filter((o) => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
};

describe('helm: mode policy', () => {
  test('the policy, its binding, the guard and the audit policy; no webhook, Deployment, Service or certificate', () => {
    const objects = helmTemplate({ mode: 'policy' }, { extraArgs: ON_136 });
    expect(kinds(objects).sort()).toEqual(
      [
        'MutatingAdmissionPolicy/pod-hardener',
        'MutatingAdmissionPolicyBinding/pod-hardener',
        'ValidatingAdmissionPolicy/pod-hardener-guard',
        'ValidatingAdmissionPolicyBinding/pod-hardener-guard',
        'ValidatingAdmissionPolicy/pod-hardener-audit',
        'ValidatingAdmissionPolicyBinding/pod-hardener-audit',
      ].sort(),
    );
    // The same objects as the renderer, but for the release's labels.
    const expected = renderPolicyMode(DEFAULT_POLICY) as K8sObject[];
    for (const o of objects) {
      const twin = expected.find((e) => e.kind === o.kind && e.metadata.name === o.metadata.name);
      expect(twin).toBeDefined();
      expect(o.spec).toEqual(twin!.spec);
    }
  });

  test.each<[string, Partial<PolicySettings>, Record<string, unknown>]>([
    [
      'other values and switches',
      {
        runAsUser: 2000,
        runAsGroup: 4000,
        runAsNonRoot: false,
        fsGroup: false,
        seccompProfile: false,
        unprivilegedPorts: 'never',
        userNamespaces: 'on',
      },
      {
        hardening: {
          runAsUser: 2000,
          runAsGroup: 4000,
          runAsNonRoot: false,
          fsGroup: false,
          seccompProfile: false,
          unprivilegedPorts: 'never',
          userNamespaces: 'on',
        },
      },
    ],
    [
      'exceptions with quotes and metacharacters',
      {
        capabilityCeiling: ['cap_net_raw', '*'],
        skipNamespaces: ['team-*'],
        exemptContainers: [{ name: 'istio-init', image: "docker.io/istio/proxy'v2:*" }],
      },
      {
        exceptions: {
          capabilityCeiling: ['cap_net_raw', '*'],
          skipNamespaces: ['team-*'],
          exemptContainers: [{ name: 'istio-init', image: "docker.io/istio/proxy'v2:*" }],
        },
      },
    ],
  ])('values.config is written in as the renderer writes it: %s', (_what, settings, config) => {
    const objects = helmTemplate({ mode: 'policy', config }, { extraArgs: ON_136 });
    const full = { ...DEFAULT_POLICY, ...settings };
    const [policy] = mutatingPolicy(full, { name: 'pod-hardener', namespace: 'pod-hardener' });
    expect(one(objects, 'MutatingAdmissionPolicy').spec).toEqual((policy as K8sObject).spec);
    const [audit] = auditPolicy('pod-hardener-audit', full, 'pod-hardener');
    expect(
      objects.find((o) => o.metadata.name === 'pod-hardener-audit' && !o.spec.policyName)!.spec,
    ).toEqual((audit as K8sObject).spec);
  });

  test.each([
    [
      'Kubernetes 1.35',
      ['--kube-version', '1.35.2', '--api-versions', MAP_API],
      /Kubernetes >= 1\.36.*v1\.35\.2/,
    ],
    [
      'no MutatingAdmissionPolicy v1',
      ['--kube-version', '1.36.0'],
      /needs MutatingAdmissionPolicy.*does not serve it/,
    ],
  ])('%s: refused with a clear message', (_what, args, message) => {
    const r = run(goTool('helm'), helmTemplateArgs({ mode: 'policy' }, { extraArgs: args }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  test('webhook mode (the default) renders no policy-mode object', () => {
    const objects = helmTemplate({}, { extraArgs: ON_136 });
    expect(objects.filter((o) => o.kind.startsWith('MutatingAdmissionPolicy'))).toEqual([]);
    expect(objects.some((o) => o.kind === 'Deployment')).toBe(true);
  });

  test('an unknown mode fails the schema', () => {
    const r = run(goTool('helm'), helmTemplateArgs({ mode: 'sidecar' }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/mode/);
  });
});

// POD_HARDENER_UPDATE_POLICY_FILES=1 writes both files again after a change to src/policy, the
// engine's defaults or manifests/base/config.yaml.
const UPDATE = process.env.POD_HARDENER_UPDATE_POLICY_FILES === '1';

describe('one definition', () => {
  test("the chart's files/mutating-policy.yaml is what the renderer writes for the defaults", () => {
    const path = join(CHART, 'files', 'mutating-policy.yaml');
    const expected = mutatingPolicy(DEFAULT_POLICY, {
      name: 'pod-hardener',
      namespace: 'pod-hardener',
    })[0];
    if (UPDATE) {
      const header = readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('#'))
        .join('\n');
      writeFileSync(path, `${header}\n${toYamlDocuments([expected], '').replace(/^#.*\n\n/, '')}`);
    }
    expect(YAML.parse(readFileSync(path, 'utf8'))).toEqual(expected);
  });

  test('manifests/overlays/policy is `pod-hardener policy` for manifests/base/config.yaml', () => {
    const { policy } = loadPolicy(join(REPO, 'manifests', 'base', 'config.yaml'), {}, (p) =>
      readFileSync(p, 'utf8'),
    );
    if (UPDATE)
      writeFileSync(
        join(REPO, 'manifests', 'overlays', 'policy', 'policy.yaml'),
        toYamlDocuments(
          renderPolicyMode(policy.settings),
          'pod-hardener in policy mode (Kubernetes >= 1.36), written by `pod-hardener policy` from manifests/base/config.yaml.',
        ),
      );
    const objects = kustomize(join(REPO, 'manifests', 'overlays', 'policy'));
    // kustomize orders objects by kind.
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
    const byKey = (list: K8sObject[]) => [...list].sort((a, b) => key(a).localeCompare(key(b)));
    expect(byKey(objects)).toEqual(byKey(renderPolicyMode(policy.settings) as K8sObject[]));
    expect(objects.filter((o) => ['Deployment', 'Service', 'Secret'].includes(o.kind))).toEqual([]);
  });
});
