// Parked events: raw events that reference an image not yet in the cache (Tetragon's pkg/eventcache).
//
// An exec or clone waits for its parent's exec_id, an exit for its own. Parking is bounded; each parked
// event carries a sequence number (arrival order) and the time it was parked, so events can be released
// in arrival order once what they wait for appears, or in parking order when they time out.

import type { RawEvent } from '@peregrine/events';

export interface Parked {
  readonly seq: number;
  readonly parkedAt: number;
  readonly raw: RawEvent;
  /** exec_id this event waits for. */
  readonly waitFor: string;
  /** exec_id of the image an exec or clone would create (undefined for exits). */
  readonly self: string | undefined;
  done: boolean;
}

interface WaitList {
  items: Parked[];
  /** Items not yet done (done ones are skipped lazily). */
  live: number;
}

export class PendingQueue {
  private readonly byWait = new Map<string, WaitList>();
  private readonly bySelf = new Map<string, Parked>();
  private fifo: Parked[] = [];
  private head = 0;
  private seq = 0;
  size = 0;

  constructor(private readonly max: number) {}

  /** false when the queue is full (the caller must handle the event without waiting). */
  park(raw: RawEvent, waitFor: string, self: string | undefined, nowMs: number): boolean {
    if (this.size >= this.max) return false;
    const p: Parked = { seq: this.seq++, parkedAt: nowMs, raw, waitFor, self, done: false };
    const list = this.byWait.get(waitFor);
    if (list) {
      list.items.push(p);
      list.live++;
    } else {
      this.byWait.set(waitFor, { items: [p], live: 1 });
    }
    if (self !== undefined && !this.bySelf.has(self)) this.bySelf.set(self, p);
    this.fifo.push(p);
    this.size++;
    return true;
  }

  /** Removes and returns (in arrival order) every event waiting for `execId`. */
  takeWaitingFor(execId: string): Parked[] | undefined {
    const list = this.byWait.get(execId);
    if (list === undefined) return undefined;
    this.byWait.delete(execId);
    const out = list.items.filter((p) => !p.done);
    for (const p of out) this.finish(p);
    return out;
  }

  /** The parked exec or clone that would create `execId`, if any. */
  creating(execId: string): Parked | undefined {
    return this.bySelf.get(execId);
  }

  /** Removes one parked event. */
  take(p: Parked): void {
    if (p.done) return;
    const list = this.byWait.get(p.waitFor);
    if (list && --list.live === 0) this.byWait.delete(p.waitFor);
    this.finish(p);
  }

  /** The oldest parked event if it was parked more than `timeoutMs` before `nowMs`. */
  oldestExpired(nowMs: number, timeoutMs: number): Parked | undefined {
    this.skipDone();
    const p = this.fifo[this.head];
    return p !== undefined && nowMs - p.parkedAt > timeoutMs ? p : undefined;
  }

  private finish(p: Parked): void {
    p.done = true;
    if (p.self !== undefined && this.bySelf.get(p.self) === p) this.bySelf.delete(p.self);
    this.size--;
  }

  private skipDone(): void {
    while (this.head < this.fifo.length && this.fifo[this.head]?.done) this.head++;
    if (this.head > 1024 && this.head * 2 > this.fifo.length) {
      this.fifo = this.fifo.slice(this.head);
      this.head = 0;
    }
  }
}

/** A binary min-heap of parked events by arrival order. */
export class ReadyHeap {
  private readonly items: Parked[] = [];

  get size(): number {
    return this.items.length;
  }

  push(p: Parked): void {
    const a = this.items;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      const parent = a[up] as Parked;
      if (parent.seq <= p.seq) break;
      a[i] = parent;
      i = up;
    }
    a[i] = p;
  }

  pop(): Parked | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const left = a[l] as Parked;
      const right = a[r];
      const child = right !== undefined && right.seq < left.seq ? r : l;
      const c = a[child] as Parked;
      if (c.seq >= last.seq) break;
      a[i] = c;
      i = child;
    }
    a[i] = last;
    return top;
  }
}
