/**
 * `--image-identity` for the offline tool and scan: the same resolver and settings as the
 * webhook (imageIdentity in --config's file), waiting up to lookupTimeoutMs rather than the
 * review budget, so the output is what the webhook stores once its cache is warm. The flag is
 * the opt-in here: `imageIdentity.enabled` is the webhook's.
 */
import YAML from 'yaml';
import { loadConfig } from '../config/load';
import type { ImageUser } from '../engine/types';
import { ImageIdentityResolver, MAX_IMAGES_PER_REVIEW } from '../image-identity/resolver';
import type { Io } from './command';

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/** What each image named in the texts (manifests, or pods as JSON) runs as. */
export async function imageUsersFor(
  texts: readonly string[],
  configFile: string | undefined,
  io: Pick<Io, 'stderr' | 'env' | 'readFile'>,
): Promise<ReadonlyMap<string, ImageUser>> {
  const { config } = loadConfig({
    argv: configFile === undefined ? [] : ['--config', configFile],
    env: io.env,
    readFile: io.readFile,
    purpose: 'offline',
  });
  const settings = config.imageIdentity;
  if (settings.registries.length === 0) {
    io.stderr(
      'pod-hardener: --image-identity: imageIdentity.registries is empty in the configuration; no image is looked up\n',
    );
    return new Map();
  }
  const resolver = new ImageIdentityResolver({
    settings,
    readFile: io.readFile,
    observer: {
      lookup() {},
      fetched() {},
      credentialsError: (message) =>
        io.stderr(`pod-hardener: --image-identity: cannot read the credentials: ${message}\n`),
    },
  });
  const images = [...new Set(texts.flatMap(imagesIn))];
  const out = new Map<string, ImageUser>();
  for (let i = 0; i < images.length; i += MAX_IMAGES_PER_REVIEW) {
    const chunk = images.slice(i, i + MAX_IMAGES_PER_REVIEW);
    for (const [image, user] of await resolver.resolve(chunk, settings.lookupTimeoutMs))
      out.set(image, user);
  }
  return out;
}

/** The images of every container list in the documents of a text; nothing when it does not parse. */
function imagesIn(text: string): string[] {
  const out: string[] = [];
  const walk = (node: unknown, key: string | undefined) => {
    if (Array.isArray(node)) {
      for (const item of node) {
        if (key !== undefined && CONTAINER_LISTS.has(key)) {
          const image = (item as { image?: unknown } | null)?.image;
          if (typeof image === 'string') out.push(image);
        }
        walk(item, undefined);
      }
    } else if (typeof node === 'object' && node !== null) {
      for (const [k, v] of Object.entries(node)) walk(v, k);
    }
  };
  try {
    for (const doc of YAML.parseAllDocuments(text))
      walk(doc.toJS({ maxAliasCount: 100 }), undefined);
  } catch {
    // The harden command reports what cannot be read.
  }
  return out;
}
