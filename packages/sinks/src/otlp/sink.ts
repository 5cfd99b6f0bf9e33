// The `otlp_http` sink: each event becomes one OTLP log record (see mapping.ts), POSTed as OTLP/HTTP JSON
// by the SDK's OTLPLogExporter.
//
// Delivery is explicit: no LoggerProvider and no BatchLogRecordProcessor, whose bounded queue drops records
// silently when full. write() maps its batch and hands it to exporter.export() in chunks of
// max_batch_events, up to max_in_flight_requests of them at once (writes follow one another, in call
// order), and answers from each chunk's ExportResult: all chunks SUCCESS → delivered; a chunk FAILED →
// the chunks before it delivered, the rest retryable or rejected (retry.ts), and no further chunk is
// started. A later chunk already in flight that got through is resent with the rest (at-least-once).
// When a batch fails, the batches already queued behind it get the same answer without being sent, so
// that a caller resending the failed batch keeps the order.

import { createRequire } from 'node:module';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { SinkError, type PeregrineEvent } from '@peregrine/events';
import type { BatchResult, Sink, SinkStats } from '../component.js';
import { delivered, rejected, undelivered } from '../result.js';
import { SinkStatsCounter } from '../stats.js';
import { resolveOtlpSettings, type OtlpSettings, type OtlpSinkConfig } from './config.js';
import { checkEndpoint } from './health.js';
import { nowHrTime, toLogRecord } from './mapping.js';
import { classifyExportError } from './retry.js';

type ExporterOptions = NonNullable<ConstructorParameters<typeof OTLPLogExporter>[0]>;

/** InstrumentationScope of every record: this package's name and version. */
export const INSTRUMENTATION_SCOPE: { name: string; version: string } = (() => {
  const pkg = createRequire(import.meta.url)('../../package.json') as { version?: string };
  return { name: 'peregrine', version: pkg.version ?? '0.0.0' };
})();

export interface OtlpSinkStats extends SinkStats {
  /** Export requests sent (one per chunk of max_batch_events). */
  requests: number;
}

export interface OtlpSinkOptions {
  id?: string;
  /** host.name of the resource (the node the agent runs on). */
  nodeName?: string;
  /** Environment the OTEL_* variables are read from; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

export class OtlpHttpSink implements Sink {
  readonly id: string;
  /** The options in effect: configuration over environment over defaults. */
  readonly settings: OtlpSettings;
  readonly resource: Resource;
  readonly #stats = new SinkStatsCounter();
  #requests = 0;
  #state: 'new' | 'running' | 'stopped' = 'new';
  #exporter: OTLPLogExporter | undefined;
  #stopping: Promise<void> | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  /** Writes accepted so far, and the answer for those up to #failedThrough (queued behind a failure). */
  #seq = 0;
  #failedThrough = 0;
  #failure: SinkError | undefined;

  /** Throws a ConfigError when the OTEL_* environment holds a bad value. */
  constructor(config: OtlpSinkConfig, options: OtlpSinkOptions = {}) {
    this.id = options.id ?? 'otlp_http';
    this.settings = resolveOtlpSettings(config, options.nodeName ?? '', options.env ?? process.env);
    this.resource = resourceFromAttributes(this.settings.resourceAttributes);
  }

