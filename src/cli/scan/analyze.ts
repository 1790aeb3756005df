/**
 * The analysis of `pod-hardener scan`, pure: namespaces with their labels, pods and owner
 * objects in, the report's namespaces out. Each pod goes through what the webhook runs on its
 * creation (`hardenPod`, scope create), with the same configuration, so scan and the webhook cannot disagree on what changes.
 */
import { changeText, targetKey } from '../../engine/describe';
import { hardenPod } from '../../engine/harden-pod';
import { isJsonObject as isObject } from '../../engine/json';
import { HONOURED_EXCEPTIONS, isException } from '../../engine/notices';
import type { Policy } from '../../engine/policy';
import type { ImageUser } from '../../engine/types';
import type { Change, Json, Notice, Pod } from '../../engine/types';
import { Annotations, LabelValues, Labels } from '../../names';
import { OwnerIndex, topOwner, type OwnerObject } from './owners';
import type {
  ChangeEntry,
  ExceptionEntry,
  NamespaceEntry,
  NamespaceMode,
  NoticeEntry,
  PodEntry,
  WorkloadEntry,
} from './report-schema';

export interface NamespaceData {
  name: string;
  labels: Readonly<Record<string, string>>;
  /** The pods as the API server returns them. */
  pods: readonly unknown[];
  /** Metadata of the owner objects listed to walk up from the pods (ReplicaSets, Jobs, ...). */
  owners: readonly OwnerObject[];
}

export interface AnalyzeOptions {
  policy: Policy;
  webhookNamespace: string;
  /** `--image-identity`: what the images run as, looked up beforehand. */
  imageUsers?: ReadonlyMap<string, ImageUser>;
}

/** Never sent to the webhook, whatever their label (the shipped namespaceSelector). */
const CONTROL_PLANE_NAMESPACE = 'kube-system';

export function namespaceMode(
  name: string,
  labels: Readonly<Record<string, string>>,
  webhookNamespace: string,
): Pick<NamespaceEntry, 'mode' | 'label' | 'reason'> {
  const label = labels[Labels.enabled] ?? null;
  const mode = (m: NamespaceMode, reason: string) => ({ mode: m, label, reason });
  if (name === CONTROL_PLANE_NAMESPACE)
    return mode('excluded', 'kube-system is never sent to the webhook');
  if (name === webhookNamespace)
    return mode('excluded', "the webhook's own namespace is never sent to it");
  if (label === LabelValues.enforce)
    return mode('enforce', `label ${Labels.enabled}=${label}: pods are hardened at creation`);
  if (label === LabelValues.audit)
    return mode(
      'audit',
      `label ${Labels.enabled}=${label}: the webhook only warns; shown as enforcing would change`,
    );
  if (label === null)
    return mode('off', `no label ${Labels.enabled}: not opted in; shown as enforcing would change`);
  return mode(
    'off',
    `label ${Labels.enabled}=${JSON.stringify(label)} is neither "true" nor "audit": not opted in; shown as enforcing would change`,
  );
}

/**
 * The pod as it would be sent on its next creation. A pod is never created with ephemeral
 * containers (the API server refuses them on create; `kubectl debug` adds them later, and the
 * person running it sees the webhook's warnings on the terminal), so they are left out.
 */
function asCreation(pod: Pod): Pod {
  if (!isObject(pod.spec) || pod.spec.ephemeralContainers === undefined) return pod;
  const { ephemeralContainers: _, ...spec } = pod.spec;
  return { ...pod, spec };
}

const jsonOrNull = (v: Json | undefined): Json | null => (v === undefined ? null : v);

function changeEntry(c: Change): ChangeEntry {
  return {
    rule: c.rule,
    target: targetKey(c.target),
    field: c.field,
    from: jsonOrNull(c.from),
    to: jsonOrNull(c.to),
    removed: c.removed ?? [],
    text: changeText(c),
  };
}

