// What every BPF backend does the same way around its object: sum its per-CPU counters, and stop its
// ring reader without losing what the reader already handed over.
import type { BpfObject, RingReader } from './native.js';

/** One counter of a per-CPU array map (u32 index → one u64 per CPU), summed; 0 without an object. */
export function perCpuCounter(obj: BpfObject | null | undefined, map: string, idx: number): number {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(idx);
  const v = obj?.mapLookup(map, key);
  let t = 0;
  if (v) for (let off = 0; off + 8 <= v.length; off += 8) t += Number(v.readBigUInt64LE(off));
  return t;
}

/** Every counter named in `names` (name → index). */
export function perCpuCounters<K extends string>(obj: BpfObject | null | undefined, map: string, names: Record<K, number>): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const [name, idx] of Object.entries(names) as [K, number][]) out[name] = perCpuCounter(obj, map, idx);
  return out;
}

/**
 * Stops the reader, then waits (at most timeoutMs) until the backend has handled every batch the reader
 * delivered: the records read before the stop still reach the listeners.
 */
export async function stopAndDrain(reader: RingReader, handled: () => number, timeoutMs = 5000): Promise<void> {
  reader.stop();
  const deadline = Date.now() + timeoutMs;
  while (handled() < reader.stats().batches && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
}
