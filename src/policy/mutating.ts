/**
 * The hardening of engine/rules as a MutatingAdmissionPolicy: the same rules, in the same order,
 * written in CEL for kube-apiserver to run in process.
 *
 * How it is built, and why:
 * - One JSONPatch mutation per rule, in the engine's order. kube-apiserver applies the mutations
 *   of a policy in order, each to the object the previous one left (and defaulted), so a later
 *   rule sees what an earlier one did, as in the engine's chain. Variables are evaluated per
 *   mutation, on that mutation's object.
 * - JSONPatch, not ApplyConfiguration: capabilities.add and drop are atomic lists, which an
 *   apply configuration can only replace whole, and it cannot remove a field.
 * - No Object initializer (`Object.spec...{}`) anywhere: values are scalars, lists of scalars and
 *   map literals. An initializer nested inside a list or map has crashed kube-apiserver; a map
 *   literal is plain JSON to it.
 * - On the pods/ephemeralcontainers subresource the API server keeps only
 *   spec.ephemeralContainers of the request, so annotations and pod-level fields are read from
 *   oldObject (`variables.src`); only the ephemeral containers the request adds change.
 * - Mirror pods and Windows pods never reach a mutation (matchConditions); a pod whose skip
 *   annotation the operator honours gets none (variables.skipped).
 * - Every setting is a variable at the top (params.ts), and each rule a setting turns off is a
 *   mutation that yields nothing: the mutations are the same text for every configuration.
 */
import { Annotations, LabelValues } from '../names';
import { MAX_USERNS_ID, type PolicySettings } from '../engine/policy';
import { CONFINED_SELINUX_TYPES } from '../engine/rules/confinement';
import { READ_ONLY_KINDS } from '../engine/rules/fs-group';
import { UNPRIVILEGED_PORT_SYSCTL } from '../engine/rules/unprivileged-ports';
import { IDMAPPABLE_VOLUMES } from '../engine/rules/user-namespaces';
import { bind, celString, celStrings, getOr, hasPath, normalizedCapability } from './cel';
import { POLICY_API_VERSION, namespaceSelector } from './objects';
import { settingsVariables } from './params';

/** Operator settings the policy needs beyond the engine's (named by the namespace it runs in). */
export interface RenderOptions {
  /** Name of every object rendered (policies and bindings). */
  name: string;
  /** The webhook's namespace, excluded like kube-system. */
  namespace: string;
}

// The engine's own lists, so the policy cannot drift from it (the differential test would show it).
export { UNPRIVILEGED_PORT_SYSCTL };
const WRITABLE_EXCEPT = READ_ONLY_KINDS;
const IDMAPPABLE = [...IDMAPPABLE_VOLUMES];
const SELINUX_TYPES = [...CONFINED_SELINUX_TYPES];
const LISTS = ['containers', 'initContainers', 'ephemeralContainers'] as const;

/** The object annotations and pod-level fields are read from (see the header). */
const SRC = 'variables.src';
const POD_SC = `${SRC}.spec.securityContext`;

const patch = (op: string, path: string, value?: string): string =>
  value === undefined
    ? `JSONPatch{op: ${celString(op)}, path: ${path}}`
    : `JSONPatch{op: ${celString(op)}, path: ${path}, value: ${value}}`;

/**
 * For each container of every list that this request hardens: `body`, a list of JSONPatch in
 * which `c` is the container and `p` its JSON Pointer (`/spec/containers/0`).
 */
function perTarget(body: string): string {
  return perContainer('c.name in variables.targetNames', body);
}

/** As perTarget, for each container for which `which` (CEL on `c`) holds. */
function perContainer(which: string, body: string): string {
  return LISTS.map(
    (list) =>
      `(has(object.spec.${list}) ? object.spec.${list}.transformList(i, c, ${which} ? ` +
      `${bind('p', `'/spec/${list}/' + string(i)`, body)} : []).flatten() : [])`,
  ).join(' +\n');
}

/** A list of JSONPatch that applies only on pod creation (the pod level never changes otherwise). */
const onCreate = (body: string): string => `(request.operation == 'CREATE' ? (${body}) : [])`;

