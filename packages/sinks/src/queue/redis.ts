// Redis plumbing shared by the durable queue, the workers and the dead-letter tools: one connection
// factory, the key layout, the job payload, and the per-sink counters every worker adds to.
//
// Key layout (prefix `peregrine` by default; BullMQ forbids ':' in queue names, so the prefix carries it):
//   <prefix>:<sink>:*        BullMQ queue of batches waiting for sink <sink>
//   <prefix>:<sink>:lines:<job id>  a batch's events as JSON lines (string), until its job completes
//   <prefix>:<sink>.dlq:*    BullMQ queue holding the dead letters (never processed; listed and replayed)
//   <prefix>:<sink>.stats    hash of counters (events): enqueued, sent, failed, retried, dead_lettered, dropped
//   <prefix>:<sink>.latency  list of the latest delivery latencies (ms), capped at LATENCY_SAMPLES

import { Redis, type RedisOptions } from 'ioredis';
import type { PeregrineEvent } from '@peregrine/events';
import { LATENCY_SAMPLES, latencyOf } from './latency.js';
import type { LatencyStats } from './types.js';

export const DEFAULT_PREFIX = 'peregrine';

/**
 * - `worker`: BullMQ Worker / blocking connections: `maxRetriesPerRequest: null` (BullMQ requires it), commands
 *   wait for a reconnect instead of failing.
 * - `producer`: the agent's side: fail fast (no offline queue, one retry) so a Redis outage shows up as
 *   errors the caller counts and retries itself, never as a pile of pending commands.
 * - `admin`: CLI tools (dlq list/replay, stats): fail fast too.
 */
export type ConnectionRole = 'worker' | 'producer' | 'admin';

/** The one place Peregrine creates Redis connections. */
export function createRedis(url: string, role: ConnectionRole, extra: RedisOptions = {}): Redis {
  const base: RedisOptions = {
    connectionName: `peregrine-${role}`,
    // Reconnect forever, backing off up to 2 s: Redis restarts are expected (AOF replay).
    retryStrategy: (times) => Math.min(100 * times, 2000),
    enableReadyCheck: true,
  };
  const byRole: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableOfflineQueue: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5000 };
  const redis = new Redis(url, { ...base, ...byRole, ...extra });
  // An 'error' without a listener would crash the process; failures surface through the commands instead.
  redis.on('error', () => undefined);
  return redis;
}

/** Resolves once the connection is ready (or rejects after timeoutMs). */
export async function waitReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  if (redis.status === 'wait') await redis.connect().catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`redis not ready after ${timeoutMs} ms (${redis.status})`));
    }, timeoutMs);
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    if (redis.status === 'ready') onReady();
    else redis.on('ready', onReady);
  });
}

export interface QueueNames {
  prefix: string;
  /** BullMQ queue name of the sink's batches. */
  queue: string;
  /** BullMQ queue name of its dead letters. */
  dlq: string;
  /** Redis key of the counters hash. */
  stats: string;
  /** Redis key of the latency samples list. */
  latency: string;
}

export function queueNames(sinkId: string, prefix = DEFAULT_PREFIX): QueueNames {
  if (sinkId === '' || sinkId.includes(':')) throw new Error(`sink id "${sinkId}" cannot name a queue (empty or contains ':')`);
  return {
    prefix,
    queue: sinkId,
    dlq: `${sinkId}.dlq`,
    stats: `${prefix}:${sinkId}.stats`,
    latency: `${prefix}:${sinkId}.latency`,
  };
}

/**
 * A job of the sink queue: one batch, either inline (`events`: replays, the undelivered rest of a retried
 * batch) or — what the agent writes — as `count` JSON lines in the Redis string `lines` (see payload.ts).
 */
export interface BatchJobData {
  events?: PeregrineEvent[];
  /** Key of the batch's JSON lines (`<prefix>:<sink>:lines:<job id>`), deleted once the job completes. */
  lines?: string;
  /** Number of lines (events) under `lines`. */
  count?: number;
  /** Epoch ms when the agent accepted the oldest event of the batch: latency and max_age_ms count from it. */
  enqueued_at: number;
  /** Node that produced it. */
  node?: string;
}

/** A job of the dead-letter queue: always inline. */
export interface DeadLetterJobData extends BatchJobData {
  events: PeregrineEvent[];
  reason: string;
  attempts: number;
  failed_at: number;
  /** Id of the sink-queue job it came from. */
  source_job?: string;
}

export type StatsField = 'enqueued' | 'sent' | 'failed' | 'retried' | 'dead_lettered' | 'dropped';

/** Adds to the sink's shared counters (and latency samples) in one round trip; never throws. */
export async function addSharedStats(
  redis: Redis,
  names: QueueNames,
  add: Partial<Record<StatsField, number>>,
  latencyMs?: number,
): Promise<void> {
  const m = redis.multi();
  for (const [k, v] of Object.entries(add)) if (v !== undefined && v !== 0) m.hincrby(names.stats, k, v);
  if (latencyMs !== undefined) {
    m.lpush(names.latency, Math.max(0, Math.round(latencyMs)));
    m.ltrim(names.latency, 0, LATENCY_SAMPLES - 1);
  }
  await m.exec().catch(() => undefined);
}

/** The sink's counters as every producer and worker reported them (events). */
export interface SharedStats {
  enqueued: number;
  sent: number;
  failed: number;
  retried: number;
  deadLettered: number;
  /** Events the sink itself discarded on purpose (lossy sinks). */
  dropped: number;
  /** enqueued − sent − dead-lettered − dropped: events in Redis not yet settled (approximate across crashes). */
  backlog: number;
  latency: LatencyStats;
  /** Job counts of the sink queue and of its dead-letter queue. */
  jobs: { waiting: number; active: number; delayed: number; deadLetters: number };
}

export async function readSharedStats(redis: Redis, names: QueueNames): Promise<SharedStats> {
  const key = (q: string, s: string): string => `${names.prefix}:${q}:${s}`;
  const [h, lat, wait, paused, active, delayed, dlqWait] = (await redis
    .multi()
    .hgetall(names.stats)
    .lrange(names.latency, 0, -1)
    .llen(key(names.queue, 'wait'))
    .llen(key(names.queue, 'paused'))
    .llen(key(names.queue, 'active'))
    .zcard(key(names.queue, 'delayed'))
    .llen(key(names.dlq, 'wait'))
    .exec()) ?? [];
  const hash = (h?.[1] ?? {}) as Record<string, string>;
  const num = (k: string): number => Number(hash[k] ?? 0);
  const int = (r: [Error | null, unknown] | undefined): number => Number(r?.[1] ?? 0);
  const samples = ((lat?.[1] ?? []) as string[]).map(Number);
  const s = {
    enqueued: num('enqueued'),
    sent: num('sent'),
    failed: num('failed'),
    retried: num('retried'),
    deadLettered: num('dead_lettered'),
    dropped: num('dropped'),
  };
  return {
    ...s,
    backlog: Math.max(0, s.enqueued - s.sent - s.deadLettered - s.dropped),
    latency: latencyOf(samples),
    jobs: { waiting: int(wait) + int(paused), active: int(active), delayed: int(delayed), deadLetters: int(dlqWait) },
  };
}
