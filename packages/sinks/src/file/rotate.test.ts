import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PeregrineEvent } from '@peregrine/events';
import { execEvent, seqOf, smallEvent } from '../testdata/events.js';
import { readRotated, tempDir, wholeLines, type OnDisk } from '../testdata/files.js';
import { fileSinkSchema } from './config.js';
import { FileSink } from './sink.js';

let dir: string;
let path: string;
let cleanup: () => Promise<void>;
let umask: number;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  path = join(dir, 'events.log');
  umask = process.umask(0); // permissive: the sink must still produce 0600 files
});
afterEach(async () => {
  process.umask(umask);
  await cleanup();
});

function sink(over: Record<string, unknown>): FileSink {
  return new FileSink(fileSinkSchema.parse({ path, ...over }));
}

/** Deterministic pseudo-random batch sizes in [1, max]. */
function batchSizes(total: number, max: number): number[] {
  const sizes: number[] = [];
  let seed = 42;
  for (let left = total; left > 0; ) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const n = Math.min(left, 1 + (seed % max));
    sizes.push(n);
    left -= n;
  }
  return sizes;
}

/** Write `total` events as many concurrent batches; every batch must be delivered whole. */
async function writeConcurrently(s: FileSink, total: number, maxBatch: number, make: (i: number) => PeregrineEvent = smallEvent): Promise<void> {
  let next = 0;
  const pending = batchSizes(total, maxBatch).map((n) => {
    const batch = Array.from({ length: n }, () => make(next++));
    return s.write(batch).then((r) => expect(r).toEqual({ status: 'delivered', delivered: n }));
  });
  await Promise.all(pending);
}

