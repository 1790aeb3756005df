import type { Change, Json, Target } from './types';

/**
 * Words for changes and targets, shared by every view of the change list (warnings, audit
 * annotations, the pod annotation, the offline report), so they all say the same thing.
 */

const LIST_WORDS = {
  containers: 'container',
  initContainers: 'init container',
  ephemeralContainers: 'ephemeral container',
} as const;

export function targetText(target: Target): string {
  return target.kind === 'pod' ? 'pod' : `${LIST_WORDS[target.list]} "${target.name}"`;
}

const LIST_KEYS = {
  containers: 'container',
  initContainers: 'initContainer',
  ephemeralContainers: 'ephemeralContainer',
} as const;

/** Greppable target for log lines: `pod`, `container/app`, `initContainer/istio-init`. */
export function targetKey(target: Target): string {
  return target.kind === 'pod' ? 'pod' : `${LIST_KEYS[target.list]}/${target.name}`;
}

/** Short target for compact summaries: `pod` or the container name. */
export function targetShort(target: Target): string {
  return target.kind === 'pod' ? 'pod' : target.name;
}

/**
 * The longest text a pod value becomes in a message: values reach the webhook before the API
 * server validates them, in bodies of up to 3 MiB, and a message quotes them in warnings, audit
 * annotations and log lines.
 */
const MAX_VALUE_TEXT = 256;

export function valueText(value: Json | undefined): string {
  const text = fullText(value);
  return text.length <= MAX_VALUE_TEXT ? text : `${text.slice(0, MAX_VALUE_TEXT - 3)}...`;
}

function fullText(value: Json | undefined): string {
  if (value === undefined || value === null) return 'unset';
  if (Array.isArray(value)) return `[${value.map((v) => fullText(v)).join(',')}]`;
  if (typeof value === 'object')
    return typeof value.type === 'string' ? value.type : JSON.stringify(value);
  return String(value);
}

/**
 * The first entries of a removed list, and how many more: a pod can ask for a million
 * capabilities, and the summary annotation, the warnings and the audit log name them.
 */
function someEntries(entries: readonly string[] | undefined, max = 10): string {
  const list = entries ?? [];
  const shown = list.slice(0, max).join(',');
  return list.length > max ? `${shown},+${list.length - max} more` : shown;
}

const SC_PREFIX = 'securityContext.';

/** The entry a rule appended to a list (the sysctl), as `name=value`. */
function appended(change: Change): string {
  const last = Array.isArray(change.to) ? change.to[change.to.length - 1] : undefined;
  return typeof last === 'object' && last !== null && !Array.isArray(last)
    ? `${valueText(last.name)}=${valueText(last.value)}`
    : valueText(change.to);
}

/** The field as users read it in a securityContext: `runAsUser`, `capabilities.add`. */
function shortField(field: string): string {
  return field.startsWith(SC_PREFIX) ? field.slice(SC_PREFIX.length) : field;
}

/** `runAsUser 0 -> 1000`, `capabilities.add: removed SYS_TIME (not allowlisted)`. */
export function changeText(change: Change): string {
  const field = shortField(change.field);
  if (change.rule === 'capabilities.add') {
    return `${field}: removed ${someEntries(change.removed)} (not allowlisted)`;
  }
  if (change.rule === 'capabilities.drop') return `${field}: added ALL`;
  if (change.rule === 'supplementalGroups') return `${field}: removed 0 (the root group)`;
  if (change.rule === 'unprivilegedPorts') {
    return `${field}: added ${appended(change)}, so that non-root processes bind ports below 1024 (needed by ${change.because ?? ''})`;
  }
  const because = change.because !== undefined ? ` (${change.because})` : '';
  return `${field} ${valueText(change.from)} -> ${valueText(change.to)}${because}`;
}

/** The compact form used in the pod annotation: `runAsUser=1000`, `capabilities.add-=SYS_TIME`. */
export function changeShort(change: Change): string {
  const field = shortField(change.field);
  if (change.rule === 'capabilities.add') return `${field}-=${someEntries(change.removed)}`;
  if (change.rule === 'capabilities.drop') return `${field}+=ALL`;
  if (change.rule === 'supplementalGroups') return `${field}-=0`;
  if (change.rule === 'unprivilegedPorts')
    return `${field}+=${appended(change)} (${change.because ?? ''})`;
  const because = change.because !== undefined ? ` (${change.because})` : '';
  return `${field}=${valueText(change.to)}${because}`;
}
