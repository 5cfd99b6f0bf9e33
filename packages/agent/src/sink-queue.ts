// One bounded queue per sink between the pipeline and the sink: the ring reader's callback only
// appends here and returns; a pump delivers batches to the sink one at a time, in order. When the
// queue is full, new events are dropped and counted (never blocking the reader).
import type { PeregrineEvent } from '@peregrine/events';
import type { Sink } from '@peregrine/sinks';

export interface QueueStats {
  queued: number;
  enqueued: number;
  dropped: number;
  delivered: number;
  failed: number;
}

export class SinkQueue {
  private batches: PeregrineEvent[][] = [];
  private queued = 0;
  private pumping: Promise<void> | null = null;
  private readonly s: QueueStats = { queued: 0, enqueued: 0, dropped: 0, delivered: 0, failed: 0 };
  private lastError: Error | null = null;

  constructor(
    readonly sink: Sink,
    private readonly maxEvents: number,
    private readonly onError: (sink: Sink, err: Error) => void,
  ) {}

  push(events: readonly PeregrineEvent[]): void {
    const room = this.maxEvents - this.queued;
    if (room <= 0) {
      this.s.dropped += events.length;
      return;
    }
    const take = events.length <= room ? events.slice() : events.slice(0, room);
    this.s.dropped += events.length - take.length;
    this.batches.push(take);
    this.queued += take.length;
    this.s.enqueued += take.length;
    this.pumping ??= this.pump();
  }

  private async pump(): Promise<void> {
    try {
      while (this.batches.length > 0) {
        // Deliver everything queued so far as one batch: fewer, larger writes under load.
        const batch = this.batches.length === 1 ? this.batches[0]! : this.batches.flat();
        this.batches = [];
        this.queued -= batch.length;
        const r = await this.sink.write(batch);
        if (r.status === 'delivered') this.s.delivered += batch.length;
        else {
          this.s.failed += batch.length;
          const err = r.error ?? new Error(`${this.sink.id}: batch ${r.status}`);
          if (err.message !== this.lastError?.message) this.onError(this.sink, err); // no per-batch log storm
          this.lastError = err;
        }
      }
    } finally {
      this.pumping = null;
    }
  }

  /** Resolves once everything queued before the call has been handed to the sink. */
  async drain(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  stats(): QueueStats {
    return { ...this.s, queued: this.queued };
  }
}
