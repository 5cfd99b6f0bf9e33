// The per-sink delivery queue: what sits between the pipeline and a sink. Two implementations share this
// interface: MemoryQueue (in-process, bounded: the embedded default) and BullQueue (batches persisted in
// Redis with BullMQ and delivered by `peregrine worker` processes on any host).
//
// enqueue() is synchronous and never blocks nor throws: the ring reader's callback calls it. When the
// bounded buffer is full, the `when_full` policy decides which events go, and every one is counted.

import type { PeregrineEvent } from '@peregrine/events';

/** What enqueue() did with a batch. */
export interface EnqueueResult {
  /** Events of this batch taken into the queue. */
  accepted: number;
  /**
   * Events dropped because the queue was full: with `drop_newest`, events of this batch; with
   * `drop_oldest`, older queued events evicted to make room. Always also counted in stats().dropped.
   */
  dropped: number;
}

/** Delivery latency (enqueue → delivered) over the most recent batches, in milliseconds. */
export interface LatencyStats {
  /** Batches in the sample (a bounded reservoir of the latest ones). */
  samples: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

/** Counters of one queue since it was created. Events unless named otherwise. */
export interface QueueStats {
  /** Events waiting to be delivered: queued plus in flight. */
  depth: number;
  /** Capacity of the in-process buffer (max_events). */
  capacity: number;
  /** Events accepted by enqueue(). */
  enqueued: number;
  /** Events dropped because the queue was full (when_full) or abandoned at stop. */
  dropped: number;
  /** Events the sink delivered. */
  sent: number;
  /** Events in deliveries that failed (each failed attempt counts its events). */
  failed: number;
  /** Of `failed`, events scheduled for another attempt. */
  retried: number;
  /** Events moved to the dead-letter queue (rejected, out of attempts, too old). */
  deadLettered: number;
  latency: LatencyStats;
}

/** A batch given up on, with the reason. */
export interface DeadLetteredBatch {
  events: PeregrineEvent[];
  reason: string;
  attempts: number;
  /** Epoch ms. */
  failedAt: number;
}

export interface DeliveryQueue {
  /** Sink id this queue delivers to. */
  readonly id: string;
  /** Synchronous; never blocks, never throws. The batch is copied (the caller may reuse its array). */
  enqueue(batch: readonly PeregrineEvent[]): EnqueueResult;
  /** Starts delivering (MemoryQueue: starts the sink; BullQueue: connects to Redis). Idempotent. */
  start(): Promise<void>;
  /**
   * Resolves once every event enqueued before the call has left this process: delivered, dead-lettered or
   * dropped (MemoryQueue), or persisted in Redis (BullQueue).
   */
  drain(): Promise<void>;
  /** Drains (bounded by shutdown_timeout_ms, leftovers counted as dropped), then releases everything. Idempotent. */
  stop(): Promise<void>;
  stats(): QueueStats;
}

/**
 * BatchResult.deadLetters: events among the first `delivered` that the destination refused for good; they
 * count in `delivered` but not as sent. Read structurally so this compiles with or without the field.
 */
export interface EventDeadLetter {
  event: PeregrineEvent;
  reason: string;
}

/** Reads the optional `deadLetters` of a BatchResult without depending on the field being declared. */
export function deadLettersOf(result: object): EventDeadLetter[] {
  const dl = (result as { deadLetters?: unknown }).deadLetters;
  return Array.isArray(dl) ? (dl as EventDeadLetter[]) : [];
}
