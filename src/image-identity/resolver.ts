/**
 * The image identity resolver: image references in, what each image runs as out, within a time
 * budget. Answers come from a cache when they can: an image's config is cached by digest (a
 * digest never moves, so until evicted) and a tag's digest for `tagTtlSeconds`. A lookup that
 * does not answer within the budget goes on in the background, up to `lookupTimeoutMs`, and
 * fills the cache for the next pod with that image; the review that asked gets the policy's
 * defaults and a warning. Failures are never thrown: each one is an answer with a reason.
 */
import type { Config } from '../config/schema';
import type { ImageUser } from '../engine/types';
import { BoundedCache } from './cache';
import { parseDockerConfig, type Credentials } from './credentials';
import { HostMatcher } from './hosts';
import { lookupImage, parsePlatform, type Platform } from './lookup';
import { parseImageReference, referenceText, type ImageReference } from './reference';
import { LookupError, RegistryClient, type FailureReason } from './registry';

export type ImageIdentitySettings = Config['imageIdentity'];

/** How one image of one review was answered. */
export type LookupOutcome = 'hit' | 'fetched' | 'miss' | 'failed';

/** Where counts go (metrics in the webhook; nothing in the offline tool). */
export interface LookupObserver {
  /** One image of one review: from the cache, fetched in time, not in time, or failed (with why). */
  lookup(outcome: LookupOutcome, reason?: FailureReason): void;
  /** One registry lookup finished (in the background too), with its duration. */
  fetched(seconds: number, result: 'ok' | FailureReason): void;
  /** The credentials file cannot be used; lookups go on anonymously. */
  credentialsError?(message: string): void;
}

const NO_OBSERVER: LookupObserver = { lookup() {}, fetched() {} };

/**
 * More distinct images than any real pod has: past it, a pod's other images get the defaults
 * (a pod of a thousand containers must not make a thousand lookups).
 */
export const MAX_IMAGES_PER_REVIEW = 32;
/** Lookups in flight across all reviews; past it, new images get the defaults until some end. */
export const MAX_LOOKUPS_IN_FLIGHT = 64;
/** A failed lookup is not retried for this long: a registry that is down is not asked on every pod. */
export const FAILURE_TTL_MS = 10000;
/** The credentials file (a mounted Secret) is read again after this long, so rotations apply. */
const CREDENTIALS_TTL_MS = 30000;

export interface ResolverOptions {
  settings: ImageIdentitySettings;
  /** Reads the credentials file (fs.readFileSync shape). */
  readFile?: (path: string) => string;
  fetch?: typeof fetch;
  observer?: LookupObserver;
  now?: () => number;
}

export class ImageIdentityResolver {
  private readonly settings: ImageIdentitySettings;
  private readonly client: RegistryClient;
  private readonly platform: Platform;
  private readonly allowed: HostMatcher;
  private readonly observer: LookupObserver;
  private readonly now: () => number;
  /** `registry/repo@digest` -> what its config says. */
  private readonly byDigest: BoundedCache<ImageUser>;
  /** `registry/repo:tag` -> digest, for tagTtlSeconds. */
  private readonly tags: BoundedCache<string>;
  /** Reference -> the failure, for FAILURE_TTL_MS. */
  private readonly failures: BoundedCache<ImageUser>;
  private readonly inFlight = new Map<string, Promise<ImageUser>>();
  /** Image as written -> parsed, so a warm review runs no regular expression. */
  private readonly references: BoundedCache<ParsedImage>;
  /** Failure answers and their reasons, for the count of the reviews that get them. */
  private readonly failureReasons = new WeakMap<ImageUser, FailureReason>();
  private credentials: { value: Credentials; read: number } | undefined;

  constructor(private readonly o: ResolverOptions) {
    this.settings = o.settings;
    this.observer = o.observer ?? NO_OBSERVER;
    this.now = o.now ?? Date.now;
    this.platform = parsePlatform(this.settings.platform);
    this.allowed = new HostMatcher(this.settings.registries);
    const entries = this.settings.cacheEntries;
    this.byDigest = new BoundedCache(entries, this.now);
    this.tags = new BoundedCache(entries, this.now);
    this.failures = new BoundedCache(entries, this.now);
    this.references = new BoundedCache(entries, this.now);
    this.client = new RegistryClient({
      allowed: this.allowed,
      insecure: new HostMatcher(this.settings.insecureRegistries),
      credentials: () => this.currentCredentials(),
      fetch: o.fetch,
      now: this.now,
    });
  }

  /**
   * What each image runs as, answered within `budgetMs` (the configured budget by default; the
   * offline tool passes the lookup timeout). Never rejects.
   */
  async resolve(
    images: Iterable<string>,
    budgetMs = this.settings.budgetMs,
  ): Promise<Map<string, ImageUser>> {
    return this.lookup(images, budgetMs);
  }

  /**
   * As resolve, but synchronous when every image is answered without a request (the common,
   * warm case): a review then costs no promise and no turn of the event loop.
   */
  lookup(
    images: Iterable<string>,
    budgetMs = this.settings.budgetMs,
  ): Map<string, ImageUser> | Promise<Map<string, ImageUser>> {
    const answers = new Map<string, ImageUser>();
    const pending: [string, Promise<ImageUser>][] = [];
    for (const image of images) {
      if (answers.has(image) || pending.some(([i]) => i === image)) continue;
      if (answers.size + pending.length >= MAX_IMAGES_PER_REVIEW) {
        answers.set(image, {
          found: false,
          reason: `more than ${MAX_IMAGES_PER_REVIEW} distinct images in one pod; not looked up`,
        });
        this.observer.lookup('failed', 'busy');
        continue;
      }
      const now = this.cached(image);
      if (now !== undefined) {
        answers.set(image, now.user);
        this.observer.lookup(now.outcome, now.reason);
      } else pending.push([image, this.start(image)]);
    }
    return pending.length === 0 ? answers : this.wait(answers, pending, budgetMs);
  }