const ownHas = (c: string, field: string) => hasPath(c, ['securityContext', field]);

/**
 * The inherited fields (runAsUser, runAsGroup, runAsNonRoot, seccompProfile), as engine/context.ts
 * ensureInherited: the pod level is set only on creation, where every untouched container sets
 * the field itself (so no exempt container changes), some hardened container inherits it and the
 * pod's value is not acceptable; otherwise each hardened container whose effective value is not
 * acceptable gets its own.
 */
function inherited(
  field: string,
  ok: (x: string) => string,
  fixed: string,
  podAlso?: string,
): string {
  const podOk = `${hasPath(SRC, ['spec', 'securityContext', field])} && ${ok(`${POD_SC}.${field}`)}`;
  const setPod =
    `request.operation == 'CREATE' && !podOk && ${podAlso === undefined ? '' : `${podAlso} && `}variables.others.all(c, ${ownHas('c', field)}) && ` +
    `(${hasPath(SRC, ['spec', 'securityContext', field])} || variables.targets.exists(c, !(${ownHas('c', field)})))`;
  const own = `(${ownHas('c', field)} ? !(${ok(`c.securityContext.${field}`)}) : !(setPod || podOk))`;
  return bind(
    'podOk',
    podOk,
    bind(
      'setPod',
      setPod,
      `\n(setPod ? [${patch('add', `'/spec/securityContext/${field}'`, fixed)}] : []) +\n` +
        perTarget(`${own} ? [${patch('add', `p + '/securityContext/${field}'`, fixed)}] : []`),
    ),
  );
}

const nonRootId = (x: string) => `${x} > 0`;
const confined = (x: string) =>
  `has(${x}.type) && (${x}.type == 'RuntimeDefault' || ${x}.type == 'Localhost')`;

const volumeIsAny = (v: string, kinds: readonly string[]) =>
  kinds.map((k) => `has(${v}.${k})`).join(' || ');

const bidirectional = (c: string) =>
  `(has(${c}.volumeMounts) && ${c}.volumeMounts.exists(m, has(m.mountPropagation) && m.mountPropagation == 'Bidirectional'))`;

const capsAdd = (c: string) => hasPath(c, ['securityContext', 'capabilities', 'add']);
const keepsCapability = (c: string, cap: string) =>
  `(${capsAdd(c)} && ${c}.securityContext.capabilities.add.exists(a, ${normalizedCapability('a')} == ${celString(cap)}))`;

/**
 * The run group a hardened pod's volumes get: the one every hardened container runs with when
 * they agree, else the configured one.
 */
function runGroup(): string {
  const podGroup = getOr(SRC, ['spec', 'securityContext', 'runAsGroup'], '0');
  return bind(
    'gs',
    `variables.targets.map(c, ${getOr('c', ['securityContext', 'runAsGroup'], podGroup)})`,
    'size(gs) > 0 && gs[0] > 0 && gs.all(g, g == gs[0]) ? gs[0] : variables.runAsGroup',
  );
}

/**
 * Volumes never go to the root group: fsGroup 0 becomes the run group (whatever the fsGroup
 * setting); a pod with writable volumes and no fsGroup gets the run group with
 * fsGroupChangePolicy OnRootMismatch (hardening.fsGroup). Only where some container is
 * hardened: fsGroup reaches every container.
 */
function fsGroup(): string {
  const writable = `has(object.spec.volumes) && object.spec.volumes.exists(v, !(${volumeIsAny('v', WRITABLE_EXCEPT)}))`;
  const has = hasPath(SRC, ['spec', 'securityContext', 'fsGroup']);
  return onCreate(
    `size(variables.targets) == 0 ? [] : ` +
      `${has} && ${POD_SC}.fsGroup == 0 ? [${patch('replace', "'/spec/securityContext/fsGroup'", runGroup())}] : ` +
      `variables.fsGroup && !(${has}) && ${writable} ? ` +
      `[${patch('add', "'/spec/securityContext/fsGroup'", runGroup())}] + ` +
      `(${hasPath(SRC, ['spec', 'securityContext', 'fsGroupChangePolicy'])} ? [] : ` +
      `[${patch('add', "'/spec/securityContext/fsGroupChangePolicy'", "'OnRootMismatch'")}]) : []`,
  );
}

