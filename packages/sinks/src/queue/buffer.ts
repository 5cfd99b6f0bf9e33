// The bounded FIFO of batches both queues keep in process: push() applies when_full, take() hands out the
// next delivery (queued batches merged in order up to a size). Counting is left to the caller.

import type { PeregrineEvent } from '@peregrine/events';

export type WhenFull = 'drop_newest' | 'drop_oldest';

interface Item {
  events: PeregrineEvent[];
  enqueuedAt: number;
}

/** Part of a delivery that came from one push(): how many events, and when they were pushed. */
export interface Segment {
  count: number;
  enqueuedAt: number;
}

export interface PushResult {
  /** Events of the batch now queued. */
  accepted: number;
  /** Events of the batch dropped (drop_newest, or a batch larger than the capacity). */
  rejected: number;
  /** Older queued events evicted for it (drop_oldest). */
  evicted: number;
}

export class EventBuffer {
  #items: Item[] = [];
  #head = 0;
  #size = 0;

  constructor(
    readonly capacity: number,
    readonly whenFull: WhenFull,
  ) {}

  /** Events queued. */
  get size(): number {
    return this.#size;
  }

  /** Copies what fits of `batch`; `reserved` events elsewhere (in flight) count against the capacity too. */
  push(batch: readonly PeregrineEvent[], reserved: number, now: number): PushResult {
    const n = batch.length;
    const cap = this.capacity;
    let room = Math.max(0, cap - reserved - this.#size);
    let events: PeregrineEvent[];
    let rejected = 0;
    let evicted = 0;
    if (this.whenFull === 'drop_oldest') {
      events = n <= cap ? batch.slice() : batch.slice(n - cap);
      rejected = n - events.length;
      if (events.length > room) {
        evicted = this.#evict(events.length - room);
        room += evicted;
      }
      if (events.length > room) {
        // What is in flight cannot be evicted: the newest that fit are kept.
        rejected += events.length - room;
        events = room > 0 ? events.slice(events.length - room) : [];
      }
    } else {
      const take = Math.min(n, room);
      events = take === n ? batch.slice() : batch.slice(0, take);
      rejected = n - take;
    }
    if (events.length > 0) {
      this.#items.push({ events, enqueuedAt: now });
      this.#size += events.length;
    }
    return { accepted: events.length, rejected, evicted };
  }

  /** The next delivery: queued batches from the head, merged in order up to `max` events. */
  take(max: number): { events: PeregrineEvent[]; segments: Segment[] } | undefined {
    if (this.#size === 0) return undefined;
    const events: PeregrineEvent[] = [];
    const segments: Segment[] = [];
    while (events.length < max && this.#head < this.#items.length) {
      const item = this.#items[this.#head]!;
      const want = max - events.length;
      if (item.events.length <= want) {
        this.#head++;
        for (const e of item.events) events.push(e);
        segments.push({ count: item.events.length, enqueuedAt: item.enqueuedAt });
      } else {
        for (let i = 0; i < want; i++) events.push(item.events[i]!);
        item.events = item.events.slice(want);
        segments.push({ count: want, enqueuedAt: item.enqueuedAt });
      }
    }
    this.#size -= events.length;
    this.#compact();
    return { events, segments };
  }

  /** Empties the buffer; returns how many events were in it. */
  clear(): number {
    const n = this.#size;
    this.#items = [];
    this.#head = 0;
    this.#size = 0;
    return n;
  }

  /** Evicts up to n of the oldest queued events; returns how many. */
  #evict(n: number): number {
    let left = n;
    while (left > 0 && this.#head < this.#items.length) {
      const item = this.#items[this.#head]!;
      if (item.events.length <= left) {
        left -= item.events.length;
        this.#head++;
      } else {
        item.events = item.events.slice(left);
        left = 0;
      }
    }
    const evicted = n - left;
    this.#size -= evicted;
    this.#compact();
    return evicted;
  }

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
