// Delivery latency over the most recent batches: a fixed ring of samples, percentiles computed on read.

import type { LatencyStats } from './types.js';

export const LATENCY_SAMPLES = 1024;

export class LatencyReservoir {
  readonly #ring: Float64Array;
  #next = 0;
  #count = 0;

  constructor(size = LATENCY_SAMPLES) {
    this.#ring = new Float64Array(size);
  }

  add(ms: number): void {
    this.#ring[this.#next] = Math.max(0, ms);
    this.#next = (this.#next + 1) % this.#ring.length;
    if (this.#count < this.#ring.length) this.#count++;
  }

  snapshot(): LatencyStats {
    return latencyOf(this.#ring.subarray(0, this.#count));
  }
}

/** p50/p99/max of a set of samples (nearest-rank). */
export function latencyOf(samples: ArrayLike<number>): LatencyStats {
  const n = samples.length;
  if (n === 0) return { samples: 0, p50_ms: 0, p99_ms: 0, max_ms: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number): number => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] ?? 0;
  return { samples: n, p50_ms: at(0.5), p99_ms: at(0.99), max_ms: sorted[n - 1] ?? 0 };
}