/** Lines of every file, oldest file first, each file checked to hold only whole JSON lines. */
function seqs(files: OnDisk[]): number[] {
  return files.flatMap((f) => wholeLines(f.text).map(seqOf));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

describe('file sink rotation', () => {
  it('loses, duplicates and cuts no line across rotations under concurrent load', async () => {
    const max = 256 * 1024;
    const total = 200_000;
    const s = sink({ max_size_bytes: max, max_backups: 10_000 });
    await s.start();
    await writeConcurrently(s, total, 3000); // up to ~750 KB per batch: many batches span several files
    await s.stop();

    const files = await readRotated(path);
    expect(files.length).toBeGreaterThan(100);
    expect(seqs(files)).toEqual(range(0, total)); // exactly once each, in order
    for (const f of files) {
      expect(f.size).toBeLessThanOrEqual(max);
      expect(f.mode).toBe(0o600);
    }
    // Files are filled: each one was rotated only when the next line did not fit.
    for (const [i, f] of files.slice(0, -1).entries()) {
      const nextLine = `${wholeLines(files[i + 1]?.text ?? '')[0]}\n`;
      expect(f.size + Buffer.byteLength(nextLine)).toBeGreaterThan(max);
    }
    expect(s.stats()).toMatchObject({ sent: total, failed: 0, rotations: files.length - 1 });
  });

  it('gzips backups in the background into whole lines', async () => {
    const total = 60_000;
    const s = sink({ max_size_bytes: 128 * 1024, max_backups: 1000, compress: true });
    await s.start();
    await writeConcurrently(s, total, 2000);
    await s.settled();
    await s.stop();

    const files = await readRotated(path); // also fails on a leftover temp file
    expect(files.length).toBeGreaterThan(50);
    expect(files.slice(0, -1).every((f) => f.name.endsWith('.gz'))).toBe(true);
    expect(files.at(-1)?.name).toBe('events.log');
    expect(files.every((f) => f.mode === 0o600)).toBe(true);
    expect(seqs(files)).toEqual(range(0, total));
    expect(s.stats().compressed).toBe(files.length - 1);
  });

  it('honours max_backups: the oldest files are deleted', async () => {
    const total = 30_000;
    const s = sink({ max_size_bytes: 64 * 1024, max_backups: 3 });
    await s.start();
    await writeConcurrently(s, total, 500);
    await s.stop();

    const files = await readRotated(path);
    expect(files.map((f) => f.name)).toEqual(['events.log.3', 'events.log.2', 'events.log.1', 'events.log']);
    const kept = seqs(files);
    expect(kept).toEqual(range(total - kept.length, total)); // the newest lines, contiguous
    expect(s.stats().rotations).toBeGreaterThan(10);
  });

  it('honours max_backups while backups are still being compressed', async () => {
    const total = 40_000;
    const s = sink({ max_size_bytes: 32 * 1024, max_backups: 2, compress: true });
    await s.start();
    await writeConcurrently(s, total, 300);
    await s.settled();
    await s.stop();

    const files = await readRotated(path);
    expect(files.map((f) => f.name)).toEqual(['events.log.2.gz', 'events.log.1.gz', 'events.log']);
    const kept = seqs(files);
    expect(kept).toEqual(range(total - kept.length, total));
  });

  it('keeps max_backups 0 to the live file only', async () => {
    const s = sink({ max_size_bytes: 16 * 1024, max_backups: 0 });
    await s.start();
    await writeConcurrently(s, 5000, 100);
    await s.stop();
    const files = await readRotated(path);
    expect(files.map((f) => f.name)).toEqual(['events.log']);
    const kept = seqs(files);
    expect(kept).toEqual(range(5000 - kept.length, 5000));
    expect(files[0]?.size).toBeLessThanOrEqual(16 * 1024);
  });

  it('never rotates with max_size_bytes 0', async () => {
    const s = sink({ max_size_bytes: 0 });
    await s.start();
    await writeConcurrently(s, 20_000, 1000);
    await s.stop();
    const files = await readRotated(path);
    expect(files).toHaveLength(1);
    expect(seqs(files)).toEqual(range(0, 20_000));
  });

  it('gives a line longer than max_size_bytes a file of its own', async () => {
    const s = sink({ max_size_bytes: 600, max_backups: 10 });
    await s.start();
    const big = execEvent(1); // ~900 bytes
    expect(await s.write([smallEvent(0), big, smallEvent(2)])).toEqual({ status: 'delivered', delivered: 3 });
    await s.stop();
    const files = await readRotated(path);
    expect(files.map((f) => wholeLines(f.text).map(seqOf))).toEqual([[0], [1], [2]]);
    expect(files[1]?.size).toBe(JSON.stringify(big).length + 1);
  });

  it('continues the rotation of a previous run', async () => {
    const a = sink({ max_size_bytes: 32 * 1024, max_backups: 100, compress: true });
    await a.start();
    await writeConcurrently(a, 3000, 200);
    await a.stop(); // may leave uncompressed backups: the next run compresses them
    const b = sink({ max_size_bytes: 32 * 1024, max_backups: 100, compress: true });
    await b.start();
    await writeConcurrently(b, 3000, 200, (i) => smallEvent(3000 + i));
    await b.settled();
    await b.stop();
    const files = await readRotated(path);
    expect(files.slice(0, -1).every((f) => f.name.endsWith('.gz'))).toBe(true);
    expect(seqs(files)).toEqual(range(0, 6000));
  });

  it('rotates an existing full file before writing, and drops backups past a lowered max_backups', async () => {
    const a = sink({ max_size_bytes: 8 * 1024, max_backups: 20 });
    await a.start();
    await writeConcurrently(a, 1000, 50);
    await a.stop();
    expect((await readdir(dir)).length).toBeGreaterThan(5);

    const b = sink({ max_size_bytes: 8 * 1024, max_backups: 2 });
    await b.start();
    await b.write([smallEvent(1000)]);
    await b.stop();
    const files = await readRotated(path);
    expect(files.map((f) => f.name)).toEqual(['events.log.2', 'events.log.1', 'events.log']);
    const kept = seqs(files);
    expect(kept).toEqual(range(1001 - kept.length, 1001));
  });
});
