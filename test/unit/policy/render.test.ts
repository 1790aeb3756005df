/**
 * The policy-mode renderer's shape: what it renders for a configuration, which rules each
 * setting turns on or off, how settings enter the CEL (as literals that cannot be read as CEL),
 * and the CLI subcommand. Whether the CEL hardens pods as the engine does is decided on a real
 * kube-apiserver (test/e2e/policy-differential.e2e.test.ts): no model of CEL here.
 */
import YAML from 'yaml';
import { main, type Io } from '../../../src/cli/main';
import { DEFAULT_POLICY, type PolicySettings } from '../../../src/config/schema';
import { Labels } from '../../../src/names';
import { celString, globExpression } from '../../../src/policy/cel';
import { checkCluster } from '../../../src/policy/cluster-check';
import { mutations } from '../../../src/policy/mutating';
import { renderPolicyMode } from '../../../src/policy/render';

const settings = (over: Partial<PolicySettings> = {}): PolicySettings => ({
  ...DEFAULT_POLICY,
  ...over,
});

/** Every CEL expression of the rendered objects. */
function expressions(objects: object[]): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v))
        if ((k === 'expression' || k === 'messageExpression') && typeof x === 'string') out.push(x);
        else walk(x);
  };
  walk(objects);
  return out;
}

/** Reads a CEL string literal back (the escapes celString writes). */
function readCelString(literal: string): string {
  expect(literal.startsWith("'") && literal.endsWith("'")).toBe(true);
  return literal
    .slice(1, -1)
    .replace(/\\(x[0-9a-f]{2}|.)/g, (_, e: string) =>
      e.startsWith('x') && e.length === 3 ? String.fromCharCode(parseInt(e.slice(1), 16)) : e,
    );
}

describe('renderPolicyMode', () => {
  const objects = renderPolicyMode(settings()) as any[];
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);

  test('the mutating policy and its binding, the guard and the audit policy, each bound', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'MutatingAdmissionPolicy/pod-hardener',
      'MutatingAdmissionPolicyBinding/pod-hardener',
      'ValidatingAdmissionPolicy/pod-hardener-guard',
      'ValidatingAdmissionPolicyBinding/pod-hardener-guard',
      'ValidatingAdmissionPolicy/pod-hardener-audit',
      'ValidatingAdmissionPolicyBinding/pod-hardener-audit',
    ]);
    for (const o of objects) expect(o.apiVersion).toBe('admissionregistration.k8s.io/v1');
    const [mutatingBinding, guardBinding, auditBinding] = [
      ...byKind('MutatingAdmissionPolicyBinding'),
      ...byKind('ValidatingAdmissionPolicyBinding'),
    ];
    const selector = (value: string) => ({
      matchExpressions: [
        { key: Labels.enabled, operator: 'In', values: [value] },
        {
          key: 'kubernetes.io/metadata.name',
          operator: 'NotIn',
          values: ['kube-system', 'pod-hardener'],
        },
      ],
    });
    expect(mutatingBinding.spec.matchResources.namespaceSelector).toEqual(selector('true'));
    expect(guardBinding.spec).toMatchObject({
      validationActions: ['Deny'],
      matchResources: { namespaceSelector: selector('true') },
    });
    expect(auditBinding.spec).toMatchObject({
      validationActions: ['Warn', 'Audit'],
      matchResources: { namespaceSelector: selector('audit') },
    });
  });

  test('the webhook namespace given is the one excluded, and names take the prefix', () => {
    const o = renderPolicyMode(settings(), { namespace: 'security', name: 'ph' }) as any[];
    expect(o.map((x) => x.metadata.name)).toEqual([
      'ph',
      'ph',
      'ph-guard',
      'ph-guard',
      'ph-audit',
      'ph-audit',
    ]);
    expect(o[1].spec.matchResources.namespaceSelector.matchExpressions[1].values).toEqual([
      'kube-system',
      'security',
    ]);
  });

  test('no parameter object anywhere: every setting is a literal in the policies', () => {
    for (const o of objects) {
      expect(o.spec.paramKind).toBeUndefined();
      expect(o.spec.paramRef).toBeUndefined();
    }
    expect(expressions(objects).filter((e) => e.includes('params'))).toEqual([]);
  });

  test('no Object initializer in any mutation (one nested in a list or map crashed kube-apiserver)', () => {
    expect(expressions(objects).filter((e) => /\bObject\s*\./.test(e))).toEqual([]);
  });

  test('pod CREATE and pods/ephemeralcontainers UPDATE only, failing closed, reinvoked', () => {
    const [policy] = byKind('MutatingAdmissionPolicy');
    expect(policy.spec).toMatchObject({ failurePolicy: 'Fail', reinvocationPolicy: 'IfNeeded' });
    expect(
      policy.spec.matchConstraints.resourceRules.map(
        (r: any) => `${r.operations.join()} ${r.resources.join()}`,
      ),
    ).toEqual(['CREATE pods', 'UPDATE pods/ephemeralcontainers']);
    expect(policy.spec.mutations.every((m: any) => m.patchType === 'JSONPatch')).toBe(true);
  });
});

