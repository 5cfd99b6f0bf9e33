import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SinkError } from '@peregrine/events';
import { execEvent, exitEvent } from '../testdata/events.js';
import { compactSinkSchema } from './config.js';
import { formatCompact } from './format.js';
import { CompactSink, type CompactStream } from './sink.js';

/** A stream that keeps what it gets; `stalled` never completes a write (a terminal that stopped reading). */
function stream(opts: { tty?: boolean; stalled?: boolean } = {}): CompactStream & { text: () => string } {
  const chunks: Buffer[] = [];
  const s = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      if (!opts.stalled) done();
    },
  }) as Writable & { isTTY?: boolean; text: () => string };
  if (opts.tty) s.isTTY = true;
  s.text = () => Buffer.concat(chunks).toString('utf8');
  return s;
}

function sink(s: CompactStream, over: Record<string, unknown> = {}, env: Record<string, string> = {}): CompactSink {
  return new CompactSink(compactSinkSchema.parse(over), { stream: s, env });
}

const batch = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? execEvent(i) : exitEvent(i, { status: i })));

describe('compact sink', () => {
  it('writes one line per event', async () => {
    const out = stream();
    const s = sink(out);
    await s.start();
    expect(await s.write(batch)).toEqual({ status: 'delivered', delivered: 10 });
    await s.stop();
    expect(out.text()).toBe(batch.map((e) => `${formatCompact(e, { color: false })}\n`).join(''));
    expect(s.stats()).toMatchObject({ sent: 10, dropped: 0, bytes: Buffer.byteLength(out.text()) });
  });

  it('colours a TTY in auto mode, unless NO_COLOR or TERM=dumb', () => {
    expect(sink(stream({ tty: true })).color).toBe(true);
    expect(sink(stream({ tty: false })).color).toBe(false);
    expect(sink(stream({ tty: true }), {}, { NO_COLOR: '1' }).color).toBe(false);
    expect(sink(stream({ tty: true }), {}, { TERM: 'dumb' }).color).toBe(false);
    expect(sink(stream({ tty: false }), { color: 'always' }, { NO_COLOR: '1' }).color).toBe(true);
    expect(sink(stream({ tty: true }), { color: 'never' }).color).toBe(false);
  });

  it('drops and counts lines instead of blocking on a slow stream', async () => {
    const out = stream({ stalled: true });
    const s = sink(out, { max_buffer_bytes: 64 * 1024, flush_timeout_ms: 50 });
    await s.start();
    let delivered = 0;
    let dropped = 0;
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) {
      const r = await s.write(batch);
      expect(r.status).toBe('delivered');
      delivered += r.delivered;
      dropped += r.dropped ?? 0;
      expect(r.delivered + (r.dropped ?? 0)).toBe(batch.length);
    }
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(delivered).toBeGreaterThan(0);
    expect(dropped).toBeGreaterThan(1000);
    expect(out.writableLength).toBeLessThanOrEqual(64 * 1024);
    expect(s.stats()).toMatchObject({ sent: delivered, dropped, failed: 0 });
    // flush() and stop() give up after flush_timeout_ms rather than hang.
    const t1 = performance.now();
    await s.stop();
    expect(performance.now() - t1).toBeLessThan(1000);
  });

  it('rejects batches after the stream fails (EPIPE), without throwing', async () => {
    const out = stream();
    const s = sink(out);
    await s.start();
    out.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    const r = await s.write(batch);
    expect(r).toMatchObject({ status: 'rejected', delivered: 0 });
    expect(r.error).toBeInstanceOf(SinkError);
    expect(s.stats()).toMatchObject({ failed: 10, errors: { EPIPE: 1 } });
    await expect(s.healthcheck()).rejects.toThrow(/EPIPE/);
    await s.stop();
  });

  it('is idempotent and rejects writes outside start..stop', async () => {
    const out = stream();
    const s = sink(out);
    expect(await s.write(batch)).toMatchObject({ status: 'rejected' });
    await s.start();
    await s.start();
    await s.healthcheck();
    const stopping = s.stop();
    expect(s.stop()).toBe(stopping);
    await stopping;
    expect(await s.write(batch)).toMatchObject({ status: 'rejected', error: expect.objectContaining({ message: expect.stringContaining('stopped') }) });
    expect(out.listenerCount('error')).toBe(0);
  });
});