  private async wait(
    answers: Map<string, ImageUser>,
    pending: [string, Promise<ImageUser>][],
    budgetMs: number,
  ): Promise<Map<string, ImageUser>> {
    const settled = new Map<string, ImageUser>();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(pending.map(([image, p]) => p.then((user) => settled.set(image, user)))),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, budgetMs))),
    ]);
    clearTimeout(timer);
    for (const [image] of pending) {
      const user = settled.get(image);
      if (user === undefined) {
        answers.set(image, {
          found: false,
          reason: `the registry did not answer within ${budgetMs} ms (the lookup goes on, and fills the cache for the next pod)`,
        });
        this.observer.lookup('miss');
      } else {
        answers.set(image, user);
        const reason = this.failureReasons.get(user);
        this.observer.lookup(reason === undefined ? 'fetched' : 'failed', reason);
      }
    }
    return answers;
  }

  /** An image as written, parsed once: its reference (or why none), cache key and whether it is allowed. */
  private parsed(image: string): ParsedImage {
    let p = this.references.get(image);
    if (p === undefined) {
      const ref = parseImageReference(image);
      p =
        typeof ref === 'string'
          ? { error: ref }
          : { ref, key: referenceText(ref), allowed: this.allowed.matches(ref.registry) };
      this.references.set(image, p);
    }
    return p;
  }

  private failure(reason: FailureReason, message: string): ImageUser {
    const user: ImageUser = { found: false, reason: message };
    this.failureReasons.set(user, reason);
    return user;
  }

  /** An answer without a request: from the caches, or a reference that cannot be looked up. */
  private cached(
    image: string,
  ): { user: ImageUser; outcome: LookupOutcome; reason?: FailureReason } | undefined {
    const p = this.parsed(image);
    if ('error' in p) {
      return {
        user: this.failure('bad_reference', `image "${image}" cannot be looked up: ${p.error}`),
        outcome: 'failed',
        reason: 'bad_reference',
      };
    }
    const { ref, key } = p;
    if (!p.allowed) {
      return {
        user: this.failure(
          'not_allowed',
          `registry ${ref.registry} is not in imageIdentity.registries; not looked up`,
        ),
        outcome: 'failed',
        reason: 'not_allowed',
      };
    }
    const digest = ref.digest ?? this.tags.get(key);
    if (digest !== undefined) {
      const user = this.byDigest.get(digestKey(ref, digest));
      if (user !== undefined) return { user, outcome: 'hit' };
    }
    const failed = this.failures.get(key);
    if (failed !== undefined)
      return { user: failed, outcome: 'failed', reason: this.failureReasons.get(failed) };
    return undefined;
  }

  /** Starts (or joins) the lookup of an image that is in no cache. */
  private start(image: string): Promise<ImageUser> {
    const { ref, key } = this.parsed(image) as Exclude<ParsedImage, { error: string }>;
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    if (this.inFlight.size >= MAX_LOOKUPS_IN_FLIGHT)
      return Promise.resolve(
        this.failure('busy', `${MAX_LOOKUPS_IN_FLIGHT} image lookups already in flight`),
      );
    const started = this.now();
    const lookup = lookupImage(
      this.client,
      ref,
      this.platform,
      AbortSignal.timeout(this.settings.lookupTimeoutMs),
    ).then(
      ({ digest, user }) => {
        this.byDigest.set(digestKey(ref, digest), user);
        if (ref.digest === undefined && this.settings.tagTtlSeconds > 0)
          this.tags.set(key, digest, this.settings.tagTtlSeconds * 1000);
        this.observer.fetched((this.now() - started) / 1000, 'ok');
        return user;
      },
      (err: unknown) => {
        const e =
          err instanceof LookupError
            ? err
            : new LookupError('bad_response', err instanceof Error ? err.message : String(err));
        const user = this.failure(e.reason, `image lookup failed: ${e.message}`);
        this.failures.set(key, user, FAILURE_TTL_MS);
        this.observer.fetched((this.now() - started) / 1000, e.reason);
        return user;
      },
    );
    this.inFlight.set(key, lookup);
    void lookup.finally(() => this.inFlight.delete(key));
    return lookup;
  }

  private currentCredentials(): Credentials {
    const file = this.settings.credentialsFile;
    if (file === undefined) return new Map();
    const now = this.now();
    if (this.credentials !== undefined && now - this.credentials.read < CREDENTIALS_TTL_MS)
      return this.credentials.value;
    let value: Credentials = new Map();
    try {
      const read = this.o.readFile;
      if (read === undefined) throw new Error('no file reader');
      const parsed = parseDockerConfig(read(file));
      if (typeof parsed === 'string') this.observer.credentialsError?.(`${file}: ${parsed}`);
      else value = parsed;
    } catch (err) {
      this.observer.credentialsError?.(`${file}: ${(err as Error).message}`);
    }
    this.credentials = { value, read: now };
    return value;
  }
}

type ParsedImage = { ref: ImageReference; key: string; allowed: boolean } | { error: string };

function digestKey(ref: ImageReference, digest: string): string {
  return `${ref.registry}/${ref.repository}@${digest}`;
}