describe('the settings are the first variables; the mutations are the same text', () => {
  const variable = (over: Partial<PolicySettings>, name: string): string =>
    (renderPolicyMode(settings(over))[0] as any).spec.variables.find((v: any) => v.name === name)
      .expression;

  test('every rule, in the engine order, whatever the settings', () => {
    const order = mutations().map((m) => m.rule);
    expect(order).toEqual([
      'scaffold',
      'runAsUser',
      'runAsGroup',
      'runAsNonRoot',
      'fsGroup',
      'supplementalGroups',
      'privileged',
      'capabilities',
      'allowPrivilegeEscalation',
      'seccompProfile',
      'unprivilegedPorts',
      'userNamespaces',
      'confinement',
    ]);
    const text = (over: Partial<PolicySettings>) =>
      (renderPolicyMode(settings(over))[0] as any).spec.mutations;
    expect(text({ runAsUser: 5, fsGroup: false, userNamespaces: 'on' })).toEqual(text({}));
  });

  test.each<[string, Partial<PolicySettings>, string]>([
    ['runAsUser', { runAsUser: 4242 }, '4242'],
    ['runAsGroup', { runAsGroup: 5353 }, '5353'],
    ['runAsNonRoot', { runAsNonRoot: false }, 'false'],
    ['fsGroup', { fsGroup: false }, 'false'],
    ['seccompProfile', { seccompProfile: false }, 'false'],
    ['unprivilegedPorts', { unprivilegedPorts: 'never' }, 'false'],
    ['unprivilegedPorts', { unprivilegedPorts: 'auto' }, 'true'],
    ['userNamespaces', { userNamespaces: 'on' }, 'true'],
    ['userNamespaces', { userNamespaces: 'off' }, 'false'],
    ['capabilityCeiling', { capabilityCeiling: ['cap_net_raw', 'Chown'] }, "'NET_RAW|CHOWN'"],
    ['capabilityCeiling', { capabilityCeiling: ['NET_RAW', '*'] }, "'.*'"],
    ['capabilityCeiling', { capabilityCeiling: [] }, "''"],
    ['skipNamespaces', { skipNamespaces: [] }, "''"],
    ['skipNamespaces', { skipNamespaces: ['*'] }, "'.*'"],
    ['skipNamespaces', { skipNamespaces: ['team-*', 'legacy'] }, "'team-.*|legacy'"],
    ['exemptContainers', { exemptContainers: [{ name: 'istio-init' }] }, "'istio-init=.*'"],
  ])('%s: %j', (name, over, expression) => {
    expect(variable(over, name)).toBe(expression);
  });

  test('the fixed values are the variables, not numbers written into a rule', () => {
    const m = mutations();
    const of = (rule: string) => m.find((x) => x.rule === rule)!.expression;
    expect(of('runAsUser')).toMatch(/value: variables\.runAsUser\b/);
    expect(of('runAsGroup')).toMatch(/value: variables\.runAsGroup\b/);
    expect(m.map((x) => x.expression).join('\n')).not.toMatch(/\b(1000|3000)\b/);
    expect(of('seccompProfile')).toMatch(
      /^variables\.skipped \|\| !variables\.seccompProfile \? \[\]/,
    );
    // fsGroup 0 is replaced whatever the fsGroup setting: the setting is read inside.
    expect(of('fsGroup')).toMatch(/^variables\.skipped \? \[\]/);
    expect(of('fsGroup')).toMatch(/variables\.fsGroup && /);
  });
});

