// Per-sink delivery queues (in-process or BullMQ on Redis), sink workers and dead-letter tools.
export * from './types.js';
export * from './config.js';
export { EventBuffer, type PushResult, type Segment, type WhenFull } from './buffer.js';
export { LatencyReservoir, latencyOf, LATENCY_SAMPLES } from './latency.js';
export { MemoryQueue, type MemoryQueueOptions } from './memory.js';
export { BullQueue, BACKOFF_TYPE, batchJobOptions, isDurable, type BullQueueOptions, type BullQueueStats } from './bullmq.js';
export { countDeadLetters, deadLetter, listDeadLetters, replayDeadLetters, type DeadLetterInfo, type DlqOptions, type ReplayResult } from './dlq.js';
export {
  addSharedStats,
  createRedis,
  queueNames,
  readSharedStats,
  waitReady,
  type BatchJobData,
  type ConnectionRole,
  type DeadLetterJobData,
  type QueueNames,
  type SharedStats,
} from './redis.js';
export { createDeliveryQueue, readSinkStats } from './factory.js';
export { runWorker, type RunWorkerOptions, type WorkerHandle, type WorkerStats } from '../worker/worker.js';
