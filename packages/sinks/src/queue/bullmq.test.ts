// BullQueue without a Redis: the agent side must never wait on it. (Delivery through a real Redis is in
// test/integration/queue.test.ts.)
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { smallEvent } from '../testdata/events.js';
import { BullQueue, batchJobOptions } from './bullmq.js';
import { parseQueueConfig } from './config.js';
import { queueNames } from './redis.js';

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('BullQueue (no Redis reachable)', () => {
  it('needs a redis section', () => {
    expect(() => new BullQueue('file', {})).toThrow(/needs a redis section/);
  });

  it('accepts up to max_events without blocking, counts the rest, and stop() returns, counting leftovers as dropped', async () => {
    const port = await closedPort();
    const q = new BullQueue('file', { max_events: 100, shutdown_timeout_ms: 100, redis: { url: `redis://127.0.0.1:${port}` } });
    await q.start();
    const t0 = performance.now();
    let accepted = 0;
    for (let i = 0; i < 30; i++) accepted += q.enqueue([smallEvent(i * 5), smallEvent(i * 5 + 1), smallEvent(i * 5 + 2), smallEvent(i * 5 + 3), smallEvent(i * 5 + 4)]).accepted;
    expect(performance.now() - t0).toBeLessThan(500) // synchronous: a blocking enqueue would wait for the dead Redis (seconds);
    expect(accepted).toBe(100);
    expect(q.stats()).toMatchObject({ enqueued: 100, dropped: 50, buffered: 100, flushed: 0, sent: 0, depth: 100, capacity: 100 });
    const t1 = Date.now();
    await q.stop();
    expect(Date.now() - t1).toBeLessThan(6000);
    expect(q.stats()).toMatchObject({ dropped: 150, buffered: 0, depth: 0 });
    expect(q.enqueue([smallEvent(1)])).toEqual({ accepted: 0, dropped: 1 });
    await q.stop();
  }, 15_000);

  it('names keys and jobs', () => {
    expect(queueNames('audit')).toEqual({ prefix: 'peregrine', queue: 'audit', dlq: 'audit.dlq', stats: 'peregrine:audit.stats', latency: 'peregrine:audit.latency' });
    expect(() => queueNames('a:b')).toThrow();
    expect(batchJobOptions(parseQueueConfig({ retry: { max_attempts: 7 } }), 'p-1')).toMatchObject({
      jobId: 'p-1',
      attempts: 7,
      backoff: { type: 'peregrine' },
      removeOnComplete: true,
      removeOnFail: false,
    });
  });
});
