/**
 * A map bounded in entries, least recently used out first (a Map keeps insertion order, and a
 * read re-inserts), each entry with an optional expiry. Bounded so that pods naming ever new
 * images cannot grow the webhook's memory.
 */
export class BoundedCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expires <= this.now()) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Stores `value`; `ttlMs` absent, it stays until evicted. */
  set(key: string, value: V, ttlMs?: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expires: ttlMs === undefined ? Infinity : this.now() + ttlMs });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
