/**
 * The report of `pod-hardener scan`: what `-o json` and `-o yaml` print, and what the table is
 * made from. Its shape is a promise to scripts (documented in docs/scan.md, pinned by a unit test):
 * fields are only ever added; a rename, removal or change of meaning bumps SCHEMA_VERSION.
 * Every field is always present (null or [] when empty), so `jq` filters need no `//` guards.
 */
import type { Json } from '../../engine/types';

export const SCHEMA_VERSION = 1;
export const REPORT_KIND = 'PodHardenerScan';

/**
 * enforce / audit: the namespace's pod-hardener.io/enabled label. off: no such label (or another
 * value): the webhook is not called, and scan shows what enforcing would change. excluded:
 * kube-system and the webhook's own namespace, which the webhook is never sent, whatever the label.
 */
export type NamespaceMode = 'enforce' | 'audit' | 'off' | 'excluded';

/**
 * change: the webhook would patch the pod at its next creation (in enforce mode; audit mode only
 * warns; off: once the namespace is labelled). unchanged: nothing to change. skipped: the pod
 * opts out (annotation pod-hardener.io/skip). refused: the webhook would answer with an error.
 * notReached: the namespace is excluded; not analysed.
 */
export type { RiskEntry, RiskKind } from '../../engine/risks';
import type { RiskEntry } from '../../engine/risks';

export type Verdict = 'change' | 'unchanged' | 'skipped' | 'refused' | 'notReached';

export interface ChangeEntry {
  /** The engine's rule name, as in the metric label: runAsUser, capabilities.add, ... */
  rule: string;
  /** `pod`, `container/NAME`, `initContainer/NAME` (as in the webhook's log lines). */
  target: string;
  field: string;
  from: Json | null;
  to: Json | null;
  /** capabilities.add: the entries removed; else []. */
  removed: string[];
  /** The change in the words of the webhook's warning. */
  text: string;
}

export interface NoticeEntry {
  /** skipPod, skipContainers, exemptContainer, capabilityAllowlist, skipDenied, capabilityAboveCeiling, ... */
  kind: string;
  target: string;
  message: string;
}

export interface ExceptionEntry extends NoticeEntry {
  /** false: an exception the pod asked for and the operator's bounds refused. */
  honoured: boolean;
}

export interface PodEntry {
  name: string;
  uid: string | null;
  phase: string | null;
  verdict: Verdict;
  changes: ChangeEntry[];
  exceptions: ExceptionEntry[];
  /** Other notices of the engine: a rule not applied and why, a malformed annotation. */
  notes: NoticeEntry[];
  risks: RiskEntry[];
  /** The pod-hardener.io/hardened annotation: what the webhook changed when this pod was created. */
  hardened: string | null;
  /** verdict refused: the webhook's error. */
  error: string | null;
}

export interface WorkloadEntry {
  /** Deployment, StatefulSet, DaemonSet, CronJob, Job, ReplicaSet, Pod (no controller), or the controller's kind. */
  kind: string;
  name: string;
  /** Owners between the pods and this one, nearest to the pods first. */
  via: { kind: string; name: string }[];
  pods: PodEntry[];
}

export interface NamespaceEntry {
  name: string;
  mode: NamespaceMode;
  /** The value of the pod-hardener.io/enabled label, or null. */
  label: string | null;
  reason: string;
  workloads: WorkloadEntry[];
}

export interface ScanSummary {
  namespaces: number;
  workloads: number;
  pods: number;
  /** Pods analysed (not in excluded namespaces). */
  podsAnalysed: number;
  podsToChange: number;
  podsWithRisks: number;
  podsSkipped: number;
  podsRefused: number;
  podsNotReached: number;
  workloadsToChange: number;
}

export interface ScanReport {
  schemaVersion: typeof SCHEMA_VERSION;
  kind: typeof REPORT_KIND;
  /** The kubeconfig context and API server scanned. */
  context: string | null;
  server: string | null;
  /** The configuration file used, or null for the built-in defaults. */
  config: string | null;
  webhookNamespace: string;
  summary: ScanSummary;
  namespaces: NamespaceEntry[];
}

export function summarize(namespaces: readonly NamespaceEntry[]): ScanSummary {
  const s: ScanSummary = {
    namespaces: namespaces.length,
    workloads: 0,
    pods: 0,
    podsAnalysed: 0,
    podsToChange: 0,
    podsWithRisks: 0,
    podsSkipped: 0,
    podsRefused: 0,
    podsNotReached: 0,
    workloadsToChange: 0,
  };
  for (const ns of namespaces) {
    for (const w of ns.workloads) {
      s.workloads++;
      if (w.pods.some((p) => wouldChange(p.verdict))) s.workloadsToChange++;
      for (const p of w.pods) {
        s.pods++;
        if (p.verdict === 'notReached') s.podsNotReached++;
        else s.podsAnalysed++;
        if (p.verdict === 'change') s.podsToChange++;
        if (p.verdict === 'skipped') s.podsSkipped++;
        if (p.verdict === 'refused') s.podsRefused++;
        if (p.risks.length > 0) s.podsWithRisks++;
      }
    }
  }
  return s;
}

/** What makes the exit code 1: a pod the webhook would patch, or would answer with an error. */
export function wouldChange(verdict: Verdict): boolean {
  return verdict === 'change' || verdict === 'refused';
}
