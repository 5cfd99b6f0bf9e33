import { afterEach, describe, expect, it, vi } from 'vitest';
import { SinkError, type PeregrineEvent } from '@peregrine/events';
import { delivered, undelivered } from '../result.js';
import { smallEvent } from '../testdata/events.js';
import { backoffDelay, parseQueueConfig, queueSchema } from './config.js';
import { MemoryQueue } from './memory.js';
import { MemorySink } from './testing.js';

const seqs = (events: readonly PeregrineEvent[]): number[] => events.map((e) => ('process_exit' in e ? e.process_exit.process.pid : 'process_exec' in e ? e.process_exec.process.pid : -1));
const batch = (from: number, n: number): PeregrineEvent[] => Array.from({ length: n }, (_, i) => smallEvent(from + i));
const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const retryable = (n: number, msg = 'busy'): ReturnType<typeof undelivered> => undelivered(new SinkError(msg, true), n);
const rejectedAt = (n: number, msg = 'bad event'): ReturnType<typeof undelivered> => undelivered(new SinkError(msg, false), n);

function queue(sink: MemorySink, cfg: Record<string, unknown> = {}): MemoryQueue {
  return new MemoryQueue(sink, cfg, { random: () => 0.5 }); // 0.5: jitter adds nothing
}

afterEach(() => {
  vi.useRealTimers();
});

describe('queue config', () => {
  it('fills in every default and rejects unknown keys', () => {
    const c = parseQueueConfig({});
    expect(c).toMatchObject({ max_events: 100_000, when_full: 'drop_newest', retry: { initial_backoff_ms: 1000, max_backoff_ms: 30_000, multiplier: 1.5, jitter: 0.2 } });
    expect(c.redis).toBeUndefined();
    expect(() => parseQueueConfig({ retry: { bogus: 1 } })).toThrow(/queue\.retry\.bogus: unknown field/);
    expect(() => parseQueueConfig({ when_full: 'block' })).toThrow(/when_full/);
    expect(parseQueueConfig({ redis: {} }).redis).toMatchObject({ url: 'redis://127.0.0.1:6379', prefix: 'peregrine' });
    expect(() => parseQueueConfig({ redis: { prefix: 'a:b' } })).toThrow(/prefix/);
  });

  it('backs off exponentially, capped, with bounded jitter', () => {
    const r = parseQueueConfig({ retry: { initial_backoff_ms: 100, multiplier: 2, max_backoff_ms: 1000, jitter: 0.2 } }).retry;
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(r, a, () => 0.5))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(r, 1, () => 0)).toBe(80);
    expect(backoffDelay(r, 1, () => 0.999999)).toBe(120);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(r, 3, Math.random);
      expect(d).toBeGreaterThanOrEqual(320);
      expect(d).toBeLessThanOrEqual(480);
    }
  });

  it('emits a JSON schema', async () => {
    const { z } = await import('zod');
    expect(JSON.stringify(z.toJSONSchema(queueSchema, { io: 'input' }))).toContain('when_full');
  });
});

