/**
 * Image identity in the webhook: the resolver, built once from the configuration when
 * `imageIdentity.enabled`, counted into the metrics, and the step the transport runs before a
 * review: the images the pod may take its user from, resolved within the budget. When it is
 * off, or a pod needs no image looked up, the review runs synchronously as always.
 */
import { readFileSync } from 'node:fs';
import { imagesToLookUp } from '../admission/images';
import type { Config } from '../config/schema';
import type { ImageUser } from '../engine/types';
import { ImageIdentityResolver, MAX_IMAGES_PER_REVIEW } from '../image-identity/resolver';
import type { Logger } from './logging';
import type { Metrics } from './metrics';

/**
 * A review body in; the image users (at once when the cache answers every image, else a
 * promise), or undefined when there is nothing to look up.
 */
export type ImageUsersStep = (
  body: unknown,
) => ReadonlyMap<string, ImageUser> | Promise<ReadonlyMap<string, ImageUser>> | undefined;

export function createImageUsersStep(
  config: Config,
  metrics: Metrics,
  logger: Logger,
  fetchImpl?: typeof fetch,
): ImageUsersStep | undefined {
  const settings = config.imageIdentity;
  if (!settings.enabled) return undefined;
  // One child per label pair, bound once: a warm review counts without hashing labels.
  const counters = new Map<string, { inc(): void }>();
  const count = (outcome: string, reason = '') => {
    const key = `${outcome}/${reason}`;
    let child = counters.get(key);
    if (child === undefined)
      counters.set(key, (child = metrics.imageLookups.labels(outcome, reason)));
    child.inc();
  };
  const resolver = new ImageIdentityResolver({
    settings,
    readFile: (path) => readFileSync(path, 'utf8'),
    ...(fetchImpl && { fetch: fetchImpl }),
    observer: {
      lookup: count,
      fetched: (seconds, result) => metrics.imageFetchDuration.observe({ result }, seconds),
      credentialsError: (message) => {
        metrics.imageCredentialsErrors.inc();
        logger.warn(
          { error: message },
          'image identity: cannot read the registry credentials; looking up anonymously',
        );
      },
    },
  });
  return (body) => {
    const images = imagesToLookUp(body, MAX_IMAGES_PER_REVIEW + 1);
    return images.length === 0 ? undefined : resolver.lookup(images);
  };
}