  start(): Promise<void> {
    if (this.#state === 'stopped') return Promise.reject(new SinkError(`otlp_http sink ${this.id} is stopped`, false));
    if (this.#state === 'new') {
      const s = this.settings;
      this.#exporter = new OTLPLogExporter({
        url: s.endpoint,
        headers: s.headers,
        timeoutMillis: s.timeoutMs,
        compression: s.compression as ExporterOptions['compression'],
        concurrencyLimit: s.maxInFlightRequests + 1, // we bound it ourselves; the exporter must never refuse one
      });
      this.#state = 'running';
    }
    return Promise.resolve();
  }

  write(batch: readonly PeregrineEvent[]): Promise<BatchResult> {
    if (this.#state !== 'running') {
      this.#stats.undelivered(batch.length, false);
      return Promise.resolve(rejected(`otlp_http sink ${this.id} is ${this.#state === 'new' ? 'not started' : 'stopped'}`));
    }
    if (batch.length === 0) return Promise.resolve(delivered(0));
    const seq = ++this.#seq;
    const result = this.#tail.then(() => this.#send(batch, seq));
    this.#tail = result;
    return result;
  }

  async flush(): Promise<void> {
    await this.#tail;
  }

  /** Stop accepting batches, finish the queued ones, shut the exporter down. Idempotent; safe without start(). */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#state = 'stopped';
      await this.flush();
      await this.#exporter?.shutdown().catch(() => this.#stats.error('shutdown'));
    })();
    return this.#stopping;
  }

  healthcheck(): Promise<void> {
    return checkEndpoint(this.settings.endpoint, this.settings.headers, Math.min(this.settings.timeoutMs, 10_000));
  }

  stats(): OtlpSinkStats {
    return { ...this.#stats.snapshot(), requests: this.#requests };
  }

  async #send(batch: readonly PeregrineEvent[], seq: number): Promise<BatchResult> {
    if (seq <= this.#failedThrough && this.#failure !== undefined) {
      // Queued behind a batch that failed: not sent, so that resending that one first keeps the order.
      // Always retryable: this batch was never tried.
      const error = new SinkError(`otlp_http sink ${this.id}: not sent, queued behind a failed batch (${this.#failure.message})`, true, {
        cause: this.#failure,
      });
      this.#stats.undelivered(batch.length, true);
      return undelivered(error, 0);
    }
    const exporter = this.#exporter as OTLPLogExporter;
    const size = this.settings.maxBatchEvents;
    const chunks: (readonly PeregrineEvent[])[] = [];
    for (let i = 0; i < batch.length; i += size) chunks.push(batch.slice(i, i + size));
    // Each chunk's outcome: its byte count when delivered, else why not. A failure stops further chunks.
    const outcomes: (number | SinkError | undefined)[] = new Array(chunks.length);
    let stopped = false;
    let next = 0;
    const run = async (): Promise<void> => {
      while (!stopped && next < chunks.length) {
        const i = next++;
        outcomes[i] = await this.#export(exporter, chunks[i] as readonly PeregrineEvent[]);
        if (typeof outcomes[i] !== 'number') stopped = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.maxInFlightRequests, chunks.length) }, run));
    let done = 0;
    for (const [i, o] of outcomes.entries()) {
      if (typeof o !== 'number') {
        return this.#fail(batch.length - done, done, o ?? new SinkError(`otlp_http sink ${this.id}: not sent after an earlier request failed`, true));
      }
      const n = (chunks[i] as readonly PeregrineEvent[]).length;
      this.#stats.delivered(n, o);
      done += n;
    }
    return delivered(batch.length);
  }

  /** One export request: the chunk's body bytes when the collector took it, else a classified error. */
  async #export(exporter: OTLPLogExporter, chunk: readonly PeregrineEvent[]): Promise<number | SinkError> {
    const observed = nowHrTime();
    const records: ReadableLogRecord[] = [];
    let bytes = 0;
    try {
      for (const ev of chunk) {
        const { record, body } = toLogRecord(ev, { resource: this.resource, scope: INSTRUMENTATION_SCOPE, observed });
        records.push(record);
        bytes += Buffer.byteLength(body);
      }
    } catch (err) {
      this.#stats.error('encode');
      return new SinkError(`otlp_http sink ${this.id}: cannot encode an event`, false, { cause: err });
    }
    this.#requests++;
    const res = await new Promise<ExportResult>((settle) => {
      try {
        exporter.export(records, settle);
      } catch (err) {
        settle({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) });
      }
    });
    if (res.code === ExportResultCode.SUCCESS) return bytes;
    const { error, type } = classifyExportError(res.error, `otlp_http sink ${this.id}: export to ${this.settings.endpoint} failed`);
    this.#stats.error(type);
    return error;
  }

  #fail(events: number, done: number, error: SinkError): BatchResult {
    this.#stats.undelivered(events, error.retryable);
    this.#failure = error;
    this.#failedThrough = this.#seq; // every batch written so far is queued behind this one
    return undelivered(error, done);
  }
}
