// The durable delivery queue, agent side: batches for sink S become jobs of the BullMQ queue
// `<prefix>:S` in Redis; `peregrine worker --sink S` processes (worker/worker.ts), any number on any host,
// deliver them. The agent never waits on Redis: enqueue() appends to the same bounded in-process buffer
// as the memory queue (when_full applies and is counted), and a flush loop writes merged batches to
// Redis as jobs (addBulk), retrying with backoff while Redis is unreachable. Job ids are fixed before the
// first try, so a retried add whose first try did land is not added twice. A job's events travel as JSON
// lines in a Redis string of their own, written just before the job (payload.ts: why).
//
// Dead letters live in a second queue, `<prefix>:S.dlq` (see dlq.ts): workers move a batch there (with the
// reason) when the sink rejects it, it runs out of attempts or gets older than max_age_ms.
//
// stats(): enqueued/dropped are this process's; sent/failed/retried/deadLettered/latency are the sink's
// shared counters in Redis (all workers), refreshed every second; depth = local buffer + Redis backlog.

import { randomBytes } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { eventJson, type PeregrineEvent } from '@peregrine/events';
import { EventBuffer, type Segment } from './buffer.js';
import { parseQueueConfig, type QueueConfig, type RedisQueueConfig } from './config.js';
import { linesKey } from './payload.js';
import { addSharedStats, createRedis, queueNames, readSharedStats, type BatchJobData, type QueueNames, type SharedStats } from './redis.js';
import type { DeliveryQueue, EnqueueResult, QueueStats } from './types.js';

/** Name of the custom backoff strategy workers register (exponential, jitter, capped). */
export const BACKOFF_TYPE = 'peregrine';
/** Jobs, and events, written to Redis per round trip at most. */
const JOBS_PER_FLUSH = 64;
const EVENTS_PER_FLUSH = 10_000;
const STATS_INTERVAL_MS = 1000;

export interface BullQueueStats extends QueueStats {
  /** Events buffered in this process, not yet in Redis. */
  buffered: number;
  /** Events written to Redis by this process. */
  flushed: number;
  /** Redis writes that failed (each retried). */
  redisErrors: number;
  /** Events that could not be encoded as JSON (dropped, also counted in `dropped`). */
  unencodable: number;
  /** The sink's counters in Redis at the last refresh (undefined until one succeeded). */
  shared: SharedStats | undefined;
}

export interface BullQueueOptions {
  /** Recorded in each job (`node`). */
  nodeName?: string;
  /** Called when a Redis write fails with an error unlike the previous one. */
  onError?: (err: Error) => void;
}

/** The job options of a batch: attempts and backoff from the retry config; completed jobs are removed. */
export function batchJobOptions(config: QueueConfig, jobId?: string): JobsOptions {
  return {
    ...(jobId === undefined ? {} : { jobId }),
    attempts: config.retry.max_attempts,
    backoff: { type: BACKOFF_TYPE },
    removeOnComplete: true,
    // Workers move given-up batches to the dead-letter queue themselves; a job BullMQ fails on its own
    // (stalled too often) stays in the failed set and is moved by the workers' 'failed' handler.
    removeOnFail: false,
  };
}

interface PendingJob {
  id: string;
  data: BatchJobData;
  /** The batch as JSON lines, stored under data.lines. */
  lines: string;
}

export class BullQueue implements DeliveryQueue {
  readonly id: string;
  readonly config: QueueConfig;
  readonly redisConfig: RedisQueueConfig;
  readonly names: QueueNames;
  readonly #buffer: EventBuffer;
  readonly #nodeName: string | undefined;
  readonly #onError: ((err: Error) => void) | undefined;
  readonly #producerId = randomBytes(6).toString('hex');
  #seq = 0;

  #redis: Redis | undefined;
  #queue: Queue | undefined;
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  #stopping: Promise<void> | undefined;
  #loop: Promise<void> | undefined;
  /** Ends the flush loop's current sleep (stop). */
  #wake: (() => void) | undefined;
  /** Ends it only while it waits for work (enqueue): merge and backoff waits run their course. */
  #wakeIdle: (() => void) | undefined;
  #statsTimer: NodeJS.Timeout | undefined;
  #lastError: string | undefined;
  #abandoned = false;

  /** Jobs taken from the buffer whose add has not succeeded yet (retried first, same ids). */
  #pending: PendingJob[] = [];
  #pendingEvents = 0;

