/**
 * The smallest `Reflect` metadata polyfill that @peculiar/x509 v2 needs.
 *
 * @peculiar/x509 v2 registers its algorithms with tsyringe, and tsyringe throws at import time
 * ("tsyringe requires a reflect polyfill") unless `Reflect.getMetadata` exists. tsyringe calls
 * only `getMetadata`, `getOwnMetadata` and `defineMetadata` (tsyringe/dist/cjs/reflection-helpers.js),
 * and x509's injectable classes take no constructor parameters, so a WeakMap-backed store is
 * enough. This avoids a runtime dependency (reflect-metadata) for three functions. If a full
 * polyfill is already loaded, it is left alone.
 */

type MetadataMap = Map<unknown, unknown>;
const store = new WeakMap<object, MetadataMap>();

function own(target: object, create: boolean): MetadataMap | undefined {
  let map = store.get(target);
  if (!map && create) {
    map = new Map();
    store.set(target, map);
  }
  return map;
}

const R = Reflect as unknown as Record<string, unknown>;
if (typeof R.getMetadata !== 'function') {
  R.defineMetadata = (key: unknown, value: unknown, target: object): void => {
    own(target, true)!.set(key, value);
  };
  R.getOwnMetadata = (key: unknown, target: object): unknown => own(target, false)?.get(key);
  R.getMetadata = (key: unknown, target: object): unknown => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
      const map = own(t, false);
      if (map?.has(key)) return map.get(key);
    }
    return undefined;
  };
}

export {};
