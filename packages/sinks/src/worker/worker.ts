// `peregrine worker --sink NAME`: a stateless process that takes batch jobs of one sink's BullMQ queue and
// delivers them with the sink. Run any number, on any host; BullMQ hands each job to one worker at a
// time, and a worker that dies mid-batch (SIGKILL, OOM, host lost) stops renewing its lock, so after
// lock_duration_ms the stalled-job check gives the batch to another worker (at-least-once delivery).
//
// A job's BatchResult:
//   delivered  → job completed.
//   retryable  → the delivered prefix is done: the job's data is cut to the rest (job.updateData), then the
//                job fails this attempt and BullMQ retries it after our backoff (exponential + jitter).
//                On the last attempt, or when the next retry would pass max_age_ms, the rest is dead-lettered.
//   rejected   → the rest goes to the dead-letter queue with the reason; the job completes.
// Per-event `deadLetters` in a result go to the dead-letter queue too.
//
// A job's events come as JSON lines stored under a key of their own (queue/payload.ts); a sink with
// writeLines (file) gets them as they are, the others parsed. The key is deleted once the job completes (or
// once a retry has put the undelivered rest inline in the job); a worker that dies before that leaves it
// for the one that takes the job over.

import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { BatchResult, Sink } from '../component.js';
import { toSinkError } from '../errors.js';
import { undelivered } from '../result.js';
import { backoffDelay, parseQueueConfig, type QueueConfig } from '../queue/config.js';
import { deadLetter } from '../queue/dlq.js';
import { LatencyReservoir } from '../queue/latency.js';
import { isBatchJob, loadBatch, salvageEvents } from '../queue/payload.js';
import { addSharedStats, createRedis, queueNames, waitReady, type BatchJobData, type QueueNames } from '../queue/redis.js';
import { deadLettersOf, type LatencyStats } from '../queue/types.js';

export interface RunWorkerOptions {
  redisUrl: string;
  sinkId: string;
  /** The sink, not yet started: the worker starts it, and stops it when it stops. */
  sink: Sink;
  /** Jobs delivered at once by this process (default 1: strict order within one worker). */
  concurrency?: number;
  /** Queue options: retry (backoff, max_attempts, max_age_ms) and redis (prefix, lock_duration_ms…). */
  config?: QueueConfig | unknown;
  /** Stop gracefully on SIGTERM/SIGINT (default true: this is a process's main loop). */
  handleSignals?: boolean;
  /** Worker name recorded on the jobs it takes (default host:pid). */
  name?: string;
  /** Called when a delivery fails with an error unlike the previous one. */
  onError?: (err: Error) => void;
  /** Uniform [0, 1) source for jitter. */
  random?: () => number;
}

/** This worker process's counters (events). The sink's totals over all workers are in Redis (readSharedStats). */
export interface WorkerStats {
  jobs: number;
  sent: number;
  failed: number;
  retried: number;
  deadLettered: number;
  dropped: number;
  latency: LatencyStats;
}

export interface WorkerHandle {
  readonly worker: Worker<BatchJobData>;
  readonly names: QueueNames;
  stats(): WorkerStats;
  /** Waits for the jobs in progress, then stops the sink and closes the connections. Idempotent. */
  close(): Promise<void>;
  /** Settles when the worker has stopped (close() or a signal). */
  readonly closed: Promise<void>;
}

/** A job result the processor hands back to BullMQ (kept small: completed jobs are removed anyway). */
interface JobOutcome {
  delivered: number;
  deadLettered: number;
}

