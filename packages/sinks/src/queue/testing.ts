// A scriptable in-memory Sink for queue and worker tests (also used by the integration fixtures).

import type { PeregrineEvent } from '@peregrine/events';
import type { BatchResult, Sink, SinkStats } from '../component.js';
import { delivered } from '../result.js';
import { SinkStatsCounter } from '../stats.js';

export type WriteScript = (batch: readonly PeregrineEvent[], call: number) => BatchResult | Promise<BatchResult>;

/** Records every batch it is given; answers what `script` says (default: delivered). */
export class MemorySink implements Sink {
  readonly id: string;
  /** Each write() call's batch, copied. */
  readonly writes: PeregrineEvent[][] = [];
  /** Events of the writes answered `delivered` (their delivered prefix for the others), in order. */
  readonly received: PeregrineEvent[] = [];
  readonly #stats = new SinkStatsCounter();
  script: WriteScript;
  started = 0;
  stopped = 0;

  constructor(id = 'memory', script: WriteScript = (b) => delivered(b.length)) {
    this.id = id;
    this.script = script;
  }

  async start(): Promise<void> {
    this.started++;
  }

  async write(batch: readonly PeregrineEvent[]): Promise<BatchResult> {
    const call = this.writes.length;
    this.writes.push(batch.slice());
    const r = await this.script(batch, call);
    const n = r.status === 'delivered' ? batch.length : r.delivered;
    for (let i = 0; i < Math.min(n, batch.length); i++) this.received.push(batch[i]!);
    if (r.status === 'delivered') this.#stats.delivered(r.delivered, 0);
    else this.#stats.undelivered(batch.length - r.delivered, r.status === 'retryable');
    return r;
  }

  async flush(): Promise<void> {}

  async stop(): Promise<void> {
    this.stopped++;
  }

  async healthcheck(): Promise<void> {}

  stats(): SinkStats {
    return this.#stats.snapshot();
  }
}