/**
 * Never the root group through supplementary groups: 0 leaves supplementalGroups, and
 * supplementalGroupsPolicy Strict where the operator turns it on. Only where some container is
 * hardened.
 */
function supplementalGroups(): string {
  const groups = `${POD_SC}.supplementalGroups`;
  return onCreate(
    `size(variables.targets) == 0 ? [] : ` +
      `(${hasPath(SRC, ['spec', 'securityContext', 'supplementalGroups'])} && 0 in ${groups} ? ` +
      bind(
        'kept',
        `${groups}.filter(g, g != 0)`,
        `size(kept) > 0 ? [${patch('replace', "'/spec/securityContext/supplementalGroups'", 'kept')}] : ` +
          `[${patch('remove', "'/spec/securityContext/supplementalGroups'")}]`,
      ) +
      ' : [])' +
      ` +\n(!variables.supplementalGroupsStrict || ${hasPath(SRC, ['spec', 'securityContext', 'supplementalGroupsPolicy'])} && ${POD_SC}.supplementalGroupsPolicy == 'Strict' ? [] : ` +
      `[${patch('add', "'/spec/securityContext/supplementalGroupsPolicy'", "'Strict'")}])`,
  );
}

const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';

/** A JSON Pointer token: `~` and `/` escaped (RFC 6901). */
const pointerToken = (x: string) => `${x}.replace('~', '~0').replace('/', '~1')`;

const SELINUX_FIELDS = ['user', 'role', 'type', 'level'] as const;

/** True where `sc` (a security context present) has SELinux options baseline forbids. */
const forbiddenSELinux = (sc: string) => {
  const o = `${sc}.seLinuxOptions`;
  return (
    `(has(${o}) && ((has(${o}.type) && ${o}.type != '' && !(${o}.type in ${celStrings(SELINUX_TYPES)})) || ` +
    `(has(${o}.user) && ${o}.user != '') || (has(${o}.role) && ${o}.role != '')))`
  );
};

/** Whether `field` of the SELinux options `o` survives confinement (a confined type, the level). */
const keptSELinux = (o: string, field: string): string =>
  field === 'type'
    ? `(has(${o}.type) && ${o}.type != '' && ${o}.type in ${celStrings(SELINUX_TYPES)})`
    : field === 'level'
      ? `has(${o}.level)`
      : 'false';

/**
 * Patches writing the SELinux options `o` at `at` field by field (`keep` says which), never as one
 * object value: an empty map, then each field as a scalar.
 */
const writeSELinux = (o: string, at: string, keep: (field: string) => string): string =>
  `[${patch('add', `${at} + '/seLinuxOptions'`, '{}')}] + ` +
  SELINUX_FIELDS.map(
    (f) =>
      `(has(${o}.${f}) && ${keep(f)} ? [${patch('add', `${at} + '/seLinuxOptions/${f}'`, `${o}.${f}`)}] : [])`,
  ).join(' + ');

/**
 * Removes what baseline forbids from the SELinux options of `sc` at `at`: the whole options when
 * nothing is left, unless `keepEmpty` (then `{}` stays, so an unconfined pod level is not inherited).
 */
function fixSELinux(sc: string, at: string, keepEmpty: string): string {
  const o = `${sc}.seLinuxOptions`;
  const left = SELINUX_FIELDS.map((f) => keptSELinux(o, f))
    .filter((x) => x !== 'false')
    .join(' || ');
  const fields = SELINUX_FIELDS.filter((f) => f !== 'level').map(
    (f) =>
      `(has(${o}.${f}) && ${o}.${f} != '' && !${keptSELinux(o, f)} ? [${patch('remove', `${at} + '/seLinuxOptions/${f}'`)}] : [])`,
  );
  return (
    `(${forbiddenSELinux(sc)} ? (${left} || ${keepEmpty} ? ${fields.join(' + ')} : ` +
    `[${patch('remove', `${at} + '/seLinuxOptions'`)}]) : [])`
  );
}

/**
 * For each container of every list this request leaves alone, as perTarget (only on creation,
 * where the request holds every container).
 */
