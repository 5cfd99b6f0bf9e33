// The dead-letter queue of a sink: a BullMQ queue `<prefix>:<sink>.dlq` that nothing processes. Workers put
// batches there (deadLetter()) with the reason; `peregrine dlq list` reads it and `peregrine dlq replay`
// puts batches back on the sink queue (new job, fresh attempts and age) and removes them from the DLQ.
//
// Why a queue of its own rather than BullMQ's failed set: it also takes single events a sink dead-letters
// out of a delivered batch (BatchResult.deadLetters), it holds exactly what is left to deliver (the
// delivered prefix of a batch is never replayed), and `dlq list` is one LRANGE, unaffected by jobs failing.

import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { PeregrineEvent } from '@peregrine/events';
import { batchJobOptions } from './bullmq.js';
import { parseQueueConfig, type QueueConfig } from './config.js';
import { addSharedStats, createRedis, queueNames, waitReady, type BatchJobData, type DeadLetterJobData, type QueueNames } from './redis.js';

export interface DeadLetterInfo {
  /** DLQ job id (pass to replay). */
  id: string;
  events: number;
  reason: string;
  attempts: number;
  /** Epoch ms. */
  failedAt: number;
  /** Epoch ms when the agent enqueued the batch. */
  enqueuedAt: number;
  /** Sink-queue job it came from. */
  sourceJob: string | undefined;
}

export interface DlqOptions {
  /** Key prefix (default `peregrine`). */
  prefix?: string;
  /** How long to wait for Redis before failing (default 10 s). */
  timeoutMs?: number;
}

/** Puts events on the sink's dead-letter queue. `jobId` makes a repeated call (after a crash) a no-op. */
export async function deadLetter(
  dlq: Queue,
  data: { events: PeregrineEvent[]; reason: string; attempts: number; enqueuedAt: number; sourceJob?: string; node?: string },
  jobId?: string,
): Promise<void> {
  const job: DeadLetterJobData = {
    events: data.events,
    enqueued_at: data.enqueuedAt,
    reason: data.reason,
    attempts: data.attempts,
    failed_at: Date.now(),
  };
  if (data.sourceJob !== undefined) job.source_job = data.sourceJob;
  if (data.node !== undefined) job.node = data.node;
  await dlq.add('dead', job, { ...(jobId === undefined ? {} : { jobId }), removeOnComplete: true, removeOnFail: false });
}

async function withQueues<T>(redisUrl: string, sinkId: string, opts: DlqOptions, fn: (q: { main: Queue; dlq: Queue; redis: Redis; names: QueueNames }) => Promise<T>): Promise<T> {
  const names = queueNames(sinkId, opts.prefix);
  const redis = createRedis(redisUrl, 'admin');
  try {
    await waitReady(redis, opts.timeoutMs ?? 10_000);
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  const main = new Queue(names.queue, { connection: redis, prefix: names.prefix });
  const dlq = new Queue(names.dlq, { connection: redis, prefix: names.prefix });
  main.on('error', () => undefined);
  dlq.on('error', () => undefined);
  try {
    return await fn({ main, dlq, redis, names });
  } finally {
    await Promise.all([main.close(), dlq.close()]).catch(() => undefined);
    redis.disconnect();
  }
}

function info(job: Job<DeadLetterJobData>): DeadLetterInfo {
  const d = job.data;
  return {
    id: job.id ?? '',
    events: Array.isArray(d.events) ? d.events.length : 0,
    reason: d.reason,
    attempts: d.attempts,
    failedAt: d.failed_at,
    enqueuedAt: d.enqueued_at,
    sourceJob: d.source_job,
  };
}

/** The oldest `limit` dead letters of a sink (default 100), oldest first. */
export async function listDeadLetters(redisUrl: string, sinkId: string, opts: DlqOptions & { limit?: number } = {}): Promise<DeadLetterInfo[]> {
  const limit = opts.limit ?? 100;
  return withQueues(redisUrl, sinkId, opts, async ({ dlq }) => {
    const jobs = (await dlq.getJobs(['waiting'], 0, limit - 1, true)) as Job<DeadLetterJobData>[];
    return jobs.filter((j) => j?.data !== undefined).map(info);
  });
}

/** How many dead letters (batches) a sink has. */
export async function countDeadLetters(redisUrl: string, sinkId: string, opts: DlqOptions = {}): Promise<number> {
  return withQueues(redisUrl, sinkId, opts, ({ dlq }) => dlq.getWaitingCount());
}

export interface ReplayResult {
  /** DLQ job ids put back on the sink queue. */
  replayed: string[];
  events: number;
  /** Requested ids that are not in the DLQ. */
  missing: string[];
  /** Dead letters left in the DLQ because they hold no events (malformed jobs). */
  skipped: string[];
}

/**
 * Puts dead letters back on the sink queue (all of them, or the given ids) with fresh attempts and age, then
 * removes them from the DLQ. The new job's id is derived from the DLQ job's, so a replay interrupted between
 * the two steps and run again does not enqueue the batch twice while the first copy is still queued.
 */
export async function replayDeadLetters(
  redisUrl: string,
  sinkId: string,
  which: { ids: string[] } | { all: true },
  opts: DlqOptions & { config?: QueueConfig | unknown } = {},
): Promise<ReplayResult> {
  const config = parseQueueConfig(opts.config ?? {});
  return withQueues(redisUrl, sinkId, opts, async ({ main, dlq, redis, names }) => {
    const out: ReplayResult = { replayed: [], events: 0, missing: [], skipped: [] };
    const replayOne = async (job: Job<DeadLetterJobData>): Promise<void> => {
      const d = job.data;
      if (!Array.isArray(d.events) || d.events.length === 0) {
        out.skipped.push(job.id ?? ''); // nothing to deliver (a malformed job kept for inspection)
        return;
      }
      const data: BatchJobData = { events: d.events, enqueued_at: Date.now() };
      if (d.node !== undefined) data.node = d.node;
      await main.add('batch', data, batchJobOptions(config, `replay-${job.id}`));
      await job.remove();
      await addSharedStats(redis, names, { enqueued: d.events.length });
      out.replayed.push(job.id ?? '');
      out.events += d.events.length;
    };
    // BullMQ's wait list holds the ids, newest first: replay oldest first.
    const ids = 'ids' in which ? which.ids : (await redis.lrange(`${names.prefix}:${names.dlq}:wait`, 0, -1)).reverse();
    for (const id of ids) {
      const job = (await dlq.getJob(id)) as Job<DeadLetterJobData> | undefined;
      if (job?.data === undefined) out.missing.push(id);
      else await replayOne(job);
    }
    return out;
  });
}
