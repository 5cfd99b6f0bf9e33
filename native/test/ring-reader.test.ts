// RingReader against a real ring buffer: kill(2) calls of this process become records (ringtest.bpf.c).
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  buildTestObjects,
  canLoadBpf,
  decodeRecord,
  native,
  openRingtest,
  perCpuSum,
  RINGTEST_MAGIC,
  splitBatch,
  u32,
  type RingtestRecord,
} from './fixture.js';
import { TIME_SCALE, scaled } from '../../test/helpers/time.js';

type Reader = InstanceType<typeof native.RingReader>;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function start(ringBytes?: number, opts?: ConstructorParameters<typeof native.RingReader>[3]) {
  const { obj, link } = openRingtest(ringBytes);
  const batches: Buffer[] = [];
  const records: RingtestRecord[] = [];
  const reader = new native.RingReader(
    obj,
    'ringtest_rb',
    (batch) => {
      batches.push(batch);
      for (const r of splitBatch(batch)) records.push(decodeRecord(r));
    },
    opts,
  );
  cleanups.push(() => {
    reader.stop();
    link.destroy();
    obj.close();
  });
  return { obj, link, reader, batches, records };
}

describe.skipIf(!canLoadBpf)('RingReader', () => {
  beforeAll(() => buildTestObjects());

  it('delivers records in framed batches with exact content, and counts them', async () => {
    const { obj, reader, batches, records } = start();
    const targets = [process.pid, 1, process.pid, 1, process.pid, 1, process.pid, 1, process.pid, 1];
    for (const t of targets) process.kill(t, 0);
    await vi.waitFor(() => expect(records.length).toBe(10), { timeout: scaled(2000), interval: 5 });

    records.forEach((r, i) => {
      expect(r.magic).toBe(RINGTEST_MAGIC);
      expect(r.tgid).toBe(process.pid);
      expect(r.seq).toBe(BigInt(i));
      expect(r.target).toBe(BigInt(targets[i]!));
      expect(r.sig).toBe(0);
      // payload_len = seq % 8, payload[j] = seq + j: every padding residue is exercised
      expect([...r.payload]).toEqual(Array.from({ length: i % 8 }, (_, j) => i + j));
    });
    const stats = reader.stats();
    expect(stats).toEqual({
      records: 10,
      batches: batches.length,
      bytes: batches.reduce((n, b) => n + b.length, 0),
      droppedBatches: 0,
      droppedRecords: 0,
    });
    // Records made within one poll interval travel together: fewer JS calls than records.
    expect(batches.length).toBeLessThan(10);
    expect(perCpuSum(obj.mapLookup('ringtest_counts', u32(0))!)).toBe(10n);
  });

  it('delivers a burst of 100k records complete with the default options', async () => {
    // 100k records are ~4.4 MB in the ring; the ring is sized so the BPF side never drops while the
    // JavaScript thread is busy producing (drops would be counted in ringtest_counts[1]).
    const { obj, reader, records } = start(16 << 20);
    // The reader drains every 5 ms of real time into a queue of 64 batches, so a JavaScript thread
    // blocked for much more than 64 × 5 ms overflows it. Here the loop blocks ~0.3 s; under emulation
    // (TIME_SCALE > 1) the same loop blocks for seconds, which the agent's JavaScript thread never does,
    // so there the burst is produced in slices of 2,000 with the event loop turning in between. Either
    // way all 100k records must arrive, in order, and nothing may be dropped on either side.
    const n = 100_000;
    const slice = TIME_SCALE > 1 ? 2_000 : n;
    for (let i = 0; i < n; i++) {
      process.kill(process.pid, 0);
      if ((i + 1) % slice === 0) await new Promise((r) => setImmediate(r));
    }
    await vi.waitFor(() => expect(records.length).toBe(n), { timeout: scaled(10_000), interval: 10 });
    for (let i = 0; i < n; i++) {
      if (records[i]!.seq !== BigInt(i)) throw new Error(`record ${i} has seq ${records[i]!.seq}`);
    }
    expect(perCpuSum(obj.mapLookup('ringtest_counts', u32(1))!)).toBe(0n);
    const stats = reader.stats();
    expect(stats.records).toBe(n);
    expect(stats.droppedBatches).toBe(0);
    expect(stats.droppedRecords).toBe(0);
  });

  it('flushes at batchBytes and drops (and counts) batches when the queue is full', async () => {
    // 64-byte batches hold one 40..48-byte framed record each; with a queue of 1 and a busy JS
    // thread most of them must be dropped, never blocking the reader.
    const { reader, records } = start(1 << 20, { batchBytes: 64, maxQueuedBatches: 1, pollIntervalMs: 1 });
    const n = 2000;
    for (let i = 0; i < n; i++) process.kill(process.pid, 0);
    const busyUntil = Date.now() + 50; // let the reader find the queue full
    while (Date.now() < busyUntil);
    await vi.waitFor(
      () => {
        const s = reader.stats();
        expect(s.records + s.droppedRecords).toBe(n);
      },
      { timeout: scaled(5000), interval: 5 },
    );
    reader.stop();
    await new Promise((r) => setTimeout(r, scaled(20)));
    const s = reader.stats();
    expect(s.droppedBatches).toBeGreaterThan(0);
    expect(s.droppedRecords).toBe(s.droppedBatches); // one record per batch
    expect(s.batches).toBe(s.records);
    expect(records.length).toBe(s.records);
  });

  it('stop() drains what was submitted before it and is idempotent', async () => {
    const { reader, records } = start(undefined, { pollIntervalMs: 1000 });
    // With a 1 s interval the first round has already run: these records wait for stop()'s final drain
    await new Promise((r) => setTimeout(r, scaled(20)));
    for (let i = 0; i < 5; i++) process.kill(process.pid, 0);
    reader.stop();
    reader.stop();
    expect(reader.stats().records).toBe(5); // counted once queued, before delivery
    await vi.waitFor(() => expect(records.length).toBe(5), { timeout: scaled(2000), interval: 5 });
    process.kill(process.pid, 0);
    await new Promise((r) => setTimeout(r, scaled(20)));
    expect(records.length).toBe(5);
  });

  it('stop() works from inside onBatch', async () => {
    const { obj, link } = openRingtest();
    let calls = 0;
    const reader: Reader = new native.RingReader(obj, 'ringtest_rb', () => {
      calls++;
      reader.stop();
      reader.stop();
    });
    cleanups.push(() => {
      reader.stop();
      link.destroy();
      obj.close();
    });
    process.kill(process.pid, 0);
    await vi.waitFor(() => expect(calls).toBe(1), { timeout: scaled(2000), interval: 5 });
    process.kill(process.pid, 0);
    await new Promise((r) => setTimeout(r, scaled(30)));
    expect(calls).toBe(1);
    expect(reader.stats().records).toBe(1);
  });

  it('keeps reading after the BpfObject is closed (the link and the reader hold their own references)', async () => {
    const { obj, link, reader, records } = start();
    obj.close();
    obj.close();
    process.kill(process.pid, 0);
    await vi.waitFor(() => expect(records.length).toBe(1), { timeout: scaled(2000), interval: 5 });
    link.destroy();
    link.destroy();
    process.kill(process.pid, 0);
    await new Promise((r) => setTimeout(r, scaled(30)));
    expect(records.length).toBe(1);
    expect(reader.stats().records).toBe(1);
  });

  it('rejects a map that is not a ring buffer, an unknown map, and bad options', () => {
    const { obj, link } = openRingtest();
    cleanups.push(() => {
      link.destroy();
      obj.close();
    });
    const make = (map: string, opts?: object) => () => new native.RingReader(obj, map, () => {}, opts as never);
    expect(make('ringtest_hash')).toThrow(expect.objectContaining({ code: 'EINVAL', operation: 'RingReader' }));
    expect(make('nope')).toThrow(expect.objectContaining({ code: 'ENOENT', errno: 2 }));
    expect(make('ringtest_rb', { pollIntervalMs: 0 })).toThrow(/pollIntervalMs/);
    expect(make('ringtest_rb', { batchBytes: 1.5 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => new native.RingReader({} as never, 'ringtest_rb', () => {})).toThrow(/BpfObject/);
  });
});
