// Picking the queue variant from a sink's queue options, and reading a durable sink's counters from any host.

import type { Sink } from '../component.js';
import { BullQueue, type BullQueueOptions } from './bullmq.js';
import { parseQueueConfig, type QueueConfig } from './config.js';
import { MemoryQueue, type MemoryQueueOptions } from './memory.js';
import { createRedis, queueNames, readSharedStats, waitReady, type SharedStats } from './redis.js';
import type { DeliveryQueue } from './types.js';

/**
 * With `redis` in the options: a BullQueue named after the sink (the sink object itself is not used in
 * this process: `peregrine worker --sink <id>` processes deliver). Without: a MemoryQueue that owns the
 * sink (start() starts it, stop() drains and stops it).
 */
export function createDeliveryQueue(sink: Sink, config: QueueConfig | unknown, options: MemoryQueueOptions & BullQueueOptions = {}): DeliveryQueue {
  const c = parseQueueConfig(config);
  return c.redis === undefined ? new MemoryQueue(sink, c, options) : new BullQueue(sink.id, c, options);
}

/** `peregrine sinks stats` for a durable sink: the counters all producers and workers keep in Redis. */
export async function readSinkStats(redisUrl: string, sinkId: string, opts: { prefix?: string; timeoutMs?: number } = {}): Promise<SharedStats> {
  const redis = createRedis(redisUrl, 'admin');
  try {
    await waitReady(redis, opts.timeoutMs ?? 5000);
    return await readSharedStats(redis, queueNames(sinkId, opts.prefix));
  } finally {
    redis.disconnect();
  }
}
