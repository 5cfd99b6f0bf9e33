// The sink component model. A sink type is a factory (Vector's SinkConfig, the OTel collector's factory):
// a type name, a strict config schema, complete defaults, and create(). Sinks never throw out of write():
// every batch gets a BatchResult, and everything that goes wrong is also counted in stats().

import type { z } from 'zod';
import type { PeregrineEvent, SinkError } from '@peregrine/events';

/** What a sink learns about the agent when it is built. */
export interface SinkContext {
  /** The node the agent runs on (NODE_NAME). */
  nodeName: string;
  /** Component id: the sink's key in the agent configuration. Defaults to the factory type. */
  id?: string;
}

/**
 * How a batch went.
 * - `delivered`: the sink has the batch (written, acknowledged). `dropped` events, if any, were discarded
 *   on purpose by a lossy sink (terminal output) and counted; do not resend them.
 * - `retryable`: the first `delivered` events got through, in order; `batch.slice(delivered)` may be resent.
 * - `rejected`: as retryable, but resending cannot help (sink stopped, permission denied, unencodable event).
 */
export type BatchStatus = 'delivered' | 'retryable' | 'rejected';

export interface BatchResult {
  status: BatchStatus;
  /** Events of the batch the sink delivered, counted from the start of the batch. */
  delivered: number;
  /** Events discarded on purpose (never silently: also in stats().dropped). */
  dropped?: number;
  /** Why the batch was not (fully) delivered. */
  error?: SinkError;
  /**
   * Events among the first `delivered` that the destination refused for good because of their content
   * (e.g. a mapping conflict), with its reason: the caller routes them to its dead-letter queue. They are
   * not to be resent, so they count in `delivered` (nothing to resend) but not in stats().sent.
   */
  deadLetters?: DeadLetter[];
}

/** An event a sink could not deliver because of the event itself, and why. */
export interface DeadLetter {
  event: PeregrineEvent;
  reason: string;
}

/** Counters since the sink was created; names follow `component_*_total` metrics. */
export interface SinkStats {
  /** Events delivered. */
  sent: number;
  /** Events in batches that were not delivered (retryable or rejected). */
  failed: number;
  /** Of `failed`, the events answered `retryable` (the caller may resend them). */
  retried: number;
  /** Events discarded on purpose because a bounded buffer was full. */
  dropped: number;
  /** Payload bytes delivered. */
  bytes: number;
  /** Errors by type: an errno code (ENOSPC, EACCES…) or a sink-specific kind (encode, compress…). */
  errors: Record<string, number>;
}

/**
 * One running output. start() and stop() are idempotent; stop() flushes and is safe without start().
 * write() may be called concurrently: batches are delivered in call order, and it never throws or rejects.
 * A batch must not be mutated until its promise settles.
 */
export interface Sink {
  readonly id: string;
  start(): Promise<void>;
  write(batch: readonly PeregrineEvent[]): Promise<BatchResult>;
  /**
   * Optional: a batch already encoded as JSON lines (one event per line, each `eventJson(event)` — what the
   * durable queue stores). A sink whose output is those very bytes (the file sink) implements it, so a
   * worker writes a job's payload without parsing and re-encoding it; `events` is the number of lines.
   */
  writeLines?(lines: Buffer, events: number): Promise<BatchResult>;
  /** Resolves when every batch written before the call has settled. */
  flush(): Promise<void>;
  stop(): Promise<void>;
  /** Rejects with a SinkError when the destination is unusable; run at boot and by `peregrine validate`. */
  healthcheck(): Promise<void>;
  stats(): SinkStats;
}

/**
 * A sink type. `type` is lower_snake_case and names the destination (file, kafka, elasticsearch,
 * otlp_http); `schema` is a z.strictObject with snake_case keys and units in the names (_ms, _bytes)
 * that fills in every default; `defaultConfig()` is complete and passes the schema.
 */
export interface SinkFactory<C = unknown> {
  readonly type: string;
  readonly schema: z.ZodType<C>;
  defaultConfig(): C;
  /** Build from a validated configuration. No I/O here: that belongs to start(). */
  create(config: C, ctx: SinkContext): Sink;
}
