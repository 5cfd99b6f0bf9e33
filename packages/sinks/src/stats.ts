// The counters behind Sink.stats().

import type { SinkStats } from './component.js';

export class SinkStatsCounter {
  sent = 0;
  failed = 0;
  retried = 0;
  dropped = 0;
  bytes = 0;
  readonly errors: Record<string, number> = {};

  delivered(events: number, bytes: number): void {
    this.sent += events;
    this.bytes += bytes;
  }

  undelivered(events: number, retryable: boolean): void {
    this.failed += events;
    if (retryable) this.retried += events;
  }

  drop(events: number): void {
    this.dropped += events;
  }

  error(type: string): void {
    this.errors[type] = (this.errors[type] ?? 0) + 1;
  }

  snapshot(): SinkStats {
    return {
      sent: this.sent,
      failed: this.failed,
      retried: this.retried,
      dropped: this.dropped,
      bytes: this.bytes,
      errors: { ...this.errors },
    };
  }
}
