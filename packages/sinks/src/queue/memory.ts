// The in-process delivery queue (the embedded default): a bounded FIFO of batches in front of one sink and
// a pump that delivers them in order, merging queued batches into deliveries of up to batch_max_events.
//
// enqueue() only appends (or drops, counted, per when_full) and returns. A delivery answered `retryable`
// keeps the sink's delivered prefix as done and retries the rest after an exponential backoff with jitter;
// later batches wait behind it (order is kept), so a slow or failing sink fills the buffer and the
// when_full policy, not the caller, absorbs it. `rejected`, out of attempts or older than max_age_ms: the
// rest of the delivery is dead-lettered (kept in a bounded in-memory list, with the reason, and counted).

import type { PeregrineEvent } from '@peregrine/events';
import type { BatchResult, Sink } from '../component.js';
import { toSinkError } from '../errors.js';
import { undelivered } from '../result.js';
import { backoffDelay, parseQueueConfig, type QueueConfig } from './config.js';
import { EventBuffer, type Segment } from './buffer.js';
import { LatencyReservoir } from './latency.js';
import { deadLettersOf, type DeadLetteredBatch, type DeliveryQueue, type EnqueueResult, type QueueStats } from './types.js';

/** The delivery being attempted: the events still undelivered and which enqueue each came from. */
interface Inflight {
  events: PeregrineEvent[];
  segments: Segment[];
  attempts: number;
}

interface Waiter {
  target: number;
  resolve: () => void;
}

export interface MemoryQueueOptions {
  /** Uniform [0, 1) source for jitter; tests pin it. */
  random?: () => number;
  /** Called when a delivery fails with an error unlike the previous one (no per-batch log storms). */
  onError?: (err: Error) => void;
}

export class MemoryQueue implements DeliveryQueue {
  readonly id: string;
  readonly sink: Sink;
  readonly config: QueueConfig;
  readonly #random: () => number;
  readonly #onError: ((err: Error) => void) | undefined;

  readonly #buffer: EventBuffer;
  #inflight: Inflight | undefined;

  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #pumping: Promise<void> | undefined;
  #abandoned = false;
  #wake: (() => void) | undefined;
  #lastError: string | undefined;

  /** Events accepted / events that left (delivered, dead-lettered, evicted, abandoned): drain() compares them. */
  #inTotal = 0;
  #outTotal = 0;
  #waiters: Waiter[] = [];

  readonly #c = { enqueued: 0, dropped: 0, sent: 0, failed: 0, retried: 0, deadLettered: 0 };
  readonly #latency = new LatencyReservoir();
  readonly #deadLetters: DeadLetteredBatch[] = [];
  #deadLetterEvents = 0;

  constructor(sink: Sink, config: QueueConfig | unknown = {}, options: MemoryQueueOptions = {}) {
    this.sink = sink;
    this.id = sink.id;
    this.config = isQueueConfig(config) ? config : parseQueueConfig(config);
    this.#buffer = new EventBuffer(this.config.max_events, this.config.when_full);
    this.#random = options.random ?? Math.random;
    this.#onError = options.onError;
  }