function noticeEntry(n: Notice): NoticeEntry {
  return { kind: n.kind, target: targetKey(n.target), message: n.message };
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** What the API shows of a pod, before any analysis. */
function podEntry(input: unknown, verdict: PodEntry['verdict']): { pod: Pod; entry: PodEntry } {
  const pod = (isObject(input) ? input : {}) as Pod;
  const meta = isObject(pod.metadata) ? pod.metadata : {};
  const entry: PodEntry = {
    name: str(meta.name) ?? str(meta.generateName) ?? '',
    uid: str(meta.uid),
    phase: isObject(pod.status) ? str(pod.status.phase) : null,
    verdict,
    changes: [],
    exceptions: [],
    notes: [],
    risks: [],
    hardened: isObject(meta.annotations) ? str(meta.annotations[Annotations.hardened]) : null,
    error: null,
  };
  return { pod, entry };
}

export function analyzePod(
  input: unknown,
  namespace: string,
  policy: Policy,
  imageUsers?: ReadonlyMap<string, ImageUser>,
): PodEntry {
  const { pod, entry } = podEntry(input, 'unchanged');
  const creation = asCreation(pod);
  const result = hardenPod(creation, policy, {
    scope: { kind: 'create' },
    namespace,
    ...(imageUsers && { imageUsers }),
  });
  if (result.error) {
    entry.verdict = 'refused';
    entry.error = `the webhook would answer HTTP ${result.error.status} ${result.error.code}: ${result.error.message}`;
    return entry;
  }
  for (const n of result.notices) {
    if (isException(n.kind))
      entry.exceptions.push({
        ...noticeEntry(n),
        honoured: HONOURED_EXCEPTIONS.has(n.kind),
      } satisfies ExceptionEntry);
    // What may stop working is in entry.risks, with its details.
    else if (n.kind !== 'mayStopWorking') entry.notes.push(noticeEntry(n));
  }
  if (result.skipped) {
    entry.verdict = 'skipped';
    return entry;
  }
  if (result.patch.length === 0) return entry;
  entry.verdict = 'change';
  entry.changes = result.changes.map(changeEntry);
  entry.risks = result.risks;
  return entry;
}

const byName = <T extends { name: string }>(a: T, b: T) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/** Workloads sorted by kind then name; pods by name. */
function workloadOrder(a: WorkloadEntry, b: WorkloadEntry): number {
  return a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : byName(a, b);
}

export function analyzeNamespace(data: NamespaceData, options: AnalyzeOptions): NamespaceEntry {
  const mode = namespaceMode(data.name, data.labels, options.webhookNamespace);
  const index = new OwnerIndex(data.owners);
  const workloads = new Map<string, WorkloadEntry>();
  for (const pod of data.pods) {
    const meta = isObject(pod) && isObject(pod.metadata) ? pod.metadata : {};
    const name = str(meta.name) ?? '';
    const owner = topOwner(name, meta.ownerReferences, index);
    const key = `${owner.kind}/${owner.name}`;
    let w = workloads.get(key);
    if (!w) workloads.set(key, (w = { kind: owner.kind, name: owner.name, via: [], pods: [] }));
    // Pods of one workload may reach it through different ReplicaSets (a rollout) or Jobs.
    for (const v of owner.via)
      if (!w.via.some((x) => x.kind === v.kind && x.name === v.name)) w.via.push(v);
    w.pods.push(
      mode.mode === 'excluded'
        ? podEntry(pod, 'notReached').entry
        : analyzePod(pod, data.name, options.policy, options.imageUsers),
    );
  }
  const sorted = [...workloads.values()].sort(workloadOrder);
  for (const w of sorted) {
    w.pods.sort(byName);
    w.via.sort((a, b) => (a.kind === b.kind ? byName(a, b) : a.kind < b.kind ? -1 : 1));
  }
  return { name: data.name, ...mode, workloads: sorted };
}

export function analyze(data: readonly NamespaceData[], options: AnalyzeOptions): NamespaceEntry[] {
  return data.map((d) => analyzeNamespace(d, options)).sort(byName);
}
