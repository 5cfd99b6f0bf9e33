import { mkdir, open, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SinkError } from '@peregrine/events';
import { execEvent, seqOf, smallEvent } from '../testdata/events.js';
import { tempDir, wholeLines } from '../testdata/files.js';
import { fileSinkSchema } from './config.js';
import { FileSink } from './sink.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => {
  vi.restoreAllMocks();
  await cleanup();
});

function sink(over: Record<string, unknown> = {}): FileSink {
  return new FileSink(fileSinkSchema.parse({ path: join(dir, 'events.log'), ...over }));
}

async function lines(path = join(dir, 'events.log')): Promise<string[]> {
  return wholeLines(await readFile(path, 'utf8'));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

describe('file sink', () => {
  it('appends one JSON.stringify(event) per line, in call order', async () => {
    const s = sink();
    await s.start();
    const batches = [range(0, 3).map((i) => execEvent(i)), [smallEvent(3)], range(4, 10).map((i) => execEvent(i))];
    const results = await Promise.all(batches.map((b) => s.write(b)));
    expect(results).toEqual([
      { status: 'delivered', delivered: 3 },
      { status: 'delivered', delivered: 1 },
      { status: 'delivered', delivered: 6 },
    ]);
    await s.stop();
    expect(await lines()).toEqual(batches.flat().map((e) => JSON.stringify(e)));
    expect(s.stats()).toMatchObject({ sent: 10, failed: 0, dropped: 0, bytes: (await stat(join(dir, 'events.log'))).size });
  });

  it('keeps non-ASCII text intact', async () => {
    const s = sink();
    await s.start();
    const ev = execEvent(1, { arguments: 'héllo wörld ✓ 😀 \u2028', cwd: '/home/ünï' });
    await s.write([ev]);
    await s.stop();
    expect(await lines()).toEqual([JSON.stringify(ev)]);
  });

  it('creates the parent directories 0700 and the file with the configured mode, whatever the umask', async () => {
    const old = process.umask(0);
    try {
      const path = join(dir, 'a', 'b', 'events.log');
      const s = sink({ path });
      await s.start();
      await s.write([execEvent(1)]);
      await s.stop();
      expect((await stat(join(dir, 'a'))).mode & 0o777).toBe(0o700);
      expect((await stat(join(dir, 'a', 'b'))).mode & 0o777).toBe(0o700);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      process.umask(0o077);
      const t = sink({ path: join(dir, 'c', 'shared.log'), file_mode: 0o640 });
      await t.start();
      await t.stop();
      expect((await stat(join(dir, 'c', 'shared.log'))).mode & 0o777).toBe(0o640);
    } finally {
      process.umask(old);
    }
  });

  it('resets the mode of an existing file and appends to it', async () => {
    const path = join(dir, 'events.log');
    await writeFile(path, '{"old":1}\n', { mode: 0o666 });
    const s = sink();
    await s.start();
    await s.write([execEvent(1)]);
    await s.stop();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await lines()).toEqual(['{"old":1}', JSON.stringify(execEvent(1))]);
  });

  it('ends a line a previous writer left cut short before appending', async () => {
    const path = join(dir, 'events.log');
    await writeFile(path, '{"whole":1}\n{"cut":', { mode: 0o600 });
    const s = sink();
    await s.start();
    await s.write([execEvent(1)]);
    await s.stop();
    expect(await lines()).toEqual(['{"whole":1}', '{"cut":', JSON.stringify(execEvent(1))]);
    expect(s.stats().errors).toEqual({ partial_line: 1 });
  });

  it('stop() flushes pending batches, is idempotent, and later writes are rejected', async () => {
    const s = sink();
    await s.start();
    const pending = range(0, 50).map((b) => s.write(range(b * 100, b * 100 + 100).map((i) => smallEvent(i))));
    const stopping = s.stop();
    expect(s.stop()).toBe(stopping);
    await stopping;
    await s.stop();
    expect((await Promise.all(pending)).every((r) => r.status === 'delivered')).toBe(true);
    expect((await lines()).map(seqOf)).toEqual(range(0, 5000));
    const after = await s.write([smallEvent(1)]);
    expect(after).toMatchObject({ status: 'rejected', delivered: 0 });
    expect(after.error).toBeInstanceOf(SinkError);
    expect(after.error?.retryable).toBe(false);
    expect(s.stats()).toMatchObject({ sent: 5000, failed: 1, retried: 0 });
  });

  it('rejects writes before start(); stop() without start() is a no-op', async () => {
    const s = sink();
    expect(await s.write([smallEvent(1)])).toMatchObject({ status: 'rejected', error: expect.objectContaining({ message: expect.stringContaining('not started') }) });
    await s.stop();
    await expect(s.start()).rejects.toThrow(/stopped/);
  });

  it('start() is idempotent', async () => {
    const s = sink();
    const a = s.start();
    expect(s.start()).toBe(a);
    await a;
    await s.start();
    await s.stop();
  });

  it('start() fails with a SinkError when the path cannot be opened', async () => {
    await mkdir(join(dir, 'events.log'));
    const err = await sink().start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).retryable).toBe(false);
    await symlink('/etc/passwd', join(dir, 'link.log'));
    await expect(sink({ path: join(dir, 'link.log') }).start()).rejects.toThrow(/ELOOP|symbolic/);
  });

  it('rejects an unencodable batch without throwing', async () => {
    const s = sink();
    await s.start();
    const cyclic = execEvent(1) as unknown as Record<string, unknown>;
    cyclic['self'] = cyclic;
    const r = await s.write([execEvent(0), cyclic as never]);
    expect(r).toMatchObject({ status: 'rejected', delivered: 0 });
    expect(s.stats().errors).toEqual({ encode: 1 });
    await s.stop();
    expect(await lines()).toEqual([]);
  });

  it('writeLines() appends pre-encoded JSON lines as they are, between write() batches, in call order', async () => {
    const s = sink();
    await s.start();
    const pre = [execEvent(1), smallEvent(2)];
    const results = await Promise.all([
      s.write([execEvent(0)]),
      s.writeLines(Buffer.from(pre.map((e) => JSON.stringify(e) + '\n').join('')), 2),
      s.write([execEvent(3)]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(results[1]).toEqual({ status: 'delivered', delivered: 2 });
    await s.stop();
    expect(await lines()).toEqual([execEvent(0), ...pre, execEvent(3)].map((e) => JSON.stringify(e)));
    expect(s.stats()).toMatchObject({ sent: 4, failed: 0 });
  });

  it('writeLines() rejects a batch whose line count is not the one given, or whose last line is unterminated, writing nothing', async () => {
    const s = sink();
    await s.start();
    const two = Buffer.from('{"a":1}\n{"a":2}\n');
    expect(await s.writeLines(two, 3)).toMatchObject({ status: 'rejected', delivered: 0, error: { message: expect.stringContaining('a batch of 3 JSON lines holds 2 lines') } });
    expect(await s.writeLines(Buffer.from('{"a":1}\n{"a":2}'), 2)).toMatchObject({ status: 'rejected', error: { message: expect.stringContaining('an unterminated line') } });
    expect(s.stats()).toMatchObject({ sent: 0, failed: 5, errors: { encode: 2 } });
    await s.stop();
    expect(await lines()).toEqual([]);
  });

  it('a failed append is cut back, answered retryable with the cause, counted, and the sink recovers', async () => {
    const s = sink();
    await s.start();
    await s.write([execEvent(0)]);
    // The disk fills up half-way through the next write: the kernel takes part of it, then ENOSPC.
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { writev: (bufs: Buffer[]) => Promise<{ bytesWritten: number }> };
    await probe.close();
    const real = proto.writev;
    const spy = vi
      .spyOn(proto, 'writev')
      .mockImplementationOnce(function (this: unknown, bufs: Buffer[]) {
        const all = Buffer.concat(bufs);
        return real.call(this, [all.subarray(0, Math.floor(all.length / 2))]);
      })
      .mockImplementationOnce(() => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 })));
    const [failed, queued] = await Promise.all([s.write(range(1, 4).map((i) => execEvent(i))), s.write([execEvent(4)])]);
    expect(spy).toHaveBeenCalledTimes(2);
    expect(failed).toMatchObject({ status: 'retryable', delivered: 0 });
    expect(failed.error?.message).toContain('no space left');
    expect((failed.error?.cause as { code?: string }).code).toBe('ENOSPC');
    expect(queued).toMatchObject({ status: 'retryable', delivered: 0 });
    expect(await lines()).toEqual([JSON.stringify(execEvent(0))]);
    expect(s.stats()).toMatchObject({ sent: 1, failed: 4, retried: 4, errors: { ENOSPC: 1 } });

    expect(await s.write(range(1, 5).map((i) => execEvent(i)))).toEqual({ status: 'delivered', delivered: 4 });
    await s.stop();
    expect((await lines()).map(seqOf)).toEqual([0, 1, 2, 3, 4]);
  });

  it('permission errors are rejected, not retryable', async () => {
    const s = sink();
    await s.start();
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { writev: () => Promise<unknown> };
    await probe.close();
    vi.spyOn(proto, 'writev').mockRejectedValueOnce(Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' }));
    expect(await s.write([execEvent(1)])).toMatchObject({ status: 'rejected', error: expect.objectContaining({ retryable: false }) });
    expect(s.stats()).toMatchObject({ failed: 1, retried: 0, errors: { EROFS: 1 } });
    await s.stop();
  });

  it('healthcheck() checks the directory is writable', async () => {
    await sink({ path: join(dir, 'not', 'yet', 'there.log') }).healthcheck();
    await writeFile(join(dir, 'file'), '');
    await expect(sink({ path: join(dir, 'file', 'events.log') }).healthcheck()).rejects.toThrow(SinkError);
    await mkdir(join(dir, 'events.log'));
    await expect(sink().healthcheck()).rejects.toThrow(/not a regular file/);
  });
});