  #inTotal = 0;
  #outTotal = 0;
  #waiters: { target: number; resolve: () => void }[] = [];

  readonly #c = { enqueued: 0, dropped: 0, flushed: 0, redisErrors: 0, unencodable: 0 };
  #shared: SharedStats | undefined;
  #statsWrite: Promise<void> = Promise.resolve();

  constructor(sinkId: string, config: QueueConfig | unknown, options: BullQueueOptions = {}) {
    this.id = sinkId;
    this.config = parseQueueConfig(config);
    if (this.config.redis === undefined) throw new Error(`queue of sink ${sinkId}: BullQueue needs a redis section`);
    this.redisConfig = this.config.redis;
    this.names = queueNames(sinkId, this.redisConfig.prefix);
    this.#buffer = new EventBuffer(this.config.max_events, this.config.when_full);
    this.#nodeName = options.nodeName;
    this.#onError = options.onError;
  }

  enqueue(batch: readonly PeregrineEvent[]): EnqueueResult {
    const n = batch.length;
    if (n === 0) return { accepted: 0, dropped: 0 };
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      this.#c.dropped += n;
      return { accepted: 0, dropped: n };
    }
    const r = this.#buffer.push(batch, this.#pendingEvents, Date.now());
    const dropped = r.rejected + r.evicted;
    this.#c.dropped += dropped;
    this.#left(r.evicted);
    if (r.accepted > 0) {
      this.#inTotal += r.accepted;
      this.#c.enqueued += r.accepted;
      this.#wakeIdle?.();
    }
    return { accepted: r.accepted, dropped };
  }

  /** Connects (in the background: a Redis outage at boot only fills the buffer) and starts flushing. */
  async start(): Promise<void> {
    if (this.#state !== 'new') return;
    this.#state = 'running';
    this.#redis = createRedis(this.redisConfig.url, 'producer');
    this.#queue = new Queue(this.names.queue, { connection: this.#redis, prefix: this.names.prefix });
    this.#queue.on('error', () => undefined); // failures surface through addBulk, counted there
    this.#loop = this.#flushLoop();
    this.#statsTimer = setInterval(() => void this.refreshShared(), STATS_INTERVAL_MS);
    this.#statsTimer.unref();
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
    const wasRunning = this.#state === 'running';
    this.#state = 'stopping';
    if (wasRunning) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.drain(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.config.shutdown_timeout_ms);
        }),
      ]);
      clearTimeout(timer);
    }
    this.#abandoned = true;
    this.#wake?.();
    clearInterval(this.#statsTimer);
    // An add stuck waiting for a Redis that never came up ends when the connection is closed.
    await Promise.race([this.#loop, delay(1000)]);
    await Promise.race([this.#statsWrite, delay(1000)]);
    await this.refreshShared();
    await Promise.race([this.#queue?.close().catch(() => undefined), delay(2000)]);
    this.#redis?.disconnect();
    await Promise.race([this.#loop, delay(2000)]);
    const left = this.#buffer.clear() + this.#pendingEvents;
    this.#pending = [];
    this.#pendingEvents = 0;
    this.#c.dropped += left;
    this.#left(left);
    this.#state = 'stopped';
  }

  stats(): BullQueueStats {
    const local = this.#buffer.size + this.#pendingEvents;
    const s = this.#shared;
    return {
      depth: local + (s?.backlog ?? 0),
      capacity: this.config.max_events,
      enqueued: this.#c.enqueued,
      dropped: this.#c.dropped,
      sent: s?.sent ?? 0,
      failed: s?.failed ?? 0,
      retried: s?.retried ?? 0,
      deadLettered: s?.deadLettered ?? 0,
      latency: s?.latency ?? { samples: 0, p50_ms: 0, p99_ms: 0, max_ms: 0 },
      buffered: local,
      flushed: this.#c.flushed,
      redisErrors: this.#c.redisErrors,
      unencodable: this.#c.unencodable,
      shared: s,
    };
  }

  /** Re-reads the sink's shared counters from Redis (also done every second while running). */
  async refreshShared(): Promise<SharedStats | undefined> {
    if (this.#redis?.status !== 'ready') return this.#shared;
    try {
      this.#shared = await readSharedStats(this.#redis, this.names);
    } catch {
      // keep the last snapshot
    }
    return this.#shared;
  }

  async #flushLoop(): Promise<void> {
    let failures = 0;
    for (;;) {
      if (this.#abandoned) return;
      if (this.#pending.length === 0) {
        if (this.#buffer.size === 0) {
          await this.#sleep(undefined);
          continue;
        }
        // Let a few more batches arrive so they share a job, unless a full job is already there.
        if (this.#buffer.size < this.config.batch_max_events && this.#state === 'running') await this.#sleep(this.redisConfig.flush_interval_ms);
        this.#takeJobs();
      }
      try {
        await this.#storeLines();
        await this.#queue!.addBulk(this.#pending.map((j) => ({ name: 'batch', data: j.data, opts: batchJobOptions(this.config, j.id) })));
        const n = this.#pendingEvents;
        this.#pending = [];
        this.#pendingEvents = 0;
        this.#c.flushed += n;
        this.#lastError = undefined;
        failures = 0;
        this.#left(n);
        this.#statsWrite = addSharedStats(this.#redis!, this.names, { enqueued: n });
      } catch (err) {
        if (this.#abandoned) return;
        this.#c.redisErrors++;
        const e = err instanceof Error ? err : new Error(String(err));
        if (e.message !== this.#lastError) {
          this.#lastError = e.message;
          this.#onError?.(e);
        }
        failures++;
        await this.#sleep(Math.min(5000, 50 * 2 ** Math.min(failures, 7)));
      }
    }
  }

  #takeJobs(): void {
    while (this.#pending.length < JOBS_PER_FLUSH && this.#pendingEvents < EVENTS_PER_FLUSH) {
      const next = this.#buffer.take(this.config.batch_max_events);
      if (next === undefined) break;
      const { lines, count } = this.#encode(next.events);
      if (count === 0) continue;
      const id = `${this.#producerId}-${++this.#seq}`;
      this.#pending.push({ id, lines, data: this.#jobData(id, count, next.segments) });
      this.#pendingEvents += count;
    }
  }

  /**
   * The events as JSON lines (eventJson, the file sink's bytes) in one string, which ioredis writes to the
   * socket as it is (a Buffer per job cost ~4 µs per event more in copies and GC). An event JSON cannot
   * represent (a cycle, a BigInt) is dropped and counted.
   */
  #encode(events: PeregrineEvent[]): { lines: string; count: number } {
    let lines = '';
    let count = 0;
    for (const e of events) {
      try {
        lines += `${eventJson(e)}\n`;
        count++;
      } catch (err) {
        this.#c.unencodable++;
        this.#c.dropped++;
        this.#left(1);
        const why = new Error(`queue of sink ${this.id}: an event cannot be encoded as JSON, dropped: ${err instanceof Error ? err.message : String(err)}`);
        if (why.message !== this.#lastError) {
          this.#lastError = why.message;
          this.#onError?.(why);
        }
      }
    }
    return { lines, count };
  }

  /** Writes the pending jobs' lines (again, after a failure: SET is idempotent) before their jobs. */
  async #storeLines(): Promise<void> {
    const p = this.#redis!.pipeline();
    for (const j of this.#pending) p.set(j.data.lines!, j.lines);
    for (const [err] of (await p.exec()) ?? []) if (err) throw err;
  }

  #jobData(id: string, count: number, segments: Segment[]): BatchJobData {
    const data: BatchJobData = { lines: linesKey(this.names, id), count, enqueued_at: segments[0]?.enqueuedAt ?? Date.now() };
    if (this.#nodeName !== undefined) data.node = this.#nodeName;
    return data;
  }

  #left(n: number): void {
    if (n <= 0) return;
    this.#outTotal += n;
    if (this.#waiters.length === 0) return;
    const still = [];
    for (const w of this.#waiters) {
      if (this.#outTotal >= w.target) w.resolve();
      else still.push(w);
    }
    this.#waiters = still;
  }

  /** Sleeps ms, or until there is work if ms is undefined; stop() ends any sleep. */
  #sleep(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.#wake = undefined;
        self.#wakeIdle = undefined;
        resolve();
      }
      this.#wake = done;
      if (ms === undefined) this.#wakeIdle = done;
    });
  }
}

/** True when the queue options name a Redis: batches go through BullQueue and `peregrine worker`. */
export function isDurable(config: QueueConfig): config is QueueConfig & { redis: RedisQueueConfig } {
  return config.redis !== undefined;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
