/**
 * Install by mode: the chart's `mode: policy` and the kustomize overlay manifests/overlays/policy
 * render the objects `pod-hardener policy` writes for the same configuration, and nothing of the
 * webhook; a cluster without MutatingAdmissionPolicy v1 (Kubernetes < 1.36) is refused with a
 * message that says so.
 */
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import YAML from 'yaml';
import { DEFAULT_POLICY, type PolicySettings } from '../../../src/config/schema';
import { mutatingPolicy } from '../../../src/policy/mutating';
import { auditPolicy } from '../../../src/policy/guard';
import { renderPolicyMode } from '../../../src/policy/render';
import {
  baseSettings,
  CHART_MUTATING_POLICY,
  chartMutatingPolicy,
  OVERLAY_POLICY,
  REGENERATE_POLICY_FILES,
} from '../../support/policy-files';
import {
  BUILD_TIMEOUT_MS,
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

  test('mode both, for a switch: every webhook-mode object and the policy with its binding, not the audit policy (the webhook reports audit namespaces)', () => {
    const both = kinds(helmTemplate({ mode: 'both' }, { extraArgs: ON_136 })).sort();
    const webhook = kinds(helmTemplate({}, { extraArgs: ON_136 }));
    expect(both).toEqual(
      [
        ...webhook,
        'MutatingAdmissionPolicy/pod-hardener',
        'MutatingAdmissionPolicyBinding/pod-hardener',
      ].sort(),
    );
    // Refused where the policy cannot be installed, as mode policy is.
    const r = run(
      goTool('helm'),
      helmTemplateArgs({ mode: 'both' }, { extraArgs: ['--kube-version', '1.35.0'] }),
    );
    expect(r.stderr).toMatch(/mode: both needs/);
  });

  test('an unknown mode fails the schema', () => {
    const r = run(goTool('helm'), helmTemplateArgs({ mode: 'sidecar' }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/mode/);
  });
});

describe('one definition', () => {
  const stale = (file: string) =>
    `${file} differs from what the renderer writes; \`${REGENERATE_POLICY_FILES}\` rewrites it`;

  test("the chart's files/mutating-policy.yaml is what the renderer writes for the defaults", () => {
    const checkedIn: unknown = YAML.parse(readFileSync(CHART_MUTATING_POLICY, 'utf8'));
    if (!isDeepStrictEqual(checkedIn, chartMutatingPolicy()))
      throw new Error(stale(CHART_MUTATING_POLICY));
  });

  test('manifests/overlays/policy is `pod-hardener policy` for manifests/base/config.yaml', () => {
    const rendered = renderPolicyMode(baseSettings()) as K8sObject[];
    const checkedIn = YAML.parseAllDocuments(readFileSync(OVERLAY_POLICY, 'utf8')).map(
      (d) => d.toJS() as unknown,
    );
    if (!isDeepStrictEqual(checkedIn, rendered)) throw new Error(stale(OVERLAY_POLICY));
    const objects = kustomize(join(REPO, 'manifests', 'overlays', 'policy'));
    // kustomize orders objects by kind.
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
    const byKey = (list: K8sObject[]) => [...list].sort((a, b) => key(a).localeCompare(key(b)));
    expect(byKey(objects)).toEqual(byKey(rendered));
    expect(objects.filter((o) => ['Deployment', 'Service', 'Secret'].includes(o.kind))).toEqual([]);
  });
});
