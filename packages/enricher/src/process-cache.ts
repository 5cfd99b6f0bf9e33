// The process cache: one entry per process image, keyed by exec_id, reference counted as in Tetragon
// (pkg/process/cache.go).
//
// An entry holds one reference for itself while the image runs, plus one per cached child naming it as
// parent. When the count drops to 0 the entry is released and its parent's count decremented in turn
// (iteratively — chains can be thousands deep). A released entry is removed at once, or, with
// releaseDelayMs > 0, lingers for that long so late events (a child's clone read after its parent's exit)
// still find it; such a lookup revives it.
//
// The cache is bounded. Past capacity it evicts, least recently used first within each tier:
//   1. released entries (refcount 0, lingering),
//   2. exited images kept only as parents (costs ancestry of their descendants),
//   3. running images (costs their exit event and their children's parent).
// An evicted entry gives back the reference it held on its parent; its children keep their
// parent_exec_id but lose the parent link.

import type { Process } from '@peregrine/events';

/** Where an entry is in its life; also the index of its LRU list. */
export const Tier = { Running: 0, Exited: 1, Released: 2, Removed: 3 } as const;
export type Tier = (typeof Tier)[keyof typeof Tier];
type ListedTier = Exclude<Tier, typeof Tier.Removed>;

export interface CacheEntry {
  readonly execId: string;
  readonly process: Process;
  /** The parent's entry, if it was cached when this image appeared. Check `tier` before use: it may be Removed. */
  readonly parent: CacheEntry | null;
  refcnt: number;
  tier: Tier;
  /** nowMs when released (Tier.Released). */
  releasedAt: number;
  prev: CacheEntry | null;
  next: CacheEntry | null;
}

/** An intrusive doubly-linked list: head = least recently used. */
class LruList {
  head: CacheEntry | null = null;
  tail: CacheEntry | null = null;
  size = 0;

  push(e: CacheEntry): void {
    e.prev = this.tail;
    e.next = null;
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
    this.size++;
  }

  unlink(e: CacheEntry): void {
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = e.next = null;
    this.size--;
  }
}

export class ProcessCache {
  private readonly byId = new Map<string, CacheEntry>();
  private readonly tiers: [LruList, LruList, LruList] = [new LruList(), new LruList(), new LruList()];
  evictions = 0;

  constructor(
    private readonly capacity: number,
    private readonly releaseDelayMs: number,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  /** Looks up and marks as recently used (a released entry is neither touched nor revived by a lookup). */
  get(execId: string): CacheEntry | undefined {
    const e = this.byId.get(execId);
    if (e) this.touch(e);
    return e;
  }

  /** Looks up without touching. */
  peek(execId: string): CacheEntry | undefined {
    return this.byId.get(execId);
  }

  has(execId: string): boolean {
    return this.byId.has(execId);
  }

  /** The parent entry if it is still cached. */
  parentOf(e: CacheEntry): CacheEntry | null {
    const p = e.parent;
    return p !== null && p.tier !== Tier.Removed ? p : null;
  }

  /** Adds a running image (caller checked `has`), taking a reference on `parent`. May evict others. */
  insert(process: Process, parent: CacheEntry | null, nowMs: number): CacheEntry {
    const e: CacheEntry = {
      execId: process.exec_id,
      process,
      parent,
      refcnt: 1,
      tier: Tier.Running,
      releasedAt: 0,
      prev: null,
      next: null,
    };
    if (parent !== null) this.acquire(parent);
    this.byId.set(e.execId, e);
    this.tiers[Tier.Running].push(e);
    this.enforceCapacity(nowMs, e);
    return e;
  }

  /** The image stopped running (exit, or replaced by an exec): drop its own reference. Idempotent. */
  exited(e: CacheEntry, nowMs: number): void {
    if (e.tier !== Tier.Running) return;
    this.move(e, Tier.Exited);
    this.release(e, nowMs);
  }

  /** Takes one reference, reviving released ancestors as needed. */
  acquire(e: CacheEntry): void {
    let cur: CacheEntry | null = e;
    while (cur !== null && cur.tier !== Tier.Removed) {
      cur.refcnt++;
      if (cur.refcnt !== 1) break;
      // Revived from Released: it holds its parent again.
      this.move(cur, Tier.Exited);
      cur = cur.parent;
    }
  }

  /** Drops one reference; at 0 the entry is released and the walk continues with its parent. */
  release(e: CacheEntry, nowMs: number): void {
    let cur: CacheEntry | null = e;
    while (cur !== null && cur.tier !== Tier.Removed) {
      cur.refcnt--;
      if (cur.refcnt > 0) break;
      const parent: CacheEntry | null = cur.parent;
      if (this.releaseDelayMs > 0) {
        cur.releasedAt = nowMs;
        this.move(cur, Tier.Released);
      } else {
        this.remove(cur);
      }
      cur = parent;
    }
  }

  /** Removes released entries older than releaseDelayMs. */
  collect(nowMs: number): void {
    const list = this.tiers[Tier.Released];
    while (list.head !== null && nowMs - list.head.releasedAt >= this.releaseDelayMs) this.remove(list.head);
  }

  private enforceCapacity(nowMs: number, keep: CacheEntry): void {
    while (this.byId.size > this.capacity) {
      const victim = this.tiers[Tier.Released].head ?? this.tiers[Tier.Exited].head ?? this.tiers[Tier.Running].head;
      if (victim === null || victim === keep) return; // capacity ≥ 1, so only when keep is all that is left
      this.evictions++;
      const holdsParent = victim.refcnt > 0;
      this.remove(victim);
      if (holdsParent && victim.parent !== null) this.release(victim.parent, nowMs);
    }
  }

  private remove(e: CacheEntry): void {
    this.tiers[e.tier as ListedTier].unlink(e);
    e.tier = Tier.Removed;
    this.byId.delete(e.execId);
  }

  private move(e: CacheEntry, tier: ListedTier): void {
    this.tiers[e.tier as ListedTier].unlink(e);
    e.tier = tier;
    this.tiers[tier].push(e);
  }

  private touch(e: CacheEntry): void {
    if (e.tier === Tier.Released || e.tier === Tier.Removed) return; // the released list stays in release order
    const list = this.tiers[e.tier as ListedTier];
    if (list.tail === e) return;
    list.unlink(e);
    list.push(e);
  }
}
