// The `compact` sink: formatCompact() lines on a stream. Terminal output must never stall the pipeline, so
// write() never waits for the stream: when more than max_buffer_bytes are still buffered, the rest of the
// batch is dropped and counted. A stream error (EPIPE when piped into `head`) is caught and counted; from
// then on batches are rejected.

import type { Writable } from 'node:stream';
import { SinkError, type PeregrineEvent } from '@peregrine/events';
import type { BatchResult, Sink, SinkStats } from '../component.js';
import { errorType } from '../errors.js';
import { delivered, rejected, undelivered } from '../result.js';
import { SinkStatsCounter } from '../stats.js';
import { useColor } from './color.js';
import type { CompactSinkConfig } from './config.js';
import { formatCompact } from './format.js';

export type CompactStream = Writable & { readonly isTTY?: boolean };

export interface CompactSinkOptions {
  id?: string;
  /** Defaults to process.stdout or process.stderr, as config.target says. */
  stream?: CompactStream;
  /** For the colour decision; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

export class CompactSink implements Sink {
  readonly id: string;
  readonly color: boolean;
  readonly #stream: CompactStream;
  readonly #maxBuffer: number;
  readonly #flushTimeout: number;
  readonly #stats = new SinkStatsCounter();
  #state: 'new' | 'running' | 'stopped' = 'new';
  #stopping: Promise<void> | undefined;
  #broken: Error | undefined;
  #last: Promise<void> = Promise.resolve();
  readonly #onError = (err: Error): void => {
    this.#broken ??= err;
    this.#stats.error(errorType(err, 'stream'));
  };

  constructor(config: CompactSinkConfig, options: CompactSinkOptions = {}) {
    this.id = options.id ?? 'compact';
    this.#stream = options.stream ?? (config.target === 'stderr' ? process.stderr : process.stdout);
    this.color = useColor(config.color, this.#stream, options.env ?? process.env);
    this.#maxBuffer = config.max_buffer_bytes;
    this.#flushTimeout = config.flush_timeout_ms;
  }

  start(): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'running';
      this.#stream.on('error', this.#onError);
    }
    return Promise.resolve();
  }

  write(batch: readonly PeregrineEvent[]): Promise<BatchResult> {
    if (this.#state !== 'running') {
      this.#stats.undelivered(batch.length, false);
      return Promise.resolve(rejected(`compact sink ${this.id} is ${this.#state === 'new' ? 'not started' : 'stopped'}`));
    }
    const unusable = this.#unusable();
    if (unusable !== undefined) {
      this.#stats.undelivered(batch.length, false);
      return Promise.resolve(undelivered(unusable));
    }
    let budget = this.#maxBuffer - this.#stream.writableLength;
    let text = '';
    let n = 0;
    try {
      for (; n < batch.length; n++) {
        const line = `${formatCompact(batch[n] as PeregrineEvent, { color: this.color })}\n`;
        if (line.length > budget) break;
        budget -= line.length;
        text += line;
      }
    } catch (err) {
      this.#stats.error('format');
      this.#stats.undelivered(batch.length, false);
      return Promise.resolve(rejected(`compact sink ${this.id}: cannot format event ${n}`, err));
    }
    if (n > 0) {
      this.#last = new Promise<void>((done) => this.#stream.write(text, () => done()));
      this.#stats.delivered(n, Buffer.byteLength(text));
    }
    const dropped = batch.length - n;
    this.#stats.drop(dropped);
    return Promise.resolve(delivered(n, dropped));
  }

  /** Waits for the stream to take what was written, at most flush_timeout_ms. */
  async flush(): Promise<void> {
    if (this.#stream.writableLength === 0 || this.#unusable() !== undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((done) => {
      timer = setTimeout(done, this.#flushTimeout);
      timer.unref();
    });
    await Promise.race([this.#last, timeout]);
    clearTimeout(timer);
  }

  /** Flushes (bounded by flush_timeout_ms); the stream itself is left open: the caller owns it. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const wasRunning = this.#state === 'running';
      this.#state = 'stopped';
      if (!wasRunning) return;
      await this.flush();
      // With nothing left in flight no error can still arrive; otherwise keep catching it.
      if (this.#stream.writableLength === 0) this.#stream.off('error', this.#onError);
    })();
    return this.#stopping;
  }

  healthcheck(): Promise<void> {
    const unusable = this.#unusable();
    return unusable === undefined ? Promise.resolve() : Promise.reject(unusable);
  }

  stats(): SinkStats {
    return this.#stats.snapshot();
  }

  #unusable(): SinkError | undefined {
    if (this.#broken !== undefined) return new SinkError(`compact sink ${this.id}: stream failed: ${this.#broken.message}`, false, { cause: this.#broken });
    const s = this.#stream;
    if (s.destroyed || s.writableEnded) return new SinkError(`compact sink ${this.id}: stream is closed`, false);
    return undefined;
  }
}