  enqueue(batch: readonly PeregrineEvent[]): EnqueueResult {
    const n = batch.length;
    if (n === 0) return { accepted: 0, dropped: 0 };
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      this.#c.dropped += n;
      return { accepted: 0, dropped: n };
    }
    const r = this.#buffer.push(batch, this.#inflight?.events.length ?? 0, Date.now());
    const dropped = r.rejected + r.evicted;
    this.#c.dropped += dropped;
    this.#left(r.evicted);
    if (r.accepted > 0) {
      this.#inTotal += r.accepted;
      this.#c.enqueued += r.accepted;
      if (this.#state === 'running') this.#kick();
    }
    return { accepted: r.accepted, dropped };
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') return this.#starting;
    this.#starting = (async () => {
      await this.sink.start();
      if (this.#state === 'new') {
        this.#state = 'running';
        this.#kick();
      }
    })();
    return this.#starting;
  }

  drain(): Promise<void> {
    const target = this.#inTotal;
    if (this.#outTotal >= target) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ target, resolve }));
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    await this.#starting?.catch(() => undefined);
    const wasRunning = this.#state === 'running';
    this.#state = 'stopping';
    if (wasRunning) {
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        this.drain().then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), this.config.shutdown_timeout_ms);
        }),
      ]);
      clearTimeout(timer);
      if (!drained) this.#abandon();
      // A write still in flight gets a moment to settle before the sink is stopped under it.
      if (this.#pumping !== undefined) await Promise.race([this.#pumping, delay(1000)]);
    }
    this.#abandon(); // never started, or leftovers: counted as dropped
    await this.sink.stop();
    // A sink that never settles a write must not hold stop() forever: what it holds is counted as dropped.
    if (this.#pumping !== undefined) await Promise.race([this.#pumping, delay(1000)]);
    this.#dropInflight();
    this.#state = 'stopped';
  }

  /** Counts everything still queued or in flight as dropped and makes the pump give up. */
  #abandon(): void {
    this.#abandoned = true;
    const queued = this.#buffer.clear();
    this.#c.dropped += queued;
    this.#left(queued);
    if (this.#pumping === undefined && this.#inflight !== undefined) {
      this.#dropInflight();
    }
    this.#wake?.();
  }

  #dropInflight(): void {
    const f = this.#inflight;
    if (f === undefined) return;
    this.#inflight = undefined;
    this.#c.dropped += f.events.length;
    this.#left(f.events.length);
  }

  stats(): QueueStats {
    return { ...this.#c, depth: this.depth(), capacity: this.config.max_events, latency: this.#latency.snapshot() };
  }

  /** Events queued plus in flight. */
  depth(): number {
    return this.#buffer.size + (this.#inflight?.events.length ?? 0);
  }

  /** Dead-lettered batches still held in memory (bounded by dead_letter.max_events), oldest first. */
  deadLetters(): readonly DeadLetteredBatch[] {
    return this.#deadLetters;
  }

  /** Takes the dead letters out: they can be enqueue()d again. */
  takeDeadLetters(): DeadLetteredBatch[] {
    const out = this.#deadLetters.splice(0);
    this.#deadLetterEvents = 0;
    return out;
  }

  /** `dlq replay` for the in-process queue: enqueues every dead letter held again (when_full applies). */
  replayDeadLetters(): EnqueueResult {
    const total = { accepted: 0, dropped: 0 };
    for (const d of this.takeDeadLetters()) {
      const r = this.enqueue(d.events);
      total.accepted += r.accepted;
      total.dropped += r.dropped;
    }
    return total;
  }

  #kick(): void {
    this.#pumping ??= this.#pump().finally(() => {
      this.#pumping = undefined;
      // enqueued while the pump was finishing
      if (this.#state === 'running' && this.#buffer.size > 0 && !this.#abandoned) this.#kick();
    });
  }

  async #pump(): Promise<void> {
    for (;;) {
      if (this.#abandoned) {
        this.#dropInflight();
        return;
      }
      const f = (this.#inflight ??= this.#take());
      if (f === undefined) return;
      f.attempts++;
      let r: BatchResult;
      try {
        r = await this.sink.write(f.events);
      } catch (err) {
        r = undelivered(toSinkError(err, `sink ${this.id}`)); // a sink must not throw; treat it as retryable
      }
      if (this.#inflight !== f) return; // given up on by stop() while the sink held it
      this.#settle(f, r);
      if (this.#inflight === undefined) continue;
      // Something is left to retry: wait, unless this was the last attempt or it would get too old.
      const rest = f.events.length;
      const reason = r.error?.message ?? `sink answered ${r.status}`;
      if (r.status === 'rejected') {
        this.#deadLetter(f, reason);
        continue;
      }
      if (f.attempts >= this.config.retry.max_attempts) {
        this.#deadLetter(f, `gave up after ${f.attempts} attempts: ${reason}`);
        continue;
      }
      const delay = backoffDelay(this.config.retry, f.attempts, this.#random);
      const oldest = f.segments[0]?.enqueuedAt ?? Date.now();
      const maxAge = this.config.retry.max_age_ms;
      if (maxAge > 0 && Date.now() + delay - oldest > maxAge) {
        this.#deadLetter(f, `older than max_age_ms (${maxAge}) after ${f.attempts} attempts: ${reason}`);
        continue;
      }
      this.#c.retried += rest;
      if (!this.#abandoned) await this.#sleep(delay);
    }
  }

  /** Books a write's result: the delivered prefix leaves; the in-flight delivery is cleared if nothing is left. */
  #settle(f: Inflight, r: BatchResult): void {
    const now = Date.now();
    const bad = deadLettersOf(r);
    for (const dl of bad) this.#remember([dl.event], dl.reason, f.attempts, now);
    this.#c.deadLettered += bad.length;
    if (r.status === 'delivered') {
      this.#c.sent += Math.max(0, r.delivered - bad.length);
      this.#consume(f, f.events.length, now);
      this.#inflight = undefined;
      this.#lastError = undefined;
      return;
    }
    const n = Math.max(0, Math.min(r.delivered, f.events.length));
    this.#c.sent += Math.max(0, n - bad.length);
    this.#consume(f, n, now);
    if (f.events.length === 0) {
      this.#inflight = undefined;
      return;
    }
    this.#c.failed += f.events.length;
    const err = r.error ?? new Error(`sink ${this.id} answered ${r.status}`);
    if (err.message !== this.#lastError) {
      this.#lastError = err.message;
      this.#onError?.(err);
    }
  }

  /** The first n events of the delivery are done: sample the latency of each enqueue that completes. */
  #consume(f: Inflight, n: number, now: number): void {
    if (n <= 0) return;
    f.events = n >= f.events.length ? [] : f.events.slice(n);
    let left = n;
    while (left > 0 && f.segments.length > 0) {
      const s = f.segments[0]!;
      if (s.count <= left) {
        left -= s.count;
        f.segments.shift();
        this.#latency.add(now - s.enqueuedAt);
      } else {
        s.count -= left;
        left = 0;
      }
    }
    this.#left(n);
  }

  #deadLetter(f: Inflight, reason: string): void {
    const events = f.events;
    this.#inflight = undefined;
    this.#c.deadLettered += events.length;
    this.#remember(events, reason, f.attempts, Date.now());
    this.#left(events.length);
  }

  #remember(events: PeregrineEvent[], reason: string, attempts: number, failedAt: number): void {
    const max = this.config.dead_letter.max_events;
    if (max === 0) return;
    this.#deadLetters.push({ events, reason, attempts, failedAt });
    this.#deadLetterEvents += events.length;
    while (this.#deadLetterEvents > max && this.#deadLetters.length > 1) {
      this.#deadLetterEvents -= this.#deadLetters.shift()!.events.length;
    }
  }

  /** The next delivery: queued batches from the head, merged up to batch_max_events. */
  #take(): Inflight | undefined {
    const next = this.#buffer.take(this.config.batch_max_events);
    return next && { ...next, attempts: 0 };
  }

  #left(n: number): void {
    if (n <= 0) return;
    this.#outTotal += n;
    if (this.#waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (this.#outTotal >= w.target) w.resolve();
      else still.push(w);
    }
    this.#waiters = still;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.#wake = undefined;
        resolve();
      }
      this.#wake = done;
    });
  }
}

function isQueueConfig(c: unknown): c is QueueConfig {
  const o = c as Partial<QueueConfig> | null;
  return typeof o === 'object' && o !== null && typeof o.max_events === 'number' && typeof o.retry === 'object' && typeof o.dead_letter === 'object';
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