describe('settings enter the CEL as literals', () => {
  test.each(["it's", 'back\\slash', "'); true || ('", 'tab\there', 'ünïcode'])(
    'celString reads back as the same string: %j',
    (text) => {
      const literal = celString(text);
      // Nothing but escaped characters between the quotes: no quote ends the literal early.
      expect(literal.slice(1, -1)).not.toMatch(/(^|[^\\])(\\\\)*'/);
      expect(readCelString(literal)).toBe(text);
    },
  );

  test('an exempt image pattern with quotes and metacharacters stays one literal', () => {
    const policy = renderPolicyMode(
      settings({ exemptContainers: [{ name: 'init', image: "evil.io/x'+(true)*:1" }] }),
    )[0] as any;
    const literal = policy.spec.variables.find(
      (v: any) => v.name === 'exemptContainers',
    ).expression;
    const pattern = `^(?:${readCelString(literal)})$`;
    expect(readCelString(literal)).toBe(`init=${globExpression("evil.io/x'+(true)*:1")}`);
    expect(new RegExp(pattern).test("init=evil.io/x'+(true)anything:1")).toBe(true);
    expect(new RegExp(pattern).test("init=evilxio/x'+(true):1")).toBe(false);
  });
});

describe('checkCluster', () => {
  const served = {
    resources: [
      { name: 'mutatingadmissionpolicies' },
      { name: 'mutatingadmissionpolicybindings' },
      { name: 'validatingadmissionpolicies' },
    ],
  };
  const api =
    (version: unknown, discovery: unknown): ((path: string) => Promise<unknown>) =>
    (path) =>
      path === '/version'
        ? Promise.resolve(version)
        : discovery instanceof Error
          ? Promise.reject(discovery)
          : Promise.resolve(discovery);

  test('1.36 serving the API: ok', async () => {
    const r = await checkCluster(api({ major: '1', minor: '36', gitVersion: 'v1.36.5' }, served));
    expect(r).toMatchObject({ ok: true, version: 'v1.36.5' });
  });

  test('1.35: refused, saying what is needed and what to install instead', async () => {
    const r = await checkCluster(
      api({ major: '1', minor: '35', gitVersion: 'v1.35.2' }, { resources: [] }),
    );
    expect(r.ok).toBe(false);
    expect(r.lines[0]).toMatch(/v1\.35\.2 is older than 1\.36.*install the webhook/);
  });

  test('a provider minor such as "36+" counts as 36', async () => {
    const r = await checkCluster(
      api({ major: '1', minor: '36+', gitVersion: 'v1.36.1-eks-1' }, served),
    );
    expect(r.ok).toBe(true);
  });

  test('1.36 with the API turned off: refused', async () => {
    const r = await checkCluster(
      api(
        { major: '1', minor: '36', gitVersion: 'v1.36.0' },
        { resources: served.resources.slice(2) },
      ),
    );
    expect(r.ok).toBe(false);
    expect(r.lines.join('\n')).toMatch(
      /does not serve mutatingadmissionpolicies, mutatingadmissionpolicybindings/,
    );
  });

  test('discovery failing: refused with the reason', async () => {
    const r = await checkCluster(
      api({ major: '1', minor: '36', gitVersion: 'v1.36.0' }, new Error('404 not found')),
    );
    expect(r.ok).toBe(false);
    expect(r.lines.join('\n')).toMatch(/discovery .* failed: 404 not found/);
  });
});

describe('pod-hardener policy', () => {
  function io(files: Record<string, string> = {}): Io & { out: string; err: string } {
    const o = {
      out: '',
      err: '',
      stdout: (t: string) => void (o.out += t),
      stderr: (t: string) => void (o.err += t),
      readStdin: () => Promise.resolve(''),
      env: {},
      readFile: (p: string) => {
        if (!(p in files)) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
        return files[p];
      },
      writeFile: () => undefined,
      stderrIsTTY: false,
      now: () => 0,
    };
    return o;
  }

  test('prints the six objects as YAML for the configuration given', async () => {
    const o = io({ 'c.yaml': 'hardening:\n  runAsUser: 4242\n' });
    expect(await main(['policy', '--config', 'c.yaml', '-n', 'security'], o)).toBe(0);
    const docs = YAML.parseAllDocuments(o.out).map((d) => d.toJS());
    expect(docs).toEqual(
      renderPolicyMode(settings({ runAsUser: 4242 }), { namespace: 'security' }),
    );
    expect(o.out).toMatch(/^# pod-hardener in policy mode .* from c\.yaml/);
  });

  test('an invalid configuration: exit 2 with the path of the error', async () => {
    const o = io({ 'c.yaml': 'hardening:\n  runAsUser: 0\n' });
    expect(await main(['policy', '--config', 'c.yaml'], o)).toBe(2);
    expect(o.err).toMatch(/hardening\.runAsUser/);
  });
});