const perOther = (body: string): string => perContainer('!(c.name in variables.targetNames)', body);

/**
 * Confinement (engine/rules/confinement.ts): what Pod Security baseline forbids in a security
 * context, undone without asking anything of the node. AppArmor Unconfined removed (fields and
 * the older per-container annotation), so the runtime's default applies where AppArmor is
 * enabled; SELinux type outside the container types, user and role removed (the options whole
 * when nothing is left); procMount Unmasked back to Default unless the pod runs in a user
 * namespace. On creation the pod level is fixed too, after each untouched container that
 * inherits it got the pod's value as its own; on pods/ephemeralcontainers (pod level fixed), a
 * new container that would inherit unconfined SELinux options gets its own without the
 * forbidden fields.
 */
function confinement(): string {
  const unconfined = (sc: string) =>
    `has(${sc}.appArmorProfile) && has(${sc}.appArmorProfile.type) && ${sc}.appArmorProfile.type == 'Unconfined'`;
  const psc = 'object.spec.securityContext';
  const userNamespace = `has(${SRC}.spec.hostUsers) && ${SRC}.spec.hostUsers == false`;
  const podAppArmor = `(has(${psc}) && ${unconfined(psc)})`;
  const podSELinux = `(has(${psc}) && ${forbiddenSELinux(psc)})`;
  // An untouched container keeps what it inherited: the pod's value becomes its own.
  const needsAppArmor =
    `${podAppArmor} && !(${ownHas('c', 'appArmorProfile')}) && ` +
    `!(${celString(APPARMOR_ANNOTATION)} + c.name in variables.ann)`;
  const needsSELinux = `${podSELinux} && !(${ownHas('c', 'seLinuxOptions')})`;
  const keep = perOther(
    `(!has(c.securityContext) && ((${needsAppArmor}) || (${needsSELinux})) ? [${patch('add', "p + '/securityContext'", '{}')}] : []) + ` +
      `(${needsAppArmor} ? [${patch('add', "p + '/securityContext/appArmorProfile'", "{'type': 'Unconfined'}")}] : []) + ` +
      `(${needsSELinux} ? ${writeSELinux(`${psc}.seLinuxOptions`, "p + '/securityContext'", () => 'true')} : [])`,
  );
  const pod =
    `size(variables.targets) == 0 ? [] : ${keep} +
` +
    `(${podAppArmor} ? [${patch('remove', "'/spec/securityContext/appArmorProfile'")}] : []) + ` +
    `(has(${psc}) ? ${fixSELinux(psc, "'/spec/securityContext'", 'false')} : [])`;
  // The older annotation is metadata, which only a pod creation may change.
  const annotation =
    `variables.targets.filter(c, ${celString(APPARMOR_ANNOTATION)} + c.name in variables.ann && ` +
    `variables.ann[${celString(APPARMOR_ANNOTATION)} + c.name] == 'unconfined')` +
    `.map(c, ${patch('remove', `'/metadata/annotations/' + ${pointerToken(`(${celString(APPARMOR_ANNOTATION)} + c.name)`)}`)})`;
  const sc = 'c.securityContext';
  // Pod-level SELinux options that stay unconfined (pods/ephemeralcontainers only: on creation
  // they are fixed above): a container must not inherit them.
  const stuck = `(request.operation != 'CREATE' && has(${POD_SC}) && ${forbiddenSELinux(POD_SC)})`;
  const override = writeSELinux(`${POD_SC}.seLinuxOptions`, "p + '/securityContext'", (f) =>
    keptSELinux(`${POD_SC}.seLinuxOptions`, f),
  );
  return (
    `${onCreate(pod)} +
${onCreate(annotation)} +
` +
    perTarget(
      `(${unconfined(sc)} ? [${patch('remove', "p + '/securityContext/appArmorProfile'")}] : []) + ` +
        `${fixSELinux(sc, "p + '/securityContext'", stuck)} + ` +
        `(${stuck} && !has(${sc}.seLinuxOptions) ? ${override} : []) + ` +
        `(has(${sc}.procMount) && ${sc}.procMount == 'Unmasked' && !(${userNamespace}) ? ` +
        `[${patch('add', "p + '/securityContext/procMount'", "'Default'")}] : [])`,
    )
  );
}

