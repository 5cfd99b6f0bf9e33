// Options of a sink's delivery queue (`sinks.<id>.queue` in the agent config, `peregrine worker` flags).
// One schema for both variants: without `redis` the queue is in-process (MemoryQueue); with it, batches
// go to Redis (BullQueue) and `peregrine worker --sink <id>` processes deliver them.

import { z } from 'zod';
import { parseConfig } from '@peregrine/events';

/** The documented defaults; the schema fills in the same values. */
export const QUEUE_DEFAULTS = {
  max_events: 100_000,
  when_full: 'drop_newest',
  batch_max_events: 1000,
  shutdown_timeout_ms: 10_000,
  retry: {
    initial_backoff_ms: 1000,
    max_backoff_ms: 30_000,
    multiplier: 1.5,
    jitter: 0.2,
    max_attempts: 20,
    max_age_ms: 300_000,
  },
  dead_letter: { max_events: 10_000 },
  redis: { url: 'redis://127.0.0.1:6379', prefix: 'peregrine', flush_interval_ms: 50, lock_duration_ms: 30_000, stalled_interval_ms: 15_000 },
} as const;

const D = QUEUE_DEFAULTS;

export const retrySchema = z.strictObject({
  initial_backoff_ms: z.int().min(1).default(D.retry.initial_backoff_ms).describe('Delay before the first retry.'),
  max_backoff_ms: z.int().min(1).default(D.retry.max_backoff_ms).describe('Upper bound of the delay between two attempts (before jitter).'),
  multiplier: z.number().min(1).default(D.retry.multiplier).describe('Each retry waits this much longer than the previous one.'),
  jitter: z
    .number()
    .min(0)
    .max(1)
    .default(D.retry.jitter)
    .describe('Randomization factor: a delay d becomes uniform in [d·(1−jitter), d·(1+jitter)].'),
  max_attempts: z.int().min(1).default(D.retry.max_attempts).describe('Deliveries tried per batch before it is dead-lettered (1 = no retry).'),
  max_age_ms: z
    .int()
    .min(0)
    .default(D.retry.max_age_ms)
    .describe('A batch whose next retry would come later than this after it was enqueued is dead-lettered; 0 = no age limit.'),
});

export const deadLetterSchema = z.strictObject({
  max_events: z
    .int()
    .min(0)
    .default(D.dead_letter.max_events)
    .describe('In-process queue only: dead-lettered events kept in memory for inspection; beyond it the oldest are forgotten (still counted).'),
});

export const redisSchema = z.strictObject({
  url: z.string().min(1).default(D.redis.url).describe('redis://[user:password@]host:port[/db] (rediss:// for TLS).'),
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only')
    .default(D.redis.prefix)
    .describe('Key prefix: the queue of sink S lives under <prefix>:S:*, its dead letters under <prefix>:S.dlq:*.'),
  flush_interval_ms: z
    .int()
    .min(1)
    .default(D.redis.flush_interval_ms)
    .describe('Agent side: how long buffered batches may wait to be merged into one job before they are written to Redis.'),
  lock_duration_ms: z
    .int()
    .min(1000)
    .default(D.redis.lock_duration_ms)
    .describe('Worker side: a job whose worker stops renewing its lock for this long is handed to another worker.'),
  stalled_interval_ms: z.int().min(500).default(D.redis.stalled_interval_ms).describe('Worker side: how often workers look for stalled jobs.'),
});

export const queueSchema = z.strictObject({
  max_events: z
    .int()
    .min(1)
    .default(D.max_events)
    .describe('Events the in-process buffer holds (queued and in flight); with Redis, the buffer in front of it.'),
  when_full: z
    .enum(['drop_newest', 'drop_oldest'])
    .default(D.when_full)
    .describe('When the buffer is full: drop the incoming events, or evict the oldest queued ones. Both are counted in `dropped`; enqueue never blocks.'),
  batch_max_events: z
    .int()
    .min(1)
    .default(D.batch_max_events)
    .describe('Queued batches are merged (in order) into deliveries, or Redis jobs, of at most this many events.'),
  shutdown_timeout_ms: z
    .int()
    .min(0)
    .default(D.shutdown_timeout_ms)
    .describe('stop() waits this long for the queue to drain; events still queued then are counted as dropped.'),
  retry: retrySchema.default({ ...D.retry }),
  dead_letter: deadLetterSchema.default({ ...D.dead_letter }),
  redis: redisSchema.optional().describe('Durable fan-out through Redis (BullMQ). Absent: the in-process queue.'),
});

export type QueueConfig = z.output<typeof queueSchema>;
export type RetryConfig = z.output<typeof retrySchema>;
export type RedisQueueConfig = z.output<typeof redisSchema>;

/** Validate queue options, defaults filled in; throws a ConfigError naming every bad field. */
export function parseQueueConfig(value: unknown, prefix = 'queue'): QueueConfig {
  return parseConfig(queueSchema, value ?? {}, 'queue config', prefix);
}

/**
 * Delay before retry number `attempt` (1 = the first retry): initial·multiplier^(attempt−1), capped at
 * max_backoff_ms, then spread uniformly by ±jitter.
 */
export function backoffDelay(retry: RetryConfig, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(retry.max_backoff_ms, retry.initial_backoff_ms * retry.multiplier ** Math.max(0, attempt - 1));
  const spread = retry.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base * (1 + spread)));
}
