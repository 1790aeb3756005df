/**
 * The core of `pod-hardener harden`, usable in-process (the benchmark calls it): manifest text in,
 * the hardened text and what changed in each workload out. JSON files go to manifest-json.ts,
 * everything else to manifest-yaml.ts; each workload to harden-document.ts.
 */
import type { PatchOperation as Operation } from '../admission/patch';
import type { Policy } from '../engine/policy';
import type { ImageUser } from '../engine/types';
import type { Change, Notice } from '../engine/types';
import { patchNote, type PatchOf } from './kustomize';
import { hardenJson } from './manifest-json';
import { hardenYaml } from './manifest-yaml';

export { ManifestError } from './manifest-errors';
export { WORKLOAD_KINDS } from './workloads';

export interface HardenManifestsOptions {
  policy: Policy;
  /** Image identity (`--image-identity`): what the images run as, looked up beforehand. */
  imageUsers?: ReadonlyMap<string, ImageUser>;
  /** The namespace of documents that name none (`--namespace`); `default` when not given. */
  namespace?: string;
  /** Where the text comes from (a path, or `-`), for messages. */
  source?: string;
  /**
   * False when only the changes are wanted (--check, --report, --patch): the hardened text is not
   * written (`output` is the input), which is faster and works where the text cannot be edited.
   */
  rewrite?: boolean;
  /** The text is a patch that this kustomization lists: it is left as it is. */
  patchOf?: PatchOf;
  /** A directory with a kustomization that the text belongs to, for the notes on partial objects. */
  kustomizeDir?: string;
}

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

/**
 * Hardens every workload in a text of manifests: multi-document YAML or JSON, List kinds
 * included. Throws ManifestError when the text cannot be read, or a document that must change
 * cannot be written back exactly.
 */
export function hardenManifests(
  text: string,
  options: HardenManifestsOptions,
): HardenManifestsResult {
  const base: Base = {
    policy: options.policy,
    namespace: options.namespace ?? 'default',
    source: options.source ?? '-',
    rewrite: options.rewrite ?? true,
    ...(options.kustomizeDir !== undefined ? { kustomizeDir: options.kustomizeDir } : {}),
    ...(options.imageUsers !== undefined ? { imageUsers: options.imageUsers } : {}),
  };
  if (options.patchOf !== undefined) {
    return {
      output: text,
      changed: false,
      format: 'yaml',
      documents: [],
      notes: [{ source: base.source, document: 0, message: patchNote(options.patchOf) }],
      replacements: [],
    };
  }
  // A byte order mark is kept on the output, and out of JSON.parse's way.
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  if (!/^[ \t\r\n]*[{[]/.test(text.slice(bom))) return hardenYaml(text, base);
  try {
    const result = hardenJson(text.slice(bom), base);
    if (bom === 0) return result;
    return {
      ...result,
      output: `\ufeff${result.output}`,
      replacements: result.replacements.map((r) => ({ ...r, start: r.start + 1, end: r.end + 1 })),
    };
  } catch (jsonError) {
    // YAML in flow style (`{kind: Pod, ...}`) is not JSON; a JSON error is reported if it is not YAML either.
    try {
      return hardenYaml(text, base);
    } catch {
      throw jsonError;
    }
  }
}