const privileged = perTarget(
  `has(c.securityContext.privileged) && c.securityContext.privileged == true && !${bidirectional('c')} ? ` +
    `[${patch('add', "p + '/securityContext/privileged'", 'false')}] : []`,
);

function capabilities(): string {
  const key = `${celString(Annotations.containerCapabilitiesPrefix)} + c.name`;
  const allowed =
    `variables.podAllowed + (${key} in variables.ann ? ` +
    `${allowlist(`variables.ann[${key}]`)} : [])`;
  const norm = normalizedCapability('a');
  const caps = 'c.securityContext.capabilities';
  const add = bind(
    'kept',
    `${caps}.add.filter(a, ${norm} in allowed)`,
    `size(kept) > 0 ? [${patch('replace', "p + '/securityContext/capabilities/add'", 'kept')}] : ` +
      `[${patch('remove', "p + '/securityContext/capabilities/add'")}]`,
  );
  return perTarget(
    bind(
      'allowed',
      allowed,
      `(has(${caps}.add) && ${caps}.add.exists(a, !(${norm} in allowed)) ? ${add} : []) +\n` +
        `(has(${caps}.drop) && 'ALL' in ${caps}.drop ? [] : [${patch(
          'add',
          "p + '/securityContext/capabilities/drop'",
          `has(${caps}.drop) ? ${caps}.drop + ['ALL'] : ['ALL']`,
        )}])`,
    ),
  );
}

/** Not beside a kept SYS_ADMIN or a kept privileged: the API server refuses either pair. */
const allowPrivilegeEscalation = perTarget(
  `!(has(c.securityContext.allowPrivilegeEscalation) && c.securityContext.allowPrivilegeEscalation == false) && ` +
    `!(has(c.securityContext.privileged) && c.securityContext.privileged == true) && ` +
    `!${keepsCapability('c', 'SYS_ADMIN')} ? ` +
    `[${patch('add', "p + '/securityContext/allowPrivilegeEscalation'", 'false')}] : []`,
);

function unprivilegedPorts(): string {
  const sysctls = `${POD_SC}.sysctls`;
  const hasSysctls = hasPath(SRC, ['spec', 'securityContext', 'sysctls']);
  const names = `[${celString(UNPRIVILEGED_PORT_SYSCTL)}, ${celString(UNPRIVILEGED_PORT_SYSCTL.replaceAll('.', '/'))}]`;
  const needs =
    `variables.targets.exists(c, (has(c.ports) && c.ports.exists(q, q.containerPort > 0 && q.containerPort < 1024)) || ` +
    `${keepsCapability('c', 'NET_BIND_SERVICE')})`;
  const entry = `{'name': ${celString(UNPRIVILEGED_PORT_SYSCTL)}, 'value': '0'}`;
  return onCreate(
    `!(has(object.spec.hostNetwork) && object.spec.hostNetwork) && ${needs} && ` +
      `!(${hasSysctls} && ${sysctls}.exists(s, s.name in ${names})) ? ` +
      `(${hasSysctls} ? [] : [${patch('add', "'/spec/securityContext/sysctls'", '[]')}]) + ` +
      `[${patch('add', "'/spec/securityContext/sysctls/-'", entry)}] : []`,
  );
}

function userNamespaces(): string {
  const host = ['hostNetwork', 'hostPID', 'hostIPC'].map(
    (f) => `(has(object.spec.${f}) && object.spec.${f})`,
  );
  const psc = ['spec', 'securityContext'];
  const ids =
    `[${['runAsUser', 'runAsGroup', 'fsGroup'].map((f) => getOr('object', [...psc, f], '0')).join(', ')}] + ` +
    `${getOr('object', [...psc, 'supplementalGroups'], '[]')} + ` +
    `variables.all.map(c, ${getOr('c', ['securityContext', 'runAsUser'], '0')}) + ` +
    `variables.all.map(c, ${getOr('c', ['securityContext', 'runAsGroup'], '0')})`;
  const obstacles = [
    ...host,
    `(has(object.spec.volumes) && object.spec.volumes.exists(v, !(${volumeIsAny('v', IDMAPPABLE)})))`,
    `variables.all.exists(c, has(c.volumeDevices) && size(c.volumeDevices) > 0)`,
    `(${ids}).exists(x, x > ${MAX_USERNS_ID})`,
  ].join(' ||\n');
  return onCreate(
    `!has(object.spec.hostUsers) && !(${obstacles}) ? [${patch('add', "'/spec/hostUsers'", 'false')}] : []`,
  );
}

