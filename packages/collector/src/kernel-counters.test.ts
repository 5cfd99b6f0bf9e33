import { describe, expect, it } from 'vitest';
import { perCpuCounter, perCpuCounters, stopAndDrain } from './kernel-counters.js';
import type { BpfObject, RingReader } from './native.js';

function objWith(values: Record<number, bigint[]>): BpfObject {
  return {
    mapLookup: (_map: string, key: Buffer) => {
      const per = values[key.readUInt32LE(0)];
      if (!per) return null;
      const b = Buffer.alloc(per.length * 8);
      per.forEach((v, i) => b.writeBigUInt64LE(v, i * 8));
      return b;
    },
  } as unknown as BpfObject;
}

describe('perCpuCounter(s)', () => {
  it('sums one u64 per CPU; a missing entry or no object counts 0', () => {
    const obj = objWith({ 0: [1n, 2n, 3n], 2: [10n, 0n] });
    expect(perCpuCounter(obj, 'm', 0)).toBe(6);
    expect(perCpuCounter(obj, 'm', 1)).toBe(0);
    expect(perCpuCounter(null, 'm', 0)).toBe(0);
    expect(perCpuCounters(obj, 'm', { a: 0, b: 1, c: 2 })).toEqual({ a: 6, b: 0, c: 10 });
  });
});

describe('stopAndDrain', () => {
  it('stops the reader and waits until every delivered batch is handled', async () => {
    let handled = 1;
    let stopped = false;
    const reader = { stop: () => void (stopped = true), stats: () => ({ batches: 3 }) } as unknown as RingReader;
    setTimeout(() => (handled = 3), 30);
    await stopAndDrain(reader, () => handled);
    expect(stopped).toBe(true);
    expect(handled).toBe(3);
  });

  it('gives up after the timeout rather than hang on a listener that never catches up', async () => {
    const reader = { stop: () => undefined, stats: () => ({ batches: 5 }) } as unknown as RingReader;
    const t0 = Date.now();
    await stopAndDrain(reader, () => 0, 50);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
  });
});
