/**
 * One image's config read from its registry: the manifest (or the index, then the manifest of
 * the node's platform), then the config blob, each checked against its digest, then its
 * `config.User`.
 */
import type { ImageUser } from '../engine/types';
import { imageUserOf } from './config-user';
import type { ImageReference } from './reference';
import { LookupError, MEDIA_TYPES, sha256, type RegistryClient } from './registry';

/** `linux/amd64`, `linux/arm64/v8`. */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export function parsePlatform(text: string): Platform {
  const [os, architecture, variant] = text.split('/');
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]);
const CONFIG_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);

export interface ImageLookup {
  /** The digest the reference named or resolved to (the index's, for a multi-platform image). */
  digest: string;
  user: ImageUser;
}

export async function lookupImage(
  client: RegistryClient,
  ref: ImageReference,
  platform: Platform,
  signal: AbortSignal,
): Promise<ImageLookup> {
  const top = await client.manifest(ref, ref.digest ?? ref.tag!, signal);
  const digest = sha256(top.bytes);
  if (ref.digest !== undefined && ref.digest !== digest)
    throw new LookupError('bad_response', `the manifest's content does not match ${ref.digest}`);
  let manifest = parseDocument(top.bytes, 'manifest');
  if (INDEX_TYPES.has(mediaTypeOf(manifest, top.contentType))) {
    const chosen = choosePlatform(manifest, platform);
    const child = await client.manifest(ref, chosen, signal);
    if (sha256(child.bytes) !== chosen)
      throw new LookupError('bad_response', `the manifest's content does not match ${chosen}`);
    manifest = parseDocument(child.bytes, 'manifest');
    if (INDEX_TYPES.has(mediaTypeOf(manifest, child.contentType)))
      throw new LookupError('bad_response', 'an index inside an index');
  }
  if (manifest.schemaVersion === 1)
    throw new LookupError('bad_response', 'a schema 1 manifest (no image config to read)');
  const config = manifest.config as { digest?: unknown; mediaType?: unknown } | undefined;
  if (typeof config?.digest !== 'string' || !DIGEST.test(config.digest))
    throw new LookupError('bad_response', 'the manifest names no sha256 config digest');
  if (typeof config.mediaType === 'string' && !CONFIG_TYPES.has(config.mediaType))
    throw new LookupError('bad_response', `not a container image (config ${config.mediaType})`);
  const blob = await client.blob(ref, config.digest, signal);
  if (sha256(blob.bytes) !== config.digest)
    throw new LookupError('bad_response', `the config's content does not match ${config.digest}`);
  const image = parseDocument(blob.bytes, 'image config');
  const inner = image.config;
  const user =
    typeof inner === 'object' && inner !== null ? (inner as { User?: unknown }).User : undefined;
  return { digest, user: imageUserOf(user) };
}

function parseDocument(bytes: Buffer, what: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new LookupError('bad_response', `the ${what} is not JSON`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new LookupError('bad_response', `the ${what} is not a JSON object`);
  return doc as Record<string, unknown>;
}

/** The document's own mediaType, else the response's Content-Type (without parameters). */
function mediaTypeOf(doc: Record<string, unknown>, contentType: string): string {
  if (typeof doc.mediaType === 'string') return doc.mediaType;
  if (Array.isArray(doc.manifests)) return MEDIA_TYPES.ociIndex;
  return contentType.split(';', 1)[0].trim().toLowerCase();
}

/** The digest of the index entry for the platform; a variant is only compared when configured. */
function choosePlatform(index: Record<string, unknown>, want: Platform): string {
  const entries = Array.isArray(index.manifests) ? (index.manifests as unknown[]) : [];
  for (const entry of entries) {
    const e = entry as { digest?: unknown; platform?: Record<string, unknown> } | null;
    const p = e?.platform;
    if (typeof e?.digest !== 'string' || !DIGEST.test(e.digest) || !p) continue;
    if (p.os !== want.os || p.architecture !== want.architecture) continue;
    if (want.variant !== undefined && p.variant !== undefined && p.variant !== want.variant)
      continue;
    return e.digest;
  }
  throw new LookupError(
    'no_platform',
    `the image has no ${want.os}/${want.architecture}${want.variant ? `/${want.variant}` : ''} manifest`,
  );
}