/**
 * An annotation value (CEL string) as the normalized capabilities it names, blanks dropped, and
 * only those within the operator's ceiling.
 */
const allowlist = (value: string) =>
  `${value}.split(',').filter(s, s.trim() != '').map(s, ${normalizedCapability('s')})` +
  ".filter(s, s.matches('^(?:' + variables.capabilityCeiling + ')$'))";

/** The settings, then the containers every mutation works on and the exceptions. */
function variables(settings: PolicySettings): { name: string; expression: string }[] {
  const ann = (key: string) => celString(key);
  return [
    ...settingsVariables(settings),
    { name: 'src', expression: "request.operation == 'CREATE' ? object : oldObject" },
    {
      name: 'ann',
      expression: `has(${SRC}.metadata.annotations) ? ${SRC}.metadata.annotations : {}`,
    },
    {
      name: 'skipAllowed',
      expression: "request.namespace.matches('^(?:' + variables.skipNamespaces + ')$')",
    },
    {
      name: 'skipped',
      expression:
        `variables.skipAllowed && ${ann(Annotations.skip)} in variables.ann && ` +
        `variables.ann[${ann(Annotations.skip)}].trim().lowerAscii() == 'true'`,
    },
    {
      name: 'all',
      expression:
        'dyn(object.spec.containers) + ' +
        'dyn(has(object.spec.initContainers) ? object.spec.initContainers : []) + ' +
        'dyn(has(object.spec.ephemeralContainers) ? object.spec.ephemeralContainers : [])',
    },
    {
      // skip-containers (where honoured) and the operator's exemptions, matched as the guard
      // matches them: `<name>=<image>` against the exemptContainers expression.
      name: 'untouched',
      expression:
        `(variables.skipAllowed && ${ann(Annotations.skipContainers)} in variables.ann ? ` +
        `variables.ann[${ann(Annotations.skipContainers)}].split(',').map(s, s.trim()).filter(s, s != '') : []) + ` +
        "variables.all.filter(c, (c.name + '=' + (has(c.image) ? c.image : '')).matches('^(?:' + variables.exemptContainers + ')$')).map(c, c.name)",
    },
    {
      // The containers this request adds: all of them on creation, else the ephemeral
      // containers the stored pod does not have yet.
      name: 'targetNames',
      expression:
        "(request.operation == 'CREATE' ? variables.all.map(c, c.name) : " +
        'has(object.spec.ephemeralContainers) ? object.spec.ephemeralContainers.map(c, c.name).filter(n, ' +
        '!(has(oldObject.spec.ephemeralContainers) && oldObject.spec.ephemeralContainers.exists(o, o.name == n))) : [])' +
        '.filter(n, !(n in variables.untouched))',
    },
    { name: 'targets', expression: 'variables.all.filter(c, c.name in variables.targetNames)' },
    { name: 'others', expression: 'variables.all.filter(c, !(c.name in variables.targetNames))' },
    {
      name: 'podAllowed',
      expression:
        `${ann(Annotations.allowedCapabilities)} in variables.ann ? ` +
        `${allowlist(`variables.ann[${ann(Annotations.allowedCapabilities)}]`)} : []`,
    },
  ];
}

/**
 * Pods the policy never touches: mirror pods and Windows pods. Written without variables
 * (matchConditions cannot use them).
 */
function matchConditions(): { name: string; expression: string }[] {
  const src = "(request.operation == 'CREATE' ? object : oldObject)";
  return [
    {
      name: 'not-mirror-pod',
      expression: `!(has(${src}.metadata.annotations) && ${celString(Annotations.mirrorPod)} in ${src}.metadata.annotations)`,
    },
    {
      name: 'not-windows',
      expression: `!(has(${src}.spec.os) && ${src}.spec.os.name == 'windows')`,
    },
  ];
}

