/**
 * The core of `pod-hardener harden`, usable in-process (the benchmark calls it): manifest text in,
 * the hardened text and what changed in each workload out (results.ts). JSON files go to
 * json-rewrite.ts, everything else to yaml-rewrite.ts; each document's workloads to
 * document-hardening.ts.
 */
import type { Policy } from '../../engine/policy';
import type { ImageUser } from '../../engine/types';
import { hardenJson } from './json-rewrite';
import { patchNote, type PatchOf } from './kustomize';
import type { Base, HardenManifestsResult } from './results';
import { hardenYaml } from './yaml-rewrite';

export { ManifestError } from './input-errors';
export type { HardenManifestsResult, ManifestNote, Replacement, WorkloadResult } from './results';
export { WORKLOAD_KINDS } from './workload-kinds';

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