describe('MemoryQueue', () => {
  it('delivers every batch, in order, merging queued batches up to batch_max_events', async () => {
    const sink = new MemorySink();
    const q = queue(sink, { batch_max_events: 25 });
    for (let i = 0; i < 10; i++) expect(q.enqueue(batch(i * 10, 10))).toEqual({ accepted: 10, dropped: 0 });
    expect(q.stats().depth).toBe(100);
    await q.start();
    await q.drain();
    expect(seqs(sink.received)).toEqual(range(0, 100));
    expect(sink.writes.every((w) => w.length <= 25)).toBe(true);
    expect(sink.writes.length).toBe(4);
    const s = q.stats();
    expect(s).toMatchObject({ depth: 0, enqueued: 100, sent: 100, failed: 0, dropped: 0, deadLettered: 0 });
    expect(s.latency.samples).toBeGreaterThanOrEqual(10); // one per enqueued batch, or per part of one split across deliveries
    await q.stop();
    expect(sink.stopped).toBe(1);
  });

  it('never blocks the caller: a stuck sink fills the buffer and drop_newest counts the rest', async () => {
    const sink = new MemorySink('stuck', () => new Promise(() => undefined));
    const q = queue(sink, { max_events: 50, batch_max_events: 10 });
    await q.start();
    let accepted = 0;
    let dropped = 0;
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) {
      const r = q.enqueue(batch(i * 3, 3));
      accepted += r.accepted;
      dropped += r.dropped;
    }
    expect(performance.now() - t0).toBeLessThan(100);
    expect(accepted).toBe(50);
    expect(dropped).toBe(250);
    expect(q.stats()).toMatchObject({ depth: 50, enqueued: 50, dropped: 250 });
    expect(sink.writes.length).toBe(1); // the first delivery is still in flight
  });

  it('drop_newest keeps the oldest events; drop_oldest keeps the newest, both counted', async () => {
    const newest = new MemorySink();
    const qn = queue(newest, { max_events: 10, when_full: 'drop_newest' });
    expect(qn.enqueue(batch(0, 6))).toEqual({ accepted: 6, dropped: 0 });
    expect(qn.enqueue(batch(6, 6))).toEqual({ accepted: 4, dropped: 2 });
    expect(qn.enqueue(batch(12, 1))).toEqual({ accepted: 0, dropped: 1 });
    await qn.start();
    await qn.drain();
    expect(seqs(newest.received)).toEqual(range(0, 10));
    expect(qn.stats()).toMatchObject({ enqueued: 10, dropped: 3, sent: 10 });

    const oldest = new MemorySink();
    const qo = queue(oldest, { max_events: 10, when_full: 'drop_oldest' });
    qo.enqueue(batch(0, 6));
    expect(qo.enqueue(batch(6, 6))).toEqual({ accepted: 6, dropped: 2 });
    expect(qo.enqueue(batch(12, 15))).toEqual({ accepted: 10, dropped: 15 });
    await qo.start();
    await qo.drain();
    expect(seqs(oldest.received)).toEqual(range(17, 10));
    expect(qo.stats()).toMatchObject({ enqueued: 22, dropped: 17, sent: 10, depth: 0 });
  });

  it('drop_oldest cannot evict what is in flight', async () => {
    let release: (() => void) | undefined;
    const sink = new MemorySink('slow', (b, call) =>
      call === 0 ? new Promise((resolve) => (release = () => resolve(delivered(b.length)))) : delivered(b.length),
    );
    const q = queue(sink, { max_events: 10, when_full: 'drop_oldest', batch_max_events: 8 });
    await q.start();
    q.enqueue(batch(0, 8)); // in flight
    await vi.waitFor(() => expect(sink.writes.length).toBe(1));
    q.enqueue(batch(8, 2));
    expect(q.enqueue(batch(10, 3))).toEqual({ accepted: 2, dropped: 3 }); // evicts 8,9; 10 does not fit
    release!();
    await q.drain();
    expect(seqs(sink.received)).toEqual([...range(0, 8), 11, 12]);
    expect(q.stats()).toMatchObject({ dropped: 3, sent: 10 });
  });

  it('retries a retryable rest after exponential backoff, resending only what was not delivered', async () => {
    vi.useFakeTimers();
    const sink = new MemorySink('flaky', (b, call) => (call === 0 ? retryable(3) : call === 1 ? retryable(2) : delivered(b.length)));
    const q = queue(sink, { retry: { initial_backoff_ms: 1000, multiplier: 2, max_backoff_ms: 10_000 } });
    await q.start();
    q.enqueue(batch(0, 10));
    await vi.advanceTimersByTimeAsync(0);
    expect(sink.writes.length).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(sink.writes.length).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sink.writes.length).toBe(2);
    expect(seqs(sink.writes[1]!)).toEqual(range(3, 7));
    await vi.advanceTimersByTimeAsync(1999);
    expect(sink.writes.length).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(sink.writes.length).toBe(3);
    expect(seqs(sink.writes[2]!)).toEqual(range(5, 5));
    await q.drain();
    expect(seqs(sink.received)).toEqual(range(0, 10));
    expect(q.stats()).toMatchObject({ sent: 10, failed: 7 + 5, retried: 7 + 5, deadLettered: 0, depth: 0 });
  });

  it('keeps order behind a retried batch', async () => {
    vi.useFakeTimers();
    const sink = new MemorySink('flaky', (b, call) => (call < 2 ? retryable(0) : delivered(b.length)));
    const q = queue(sink, { batch_max_events: 5, retry: { initial_backoff_ms: 10 } });
    await q.start();
    q.enqueue(batch(0, 5));
    q.enqueue(batch(5, 5));
    await vi.advanceTimersByTimeAsync(100);
    await q.drain();
    expect(seqs(sink.received)).toEqual(range(0, 10));
    expect(sink.writes.map((w) => w[0] && seqs([w[0]])[0])).toEqual([0, 0, 0, 5]);
  });

  it('applies jitter to the backoff', async () => {
    vi.useFakeTimers();
    const sink = new MemorySink('flaky', (b, call) => (call === 0 ? retryable(0) : delivered(b.length)));
    const q = new MemoryQueue(sink, { retry: { initial_backoff_ms: 1000, jitter: 0.2 } }, { random: () => 0 });
    await q.start();
    q.enqueue(batch(0, 1));
    await vi.advanceTimersByTimeAsync(799);
    expect(sink.writes.length).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sink.writes.length).toBe(2);
  });

  it('dead-letters a rejected rest with its reason, and the rest keeps flowing', async () => {
    const poison = (e: PeregrineEvent): boolean => seqs([e])[0] === 13;
    const sink = new MemorySink('picky', (b) => {
      const i = b.findIndex(poison);
      return i < 0 ? delivered(b.length) : rejectedAt(i, 'cannot encode event 13');
    });
    const q = queue(sink, { batch_max_events: 10 });
    await q.start();
    for (let i = 0; i < 3; i++) q.enqueue(batch(i * 10, 10));
    await q.drain();
    expect(seqs(sink.received)).toEqual([...range(0, 13), ...range(20, 10)]);
    const dl = q.deadLetters();
    expect(dl).toHaveLength(1);
    expect(dl[0]).toMatchObject({ reason: 'cannot encode event 13', attempts: 1 });
    expect(seqs(dl[0]!.events)).toEqual(range(13, 7));
    expect(q.stats()).toMatchObject({ sent: 23, failed: 7, retried: 0, deadLettered: 7, depth: 0 });
    sink.script = (b) => delivered(b.length);
    expect(q.replayDeadLetters()).toEqual({ accepted: 7, dropped: 0 });
    expect(q.deadLetters()).toHaveLength(0);
    await q.drain();
    expect(seqs(sink.received).slice(-7)).toEqual(range(13, 7));
    expect(q.stats()).toMatchObject({ sent: 30, enqueued: 37, deadLettered: 7 });
  });

  it('dead-letters after max_attempts', async () => {
    vi.useFakeTimers();
    const sink = new MemorySink('down', () => retryable(0, 'connection refused'));
    const q = queue(sink, { retry: { max_attempts: 3, initial_backoff_ms: 100, max_age_ms: 0 } });
    await q.start();
    q.enqueue(batch(0, 4));
    await vi.advanceTimersByTimeAsync(10_000);
    await q.drain();
    expect(sink.writes.length).toBe(3);
    expect(q.deadLetters()[0]).toMatchObject({ reason: 'gave up after 3 attempts: connection refused', attempts: 3 });
    expect(q.stats()).toMatchObject({ sent: 0, failed: 12, retried: 8, deadLettered: 4, depth: 0 });
  });

  it('dead-letters a batch whose next retry would pass max_age_ms', async () => {
    vi.useFakeTimers();
    const sink = new MemorySink('down', () => retryable(0, 'timeout'));
    const q = queue(sink, { retry: { max_attempts: 100, initial_backoff_ms: 1000, multiplier: 2, max_age_ms: 5000 } });
    await q.start();
    q.enqueue(batch(0, 2));
    await vi.advanceTimersByTimeAsync(60_000);
    await q.drain();
    // attempts at t=0, 1000, 3000; the next would be at 7000 > 5000
    expect(sink.writes.length).toBe(3);
    expect(q.deadLetters()[0]!.reason).toMatch(/^older than max_age_ms \(5000\) after 3 attempts: timeout/);
    expect(q.stats().deadLettered).toBe(2);
  });

  it('bounds the dead letters it keeps, counting all', async () => {
    const sink = new MemorySink('reject', () => rejectedAt(0));
    const q = queue(sink, { batch_max_events: 5, dead_letter: { max_events: 12 } });
    await q.start();
    for (let i = 0; i < 5; i++) q.enqueue(batch(i * 5, 5));
    await q.drain();
    expect(q.stats().deadLettered).toBe(25);
    expect(q.deadLetters().reduce((n, d) => n + d.events.length, 0)).toBe(10);
    expect(seqs(q.deadLetters()[0]!.events)[0]).toBe(15);
  });

  it('takes per-event dead letters a sink reports in its result', async () => {
    const sink = new MemorySink('es', (b) => ({ ...delivered(b.length), deadLetters: [{ event: b[1]!, reason: 'mapper_parsing_exception' }] }));
    const q = queue(sink);
    await q.start();
    q.enqueue(batch(0, 3));
    await q.drain();
    expect(q.deadLetters()).toEqual([expect.objectContaining({ reason: 'mapper_parsing_exception', events: [smallEvent(1)] })]);
    expect(q.stats()).toMatchObject({ sent: 2, deadLettered: 1, depth: 0 });
  });

  it('stop() flushes what is queued, then stops the sink; later enqueues are dropped and counted', async () => {
    const sink = new MemorySink('slow', async (b) => {
      await new Promise((r) => setTimeout(r, 5));
      return delivered(b.length);
    });
    const q = queue(sink, { batch_max_events: 10 });
    await q.start();
    for (let i = 0; i < 10; i++) q.enqueue(batch(i * 10, 10));
    await q.stop();
    expect(seqs(sink.received)).toEqual(range(0, 100));
    expect(sink.stopped).toBe(1);
    expect(q.enqueue(batch(100, 5))).toEqual({ accepted: 0, dropped: 5 });
    expect(q.stats()).toMatchObject({ sent: 100, dropped: 5, depth: 0 });
    await q.stop(); // idempotent
    expect(sink.stopped).toBe(1);
  });

  it('stop() gives up after shutdown_timeout_ms and counts the leftovers as dropped', async () => {
    const sink = new MemorySink('down', () => retryable(0));
    const q = queue(sink, { shutdown_timeout_ms: 50, retry: { initial_backoff_ms: 10_000 } });
    await q.start();
    q.enqueue(batch(0, 5));
    q.enqueue(batch(5, 5));
    const t0 = Date.now();
    await q.stop();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(q.stats()).toMatchObject({ sent: 0, dropped: 10, depth: 0, deadLettered: 0 });
    await q.drain(); // nothing left to wait for
  });

  it('stop() returns even when the sink never settles a write', async () => {
    const sink = new MemorySink('hung', () => new Promise(() => undefined));
    const q = queue(sink, { shutdown_timeout_ms: 20 });
    await q.start();
    q.enqueue(batch(0, 4));
    await vi.waitFor(() => expect(sink.writes.length).toBe(1));
    q.enqueue(batch(4, 2));
    await q.stop();
    expect(q.stats()).toMatchObject({ sent: 0, dropped: 6, depth: 0 });
  });

  it('stop() without start() stops the sink and counts what was queued', async () => {
    const sink = new MemorySink();
    const q = queue(sink);
    q.enqueue(batch(0, 3));
    await q.stop();
    expect(q.stats()).toMatchObject({ dropped: 3, depth: 0 });
    expect(sink.started).toBe(0);
  });

  it('treats a sink that throws as retryable', async () => {
    vi.useFakeTimers();
    const sink = new MemorySink('throws', (b, call) => {
      if (call === 0) throw new Error('boom');
      return delivered(b.length);
    });
    const errors: string[] = [];
    const q = new MemoryQueue(sink, { retry: { initial_backoff_ms: 10 } }, { random: () => 0.5, onError: (e) => errors.push(e.message) });
    await q.start();
    q.enqueue(batch(0, 2));
    await vi.advanceTimersByTimeAsync(20);
    await q.drain();
    expect(seqs(sink.received)).toEqual([0, 1]);
    expect(errors).toEqual(['sink throws: boom']);
  });
});