export interface Mutation {
  /** The engine rule it stands for, for readers and tests. */
  rule: string;
  expression: string;
}

/**
 * The mutations in the engine's order, each yielding nothing for a skipped pod or when its
 * setting is off.
 */
export function mutations(): Mutation[] {
  const scaffold = `${onCreate(
    `has(object.spec.securityContext) ? [] : [${patch('add', "'/spec/securityContext'", '{}')}]`,
  )} +\n${perTarget(
    `(has(c.securityContext) ? [] : [${patch('add', "p + '/securityContext'", '{}')}]) + ` +
      `(${hasPath('c', ['securityContext', 'capabilities'])} ? [] : [${patch('add', "p + '/securityContext/capabilities'", '{}')}])`,
  )}`;
  const rules: [string, string | undefined, string][] = [
    // Every hardened container ends with capabilities.drop, so each gets a securityContext and
    // a capabilities object: the later mutations can then add fields without testing parents.
    ['scaffold', undefined, scaffold],
    ['runAsUser', undefined, inherited('runAsUser', nonRootId, 'variables.runAsUser')],
    [
      'runAsGroup',
      undefined,
      // As the engine: no pod-level group without a pod-level user (containerd refuses such a
      // sandbox); `object` is the pod after the runAsUser mutation.
      inherited(
        'runAsGroup',
        nonRootId,
        'variables.runAsGroup',
        hasPath('object', ['spec', 'securityContext', 'runAsUser']),
      ),
    ],
    ['runAsNonRoot', 'runAsNonRoot', inherited('runAsNonRoot', (x) => `${x} == true`, 'true')],
    ['fsGroup', undefined, fsGroup()],
    ['supplementalGroups', undefined, supplementalGroups()],
    ['privileged', undefined, privileged],
    ['capabilities', undefined, capabilities()],
    ['allowPrivilegeEscalation', undefined, allowPrivilegeEscalation],
    [
      'seccompProfile',
      'seccompProfile',
      inherited('seccompProfile', confined, "{'type': 'RuntimeDefault'}"),
    ],
    ['unprivilegedPorts', 'unprivilegedPorts', unprivilegedPorts()],
    ['userNamespaces', 'userNamespaces', userNamespaces()],
    // Last, as in the engine: a pod just moved into a user namespace keeps its Unmasked /proc.
    ['confinement', undefined, confinement()],
  ];
  return rules.map(([rule, setting, body]) => ({
    rule,
    expression: `variables.skipped${setting === undefined ? '' : ` || !variables.${setting}`} ? [] : (\n${body})`,
  }));
}

/** The MutatingAdmissionPolicy and its binding. */
export function mutatingPolicy(settings: PolicySettings, options: RenderOptions): object[] {
  return [
    {
      apiVersion: POLICY_API_VERSION,
      kind: 'MutatingAdmissionPolicy',
      metadata: { name: options.name },
      spec: {
        // A policy that cannot run rejects the pod rather than admit it unhardened, as the
        // webhook's failurePolicy: Fail does.
        failurePolicy: 'Fail',
        // Run again when a later plugin (a sidecar injector) changed the pod: its containers
        // are hardened too, and a hardened pod yields no patch.
        reinvocationPolicy: 'IfNeeded',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: [''],
              apiVersions: ['v1'],
              operations: ['CREATE'],
              resources: ['pods'],
            },
            {
              apiGroups: [''],
              apiVersions: ['v1'],
              operations: ['UPDATE'],
              resources: ['pods/ephemeralcontainers'],
            },
          ],
        },
        matchConditions: matchConditions(),
        variables: variables(settings),
        mutations: mutations().map((m) => ({
          patchType: 'JSONPatch',
          jsonPatch: { expression: m.expression },
        })),
      },
    },
    {
      apiVersion: POLICY_API_VERSION,
      kind: 'MutatingAdmissionPolicyBinding',
      metadata: { name: options.name },
      spec: {
        policyName: options.name,
        matchResources: {
          namespaceSelector: namespaceSelector(LabelValues.enforce, options.namespace),
        },
      },
    },
  ];
}
