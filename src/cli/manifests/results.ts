/**
 * What hardening a text of manifests gives: each workload and its changes, notes on what was left
 * as it is, and how the output differs from the input; and the options both readers (JSON, YAML)
 * share. Types only, so the readers and the reports depend on these, not on each other.
 */
import type { PatchOperation as Operation } from '../../engine/patch';
import type { Policy } from '../../engine/policy';
import type { Change, ImageUser, Notice } from '../../engine/types';

/** One workload (a Pod or an object with a pod template) and what hardening does to it. */
export interface WorkloadResult {
  source: string;
  /** Index of the YAML document in the text, from 0. */
  document: number;
  /** Index in `items` when the workload is an entry of a List. */
  item?: number;
  /** Line of the object in the text, from 1 (undefined for JSON input). */
  line?: number;
  kind: string;
  name: string;
  namespace: string;
  /** JSON pointer of the pod template in the document (`` for a Pod). */
  template: string;
  /** Init containers with restartPolicy: Always, which run beside the others (native sidecars). */
  sidecars: string[];
  changes: Change[];
  notices: Notice[];
  skipped: boolean;
  /** RFC 6902 patch of the document (paths from the document root), as `kubectl patch --type json` takes it. */
  patch: Operation[];
}

/** Something said about a document that was left as it is, and why. */
export interface ManifestNote {
  source: string;
  document: number;
  line?: number;
  message: string;
}

/** `[start, end)` of the input replaced by `text`, whole lines; the output is the input with these applied. */
export interface Replacement {
  start: number;
  end: number;
  text: string;
  /** A whole file (JSON) printed again, rather than the lines an edit touched. */
  reprinted?: boolean;
}

export interface HardenManifestsResult {
  /** The hardened text; the input itself when nothing changes (or `rewrite` is false). */
  output: string;
  /** Whether hardening changes anything. */
  changed: boolean;
  format: 'yaml' | 'json';
  /** Every workload found, changed or not, in text order. */
  documents: WorkloadResult[];
  notes: ManifestNote[];
  /** How `output` differs from the input (empty when `rewrite` is false). */
  replacements: Replacement[];
}

/** What both readers need. */
export interface Base {
  policy: Policy;
  imageUsers?: ReadonlyMap<string, ImageUser>;
  namespace: string;
  source: string;
  rewrite: boolean;
  kustomizeDir?: string;
}