export async function runWorker(opts: RunWorkerOptions): Promise<WorkerHandle> {
  const config = parseQueueConfig(opts.config ?? { redis: { url: opts.redisUrl } });
  const redisCfg = config.redis ?? parseQueueConfig({ redis: { url: opts.redisUrl } }).redis!;
  const names = queueNames(opts.sinkId, redisCfg.prefix);
  const random = opts.random ?? Math.random;
  const { sink } = opts;

  const redis = createRedis(opts.redisUrl, 'worker');
  await waitReady(redis, 30_000);
  const dlq = new Queue(names.dlq, { connection: redis, prefix: names.prefix });
  dlq.on('error', () => undefined);
  await sink.start();

  const latency = new LatencyReservoir();
  const c = { jobs: 0, sent: 0, failed: 0, retried: 0, deadLettered: 0, dropped: 0 };
  let lastError: string | undefined;
  const report = (err: Error): void => {
    if (err.message === lastError) return;
    lastError = err.message;
    opts.onError?.(err);
  };

  const processor = async (job: Job<BatchJobData>): Promise<JobOutcome> => {
    c.jobs++;
    const data = job.data;
    // Not ours (another version, a hand-made job): failed at once, and moved to the DLQ by the 'failed' handler.
    if (!isBatchJob(data)) throw new UnrecoverableError('malformed job: no events array or lines key / enqueued_at');
    const batch = await loadBatch(redis, data);
    const attempt = job.attemptsMade + 1;
    // The tighter of this worker's retry.max_attempts and the job's own attempts (set by the producer).
    const maxAttempts = Math.min(config.retry.max_attempts, job.opts.attempts ?? Number.POSITIVE_INFINITY);
    // Parsed only for a sink without writeLines; a payload that does not parse fails the job here (UnrecoverableError).
    const { lines } = batch;
    const events = lines !== undefined && sink.writeLines !== undefined ? [] : batch.events();
    let r: BatchResult;
    try {
      r = lines !== undefined && sink.writeLines !== undefined ? await sink.writeLines(lines, batch.count) : await sink.write(events);
    } catch (err) {
      r = undelivered(toSinkError(err, `sink ${sink.id}`));
    }
    const now = Date.now();
    let dead = 0;
    const bad = deadLettersOf(r);
    for (const [i, dl] of bad.entries()) {
      await deadLetter(dlq, { events: [dl.event], reason: dl.reason, attempts: attempt, enqueuedAt: data.enqueued_at, sourceJob: job.id, ...nodeOf(data) }, `${job.id}-a${attempt}-e${i}`);
    }
    dead += bad.length;

    if (r.status === 'delivered') {
      const sent = Math.max(0, r.delivered - dead); // dead letters count in `delivered`, not as sent
      c.sent += sent;
      c.dropped += r.dropped ?? 0;
      c.deadLettered += dead;
      latency.add(now - data.enqueued_at);
      lastError = undefined;
      await addSharedStats(redis, names, { sent, dropped: r.dropped ?? 0, dead_lettered: dead }, now - data.enqueued_at);
      return { delivered: sent, deadLettered: dead };
    }

    const done = Math.max(0, Math.min(r.delivered, batch.count));
    const n = Math.max(0, done - dead);
    const rest = batch.events().slice(done);
    const reason = r.error?.message ?? `sink answered ${r.status}`;
    report(r.error ?? new Error(reason));
    c.sent += n;
    c.failed += rest.length;
    const giveUp = async (why: string): Promise<JobOutcome> => {
      await deadLetter(dlq, { events: rest, reason: why, attempts: attempt, enqueuedAt: data.enqueued_at, sourceJob: job.id, ...nodeOf(data) }, `${job.id}-a${attempt}`);
      c.deadLettered += dead + rest.length;
      await addSharedStats(redis, names, { sent: n, failed: rest.length, dead_lettered: dead + rest.length }, n > 0 ? now - data.enqueued_at : undefined);
      return { delivered: n, deadLettered: dead + rest.length };
    };
    if (rest.length === 0) {
      await addSharedStats(redis, names, { sent: n, dead_lettered: dead });
      return { delivered: n, deadLettered: dead };
    }
    if (r.status === 'rejected') return giveUp(reason);
    if (attempt >= maxAttempts) return giveUp(`gave up after ${attempt} attempts: ${reason}`);
    const delay = backoffDelay(config.retry, attempt, random);
    const maxAge = config.retry.max_age_ms;
    if (maxAge > 0 && now + delay - data.enqueued_at > maxAge) {
      return giveUp(`older than max_age_ms (${maxAge}) after ${attempt} attempts: ${reason}`);
    }
    // Only the undelivered rest is retried; the backoff strategy reads the delay chosen here.
    const retry: BatchJobData & { next_delay_ms: number } = { events: rest, enqueued_at: data.enqueued_at, ...nodeOf(data), next_delay_ms: delay };
    await job.updateData(retry);
    if (data.lines !== undefined) await redis.del(data.lines).catch((e: unknown) => report(e instanceof Error ? e : new Error(String(e)))); // no longer pointed at
    c.retried += rest.length;
    c.deadLettered += dead;
    await addSharedStats(redis, names, { sent: n, failed: rest.length, retried: rest.length, dead_lettered: dead });
    throw new Error(reason);
  };

  const worker = new Worker<BatchJobData, JobOutcome>(names.queue, processor, {
    connection: redis,
    prefix: names.prefix,
    concurrency: opts.concurrency ?? 1,
    autorun: false, // started below, once the signal handlers are in place
    lockDuration: redisCfg.lock_duration_ms,
    stalledInterval: redisCfg.stalled_interval_ms,
    maxStalledCount: 3,
    name: opts.name ?? `${process.env.HOSTNAME ?? 'worker'}:${process.pid}`,
    settings: {
      backoffStrategy: (attemptsMade, _type, _err, job) => {
        const planned = (job?.data as { next_delay_ms?: unknown } | undefined)?.next_delay_ms;
        return typeof planned === 'number' ? planned : backoffDelay(config.retry, attemptsMade, random);
      },
    },
  });
  worker.on('error', (err) => report(err));
  // A completed job's lines are no longer needed (its job hash is removed by BullMQ: removeOnComplete).
  const dropLines = (data: unknown): Promise<void> => {
    const key = (data as BatchJobData | undefined)?.lines;
    return typeof key === 'string' ? redis.del(key).then(() => undefined) : Promise.resolve();
  };
  const cleanups = new Set<Promise<void>>();
  worker.on('completed', (job) => {
    const p = dropLines(job.data).catch((e: unknown) => report(e instanceof Error ? e : new Error(String(e))));
    cleanups.add(p);
    void p.finally(() => cleanups.delete(p));
  });
  // A job BullMQ failed on its own (stalled more than maxStalledCount, or our processor threw on its last
  // attempt): move it to the dead-letter queue so nothing is left only in the failed set.
  worker.on('failed', (job, err) => {
    if (job === undefined) return;
    void (async () => {
      if ((await job.getState()) !== 'failed') return; // a retry is scheduled: not final
      const events = await salvageEvents(redis, job.data);
      const enqueuedAt = typeof job.data?.enqueued_at === 'number' ? job.data.enqueued_at : job.timestamp;
      await deadLetter(dlq, { events, reason: job.failedReason || err.message, attempts: job.attemptsMade, enqueuedAt, sourceJob: job.id }, `${job.id}-failed`);
      c.deadLettered += events.length;
      await addSharedStats(redis, names, { dead_lettered: events.length });
      await job.remove();
      await dropLines(job.data);
    })().catch((e: unknown) => report(e instanceof Error ? e : new Error(String(e))));
  });
  await worker.waitUntilReady();

  let closing: Promise<void> | undefined;
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  const onSignal = (): void => void close();
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (opts.handleSignals !== false) {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
      // Let the jobs in progress finish (bounded by shutdown_timeout_ms). A job still running then is left
      // alone: the connection is cut first, so its lock expires and another worker takes the batch over,
      // rather than this one failing or dead-lettering it while the sink stops under it.
      const finished = await Promise.race([
        worker.close().then(
          () => true,
          () => true,
        ),
        delay(config.shutdown_timeout_ms).then(() => false),
      ]);
      if (!finished) redis.disconnect();
      await Promise.race([Promise.all(cleanups), delay(2000)]);
      await sink.stop().catch(() => undefined);
      await Promise.race([dlq.close().catch(() => undefined), delay(2000)]);
      redis.disconnect();
      resolveClosed();
    })();
    return closing;
  };
  if (opts.handleSignals !== false) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  worker.run().catch((err: unknown) => report(err instanceof Error ? err : new Error(String(err))));

  return {
    worker,
    names,
    stats: () => ({ ...c, latency: latency.snapshot() }),
    close,
    closed,
  };
}

function nodeOf(data: BatchJobData): { node?: string } {
  return data.node === undefined ? {} : { node: data.node };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
