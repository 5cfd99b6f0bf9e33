// The durable per-sink queue against a real Redis (scripts/servers.sh start redis, port 6390, AOF on):
// producer (BullQueue) → BullMQ jobs → sink workers (runWorker), the dead-letter queue, a worker killed
// mid-batch, a Redis restart, and a Redis outage at enqueue time. Runs with PEREGRINE_TEST_SERVERS=1.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SinkError, type PeregrineEvent } from '@peregrine/events';
import { SinkRegistry } from '../../packages/sinks/src/registry.js';
import { fileSinkFactory } from '../../packages/sinks/src/file/factory.js';
import { delivered, undelivered } from '../../packages/sinks/src/result.js';
import { smallEvent } from '../../packages/sinks/src/testdata/events.js';
import { BullQueue } from '../../packages/sinks/src/queue/bullmq.js';
import { listDeadLetters, replayDeadLetters } from '../../packages/sinks/src/queue/dlq.js';
import { readSinkStats } from '../../packages/sinks/src/queue/factory.js';
import { createRedis, waitReady } from '../../packages/sinks/src/queue/redis.js';
import { MemorySink } from '../../packages/sinks/src/queue/testing.js';
import { runWorker, type WorkerHandle } from '../../packages/sinks/src/worker/worker.js';
import { redisUrl, requireServer, restartServer, serverAddress, serversEnabled } from '../helpers/servers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const URL_ = redisUrl();
const prefixes: string[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

function prefix(): string {
  const p = `qt${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  prefixes.push(p);
  return p;
}

function cfg(p: string, over: Record<string, unknown> = {}, url = URL_): Record<string, unknown> {
  return {
    batch_max_events: 200,
    redis: { url, prefix: p, flush_interval_ms: 5, lock_duration_ms: 5000, stalled_interval_ms: 1000 },
    retry: { initial_backoff_ms: 50, max_backoff_ms: 200, max_attempts: 5, max_age_ms: 60_000 },
    ...over,
  };
}

const pidOf = (e: PeregrineEvent): number => ('process_exit' in e ? e.process_exit.process.pid : -1);
const pids = (events: readonly PeregrineEvent[]): number[] => events.map(pidOf);
const batch = (from: number, n: number): PeregrineEvent[] => Array.from({ length: n }, (_, i) => smallEvent(from + i));
const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const dups = (xs: number[]): number => xs.length - new Set(xs).size;

/** The batch payload keys (`<prefix>:<sink>:lines:<job id>`) left in Redis under a test's prefix. */
async function linesKeys(p: string): Promise<string[]> {
  const redis = createRedis(URL_, 'admin');
  try {
    await waitReady(redis);
    return await redis.keys(`${p}:*:lines:*`);
  } finally {
    redis.disconnect();
  }
}

async function worker(p: string, sinkId: string, sink: MemorySink | ReturnType<SinkRegistry['create']>, over: Record<string, unknown> = {}, concurrency = 1): Promise<WorkerHandle> {
  const w = await runWorker({ redisUrl: URL_, sinkId, sink, config: cfg(p, over), handleSignals: false, concurrency });
  cleanups.push(() => w.close());
  return w;
}

async function producer(p: string, sinkId: string, over: Record<string, unknown> = {}, url = URL_): Promise<BullQueue> {
  const q = new BullQueue(sinkId, cfg(p, over, url), { nodeName: 'test-node' });
  await q.start();
  cleanups.push(() => q.stop());
  return q;
}

/** A TCP proxy in front of Redis that can be taken down (connections cut, new ones refused) and back up. */
async function redisProxy(): Promise<{ port: number; down: () => Promise<void>; up: () => Promise<void>; close: () => Promise<void> }> {
  const target = serverAddress('redis');
  const sockets = new Set<Socket>();
  let server: Server;
  const listen = async (port: number): Promise<number> => {
    server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      sockets.add(client).add(upstream);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as { port: number }).port;
  };
  const port = await listen(0);
  const down = async (): Promise<void> => {
    const closed = new Promise((r) => server.close(r));
    for (const s of sockets) s.destroy();
    sockets.clear();
    await closed;
  };
  return { port, down, up: async () => void (await listen(port)), close: down };
}

let compiled: Promise<string> | undefined;
/** Compiles packages/sinks/src once (no type check) for the worker child processes. */
function compileSinks(): Promise<string> {
  compiled ??= compile();
  return compiled;
}

async function compile(): Promise<string> {
  // inside the repo (node_modules/.cache, ignored) so that the output resolves bullmq, ioredis, @peregrine/events
  const cache = join(ROOT, 'node_modules/.cache/peregrine-queue-test');
  await mkdir(cache, { recursive: true });
  const out = await mkdtemp(join(cache, 'sinks-'));
  await new Promise<void>((res) => {
    execFile(
      'npx',
      ['tsc', '-p', 'packages/sinks/tsconfig.json', '--outDir', out, '--noCheck', '--declaration', 'false', '--sourceMap', 'false'],
      { cwd: ROOT },
      () => res(), // other packages' work in progress may not type-check: only our files must be there
    );
  });
  cleanups.push(() => rm(out, { recursive: true, force: true }));
  return out;
}

/** `node fixtures/queue-worker.mjs …` with its stdout collected. */
function workerProcess(dist: string, p: string, sinkId: string, mode: string): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, [join(ROOT, 'test/integration/fixtures/queue-worker.mjs'), dist, URL_, sinkId, JSON.stringify(cfg(p)), mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(async () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  return { child, out: () => text };
}

describe.skipIf(!serversEnabled())('durable queue on Redis (BullMQ)', () => {
  beforeAll(() => requireServer('redis'));

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    if (!serversEnabled()) return;
    const redis = createRedis(URL_, 'admin');
    await waitReady(redis).catch(() => undefined);
    for (const p of prefixes) {
      const keys = await redis.keys(`${p}:*`).catch(() => [] as string[]);
      if (keys.length > 0) await redis.del(...keys).catch(() => undefined);
    }
    redis.disconnect();
  });

  it('delivers every enqueued event through a worker into a file sink, in order', async () => {
    const p = prefix();
    const dir = await mkdtemp(join(tmpdir(), 'peregrine-q-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'out.log');
    const q = await producer(p, 'file');
    const N = 5000;
    for (let i = 0; i < N / 50; i++) expect(q.enqueue(batch(i * 50, 50))).toEqual({ accepted: 50, dropped: 0 });
    await q.drain();
    expect(q.stats()).toMatchObject({ enqueued: N, flushed: N, dropped: 0, buffered: 0 });
    // A job carries a key, its events are JSON lines in a string of their own: the bytes the file sink writes.
    const raw = new Queue('file', { connection: { url: URL_ }, prefix: p });
    cleanups.push(() => raw.close());
    const [job] = await raw.getJobs(['waiting'], 0, 0, true);
    expect(job!.data).toEqual({ lines: `${p}:file:lines:${job!.id}`, count: 200, enqueued_at: expect.any(Number), node: 'test-node' });
    const admin = createRedis(URL_, 'admin');
    await waitReady(admin);
    const stored = await admin.getBuffer(job!.data.lines);
    admin.disconnect();
    const first = stored!.toString('utf8').split('\n').slice(0, -1);
    expect(first).toHaveLength(200);
    expect(first).toEqual(batch(0, 200).map((e) => JSON.stringify(e))); // the oldest job: events 0–199
    expect(await linesKeys(p)).toHaveLength(N / 200);

    const sink = new SinkRegistry([fileSinkFactory]).create('file', { path }, { nodeName: 't', id: 'file' });
    const w = await worker(p, 'file', sink);
    const lines = async (): Promise<string[]> => (await readFile(path, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
    await vi.waitFor(async () => expect((await lines()).length).toBe(N), { timeout: 30_000, interval: 100 });
    const got = (await lines()).map((l) => pidOf(JSON.parse(l) as PeregrineEvent));
    expect(got).toEqual(range(0, N));
    expect(await readFile(path, 'utf8')).toBe(batch(0, N).map((e) => `${JSON.stringify(e)}\n`).join(''));
    expect(w.stats()).toMatchObject({ sent: N, failed: 0, deadLettered: 0 });
    await vi.waitFor(async () => expect(await linesKeys(p)).toEqual([]), { timeout: 5000, interval: 50 }); // deleted once completed
    const shared = await readSinkStats(URL_, 'file', { prefix: p });
    expect(shared).toMatchObject({ enqueued: N, sent: N, deadLettered: 0, backlog: 0 });
    expect(shared.latency.samples).toBe(N / 200);
    await q.refreshShared();
    expect(q.stats()).toMatchObject({ sent: N, depth: 0 });
    console.log(`[queue] file sink: sent ${N}, delivered ${got.length}, duplicated ${dups(got)}, latency p50 ${shared.latency.p50_ms} ms p99 ${shared.latency.p99_ms} ms`);
  });

  it('spreads jobs over several workers, each event delivered exactly once', async () => {
    const p = prefix();
    const sinks = [new MemorySink('multi'), new MemorySink('multi'), new MemorySink('multi')];
    for (const s of sinks) await worker(p, 'multi', s, {}, 2);
    const q = await producer(p, 'multi');
    const N = 20_000;
    for (let i = 0; i < N / 100; i++) q.enqueue(batch(i * 100, 100));
    await q.drain();
    const all = (): number[] => sinks.flatMap((s) => pids(s.received));
    await vi.waitFor(() => expect(all().length).toBeGreaterThanOrEqual(N), { timeout: 30_000, interval: 100 });
    await new Promise((r) => setTimeout(r, 300)); // any duplicate would show up now
    const got = all();
    expect(new Set(got).size).toBe(N);
    expect(dups(got)).toBe(0);
    // within each job, order is kept
    for (const s of sinks) for (const w of s.writes) expect(pids(w)).toEqual(range(pids(w)[0]!, w.length));
    expect(sinks.every((s) => s.writes.length > 0)).toBe(true);
    console.log(`[queue] 3 workers: sent ${N}, delivered ${got.length}, duplicated ${dups(got)}, per worker ${sinks.map((s) => s.received.length).join('/')}`);
  });

  it('hands the batch of a worker SIGKILLed mid-batch to another worker', async () => {
    const p = prefix();
    const dist = await compileSinks();
    const q = await producer(p, 'killme');
    q.enqueue(batch(0, 100));
    await q.drain();

    const { child, out } = workerProcess(dist, p, 'killme', 'block');
    await vi.waitFor(() => expect(out()).toContain('BATCH 100'), { timeout: 30_000, interval: 50 });
    const t0 = Date.now();
    child.kill('SIGKILL');
    await once(child, 'exit');

    const sink = new MemorySink('killme');
    await worker(p, 'killme', sink);
    await vi.waitFor(() => expect(sink.received.length).toBe(100), { timeout: 30_000, interval: 100 });
    const took = Date.now() - t0;
    expect(pids(sink.received)).toEqual(range(0, 100));
    expect(sink.writes.length).toBe(1);
    console.log(`[queue] SIGKILL mid-batch: sent 100, delivered by the 2nd worker ${sink.received.length} after ${took} ms, duplicated ${dups(pids(sink.received))}`);
  });

  it('stops a worker gracefully on SIGTERM: the batch in progress is finished, the rest stays queued', async () => {
    const p = prefix();
    const dist = await compileSinks();
    const q = await producer(p, 'term', { batch_max_events: 100 });
    for (let i = 0; i < 5; i++) q.enqueue(batch(i * 100, 100));
    await q.drain();
    const { child, out } = workerProcess(dist, p, 'term', 'slow:1000');
    await vi.waitFor(() => expect(out()).toContain('BATCH 100'), { timeout: 30_000, interval: 20 });
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(out().match(/BATCH 100/g)).toHaveLength(1);
    expect(out()).toContain('DONE 100\nCLOSED');
    const after = await readSinkStats(URL_, 'term', { prefix: p });
    expect(after).toMatchObject({ sent: 100, backlog: 400 });
    expect(after.jobs).toMatchObject({ waiting: 4, active: 0 });

    const sink = new MemorySink('term');
    await worker(p, 'term', sink);
    await vi.waitFor(() => expect(sink.received.length).toBe(400), { timeout: 30_000, interval: 50 });
    const got = pids(sink.received);
    expect(got).toEqual(range(100, 400));
    console.log(`[queue] SIGTERM: sent 500, delivered 100 by the stopping worker + ${got.length} by the next, duplicated ${dups(got)}`);
  });

  it('keeps queued batches across a Redis restart (AOF)', async () => {
    const p = prefix();
    const q = await producer(p, 'aof');
    for (let i = 0; i < 20; i++) q.enqueue(batch(i * 50, 50));
    await q.drain();
    await new Promise((r) => setTimeout(r, 1100)); // appendfsync everysec
    await restartServer('redis', { keepData: true });
    // the producer reconnects by itself
    for (let i = 20; i < 40; i++) q.enqueue(batch(i * 50, 50));
    await q.drain();
    expect(q.stats()).toMatchObject({ enqueued: 2000, flushed: 2000, dropped: 0 });
    const before = await readSinkStats(URL_, 'aof', { prefix: p });
    expect(before).toMatchObject({ enqueued: 2000, sent: 0, backlog: 2000, jobs: { waiting: 10, active: 0, delayed: 0, deadLetters: 0 } });

    const sink = new MemorySink('aof');
    await worker(p, 'aof', sink);
    await vi.waitFor(() => expect(sink.received.length).toBe(2000), { timeout: 30_000, interval: 100 });
    const got = pids(sink.received);
    expect(got).toEqual(range(0, 2000));
    console.log(`[queue] Redis restart: sent 2000 (1000 before, 1000 after), delivered ${got.length}, duplicated ${dups(got)}, redis errors seen by the producer ${q.stats().redisErrors}`);
  });

  it('keeps a running producer and worker going through a Redis restart', async () => {
    const p = prefix();
    const sink = new MemorySink('ride');
    await worker(p, 'ride', sink);
    const q = await producer(p, 'ride', { max_events: 100_000 });
    let next = 0;
    const timer = setInterval(() => {
      q.enqueue(batch(next, 20));
      next += 20;
    }, 5);
    await new Promise((r) => setTimeout(r, 300));
    await restartServer('redis', { keepData: true });
    await new Promise((r) => setTimeout(r, 300));
    clearInterval(timer);
    await q.drain();
    const s = q.stats();
    expect(s.dropped).toBe(0);
    expect(s.enqueued).toBe(next);
    await vi.waitFor(() => expect(new Set(pids(sink.received)).size).toBe(next), { timeout: 30_000, interval: 100 });
    const got = pids(sink.received);
    expect([...new Set(got)].sort((a, b) => a - b)).toEqual(range(0, next));
    console.log(`[queue] restart under load: sent ${next}, delivered ${new Set(got).size} (${got.length} writes incl. duplicates), duplicated ${dups(got)}, producer redis errors ${s.redisErrors}`);
  });

  it('dead-letters a poison batch with its reason while the rest flows, then lists and replays it', async () => {
    const p = prefix();
    const poison = 123;
    const sink = new MemorySink('poison', (b) => {
      const i = b.findIndex((e) => pidOf(e) === poison);
      return i < 0 ? delivered(b.length) : undelivered(new SinkError(`cannot encode event ${poison}`, false), i);
    });
    await worker(p, 'poison', sink);
    const q = await producer(p, 'poison', { batch_max_events: 50 });
    for (let i = 0; i < 10; i++) q.enqueue(batch(i * 50, 50));
    await q.drain();
    await vi.waitFor(() => expect(sink.received.length).toBe(500 - 27), { timeout: 30_000, interval: 100 });
    await vi.waitFor(async () => expect((await readSinkStats(URL_, 'poison', { prefix: p })).deadLettered).toBe(27), { timeout: 5000 });

    const dl = await listDeadLetters(URL_, 'poison', { prefix: p });
    expect(dl).toHaveLength(1);
    expect(dl[0]).toMatchObject({ events: 27, reason: `cannot encode event ${poison}`, attempts: 1 });
    expect(dl[0]!.failedAt).toBeGreaterThan(Date.now() - 60_000);
    expect(pids(sink.received)).toEqual([...range(0, poison), ...range(150, 350)]);

    sink.script = (b) => delivered(b.length); // the sink got fixed
    const r = await replayDeadLetters(URL_, 'poison', { all: true }, { prefix: p });
    expect(r).toEqual({ replayed: [dl[0]!.id], events: 27, missing: [], skipped: [] });
    await vi.waitFor(() => expect(sink.received.length).toBe(500), { timeout: 30_000, interval: 100 });
    expect(await listDeadLetters(URL_, 'poison', { prefix: p })).toEqual([]);
    const got = pids(sink.received);
    expect([...got].sort((a, b) => a - b)).toEqual(range(0, 500));
    const shared = await readSinkStats(URL_, 'poison', { prefix: p });
    expect(shared).toMatchObject({ enqueued: 527, sent: 500, deadLettered: 27, backlog: 0 });
    expect(await replayDeadLetters(URL_, 'poison', { ids: ['nope'] }, { prefix: p })).toEqual({ replayed: [], events: 0, missing: ['nope'], skipped: [] });
    console.log(`[queue] poison: sent 500, dead-lettered 27 (${dl[0]!.reason}), replayed ${r.events}, delivered ${got.length}, duplicated ${dups(got)}`);
  });

  it('moves a job BullMQ fails on its own (here: malformed) to the dead-letter queue', async () => {
    const p = prefix();
    const sink = new MemorySink('odd');
    await worker(p, 'odd', sink);
    const raw = new Queue('odd', { connection: { url: URL_ }, prefix: p });
    cleanups.push(() => raw.close());
    await raw.add('batch', { foo: 1 }, { jobId: 'hand-made', attempts: 3, removeOnFail: false });
    await vi.waitFor(async () => expect(await listDeadLetters(URL_, 'odd', { prefix: p })).toHaveLength(1), { timeout: 15_000, interval: 100 });
    const [dl] = await listDeadLetters(URL_, 'odd', { prefix: p });
    expect(dl).toMatchObject({ id: 'hand-made-failed', events: 0, sourceJob: 'hand-made', reason: 'malformed job: no events array or lines key / enqueued_at' });
    await vi.waitFor(async () => expect(await raw.getFailedCount()).toBe(0), { timeout: 5000 });
    expect(sink.writes).toHaveLength(0);
    expect(await replayDeadLetters(URL_, 'odd', { all: true }, { prefix: p })).toEqual({ replayed: [], events: 0, missing: [], skipped: ['hand-made-failed'] });
  });

  it('dead-letters a batch whose payload is gone from Redis, naming the key, and keeps delivering the others', async () => {
    const p = prefix();
    const q = await producer(p, 'lost', { batch_max_events: 100 });
    q.enqueue(batch(0, 100));
    await q.drain();
    const [key] = await linesKeys(p);
    const admin = createRedis(URL_, 'admin');
    await waitReady(admin);
    await admin.del(key!);
    admin.disconnect();
    q.enqueue(batch(100, 100));
    await q.drain();
    const sink = new MemorySink('lost');
    await worker(p, 'lost', sink);
    await vi.waitFor(async () => expect(await listDeadLetters(URL_, 'lost', { prefix: p })).toHaveLength(1), { timeout: 15_000, interval: 100 });
    const [dl] = await listDeadLetters(URL_, 'lost', { prefix: p });
    expect(dl).toMatchObject({ events: 0, reason: `batch payload ${key} is missing from Redis` });
    await vi.waitFor(() => expect(pids(sink.received)).toEqual(range(100, 100)), { timeout: 15_000, interval: 100 });
    await vi.waitFor(async () => expect(await linesKeys(p)).toEqual([]), { timeout: 5000, interval: 50 });
  });

  it('dead-letters a batch whose payload is not JSON lines, naming the line, salvaging the lines that parse', async () => {
    const p = prefix();
    const q = await producer(p, 'garbled', { batch_max_events: 3 });
    q.enqueue(batch(0, 3));
    await q.drain();
    const [key] = await linesKeys(p);
    const admin = createRedis(URL_, 'admin');
    await waitReady(admin);
    await admin.set(key!, `${JSON.stringify(smallEvent(0))}\n{"cut":\n${JSON.stringify(smallEvent(2))}\n`);
    admin.disconnect();
    const sink = new MemorySink('garbled');
    await worker(p, 'garbled', sink);
    await vi.waitFor(async () => expect(await listDeadLetters(URL_, 'garbled', { prefix: p })).toHaveLength(1), { timeout: 15_000, interval: 100 });
    const [dl] = await listDeadLetters(URL_, 'garbled', { prefix: p });
    expect(dl).toMatchObject({ events: 2, reason: expect.stringMatching(new RegExp(`^batch payload ${key}: line 2 is not JSON`)) });
    expect(sink.writes).toHaveLength(0);
    await vi.waitFor(async () => expect(await linesKeys(p)).toEqual([]), { timeout: 5000, interval: 50 });
  });

  it('retries a retryable rest with backoff, resending only what was not delivered, then dead-letters after max_attempts', async () => {
    const p = prefix();
    const poisonWrites: number[] = [];
    const sink = new MemorySink('flaky', (b) => {
      if (pids(b).includes(999)) {
        poisonWrites.push(Date.now());
        return undelivered(new SinkError('503 unavailable', true), 0); // never gets through
      }
      // a whole job gets half through, its rest on the retry
      return pidOf(b[0]!) % 100 === 0 ? undelivered(new SinkError('429 slow down', true), b.length / 2) : delivered(b.length);
    });
    await worker(p, 'flaky', sink, { retry: { initial_backoff_ms: 20, max_backoff_ms: 100, max_attempts: 4, max_age_ms: 0 } });
    const q = await producer(p, 'flaky', { batch_max_events: 100 });
    for (let i = 0; i < 10; i++) q.enqueue(batch(i * 100, 100));
    await q.drain();
    await vi.waitFor(async () => expect((await readSinkStats(URL_, 'flaky', { prefix: p })).deadLettered).toBe(100), { timeout: 30_000, interval: 100 });
    await vi.waitFor(() => expect(sink.received.length).toBe(900), { timeout: 30_000, interval: 100 });
    const got = pids(sink.received);
    expect(dups(got)).toBe(0);
    expect([...got].sort((a, b) => a - b)).toEqual(range(0, 1000).filter((x) => x < 900 || x >= 1000));
    const dl = await listDeadLetters(URL_, 'flaky', { prefix: p });
    expect(dl).toEqual([expect.objectContaining({ events: 100, attempts: 4, reason: 'gave up after 4 attempts: 503 unavailable' })]);
    const shared = await readSinkStats(URL_, 'flaky', { prefix: p });
    expect(shared).toMatchObject({ sent: 900, retried: 9 * 50 + 3 * 100, deadLettered: 100, backlog: 0 });
    // each of the 9 good jobs: 100 events, then its last 50 only
    expect(sink.writes.map((w) => w.length).sort()).toEqual([...Array<number>(13).fill(100), ...Array<number>(9).fill(50)].sort());
    // backoff 20 ms × 1.5^n with ±20 % jitter between the 4 attempts of the batch that never gets through
    const gaps = poisonWrites.slice(1).map((t, i) => t - poisonWrites[i]!);
    expect(gaps).toHaveLength(3);
    gaps.forEach((g, i) => expect(g).toBeGreaterThanOrEqual(Math.floor(20 * 1.5 ** i * 0.8) - 1));
    expect(await linesKeys(p)).toEqual([]); // the retried rests went inline, the given-up batch's lines with it
    console.log(`[queue] retry: sent 1000, delivered ${got.length}, duplicated ${dups(got)}, retried ${shared.retried}, dead-lettered ${shared.deadLettered}`);
  });

  it('never blocks enqueue while Redis is down: counts what does not fit, delivers the rest once it is back', async () => {
    const p = prefix();
    const proxy = await redisProxy();
    cleanups.push(() => proxy.close());
    const purl = `redis://127.0.0.1:${proxy.port}`;
    const q = await producer(p, 'outage', { max_events: 1000 }, purl);
    q.enqueue(batch(0, 100));
    await q.drain();

    await proxy.down();
    let accepted = 0;
    let dropped = 0;
    const t0 = performance.now();
    for (let i = 0; i < 30; i++) {
      const r = q.enqueue(batch(100 + i * 50, 50));
      accepted += r.accepted;
      dropped += r.dropped;
    }
    const enqueueMs = performance.now() - t0;
    expect(enqueueMs).toBeLessThan(500) // synchronous: a blocking enqueue would wait for the dead Redis (seconds);
    expect({ accepted, dropped }).toEqual({ accepted: 1000, dropped: 500 });
    await new Promise((r) => setTimeout(r, 1000));
    const during = q.stats();
    expect(during).toMatchObject({ buffered: 1000, dropped: 500, flushed: 100 });
    expect(during.redisErrors).toBeGreaterThan(0);

    await proxy.up();
    await q.drain();
    expect(q.stats()).toMatchObject({ buffered: 0, flushed: 1100, dropped: 500, enqueued: 1100 });
    const sink = new MemorySink('outage');
    await worker(p, 'outage', sink);
    await vi.waitFor(() => expect(sink.received.length).toBe(1100), { timeout: 30_000, interval: 100 });
    const got = pids(sink.received);
    expect(got).toEqual(range(0, 1100));
    console.log(
      `[queue] Redis down: 1500 offered in ${enqueueMs.toFixed(2)} ms, accepted 1000, dropped 500 (counted), redis errors ${during.redisErrors}; after recovery delivered ${got.length + 0} of 1100 accepted, duplicated ${dups(got)}`,
    );
  });

  it('measures throughput: durable queue + 1 worker vs writing to the file sink directly (log only)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'peregrine-q-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const N = 50_000;
    const reg = new SinkRegistry([fileSinkFactory]);

    const direct = reg.create('file', { path: join(dir, 'direct.log'), max_size_bytes: 0 }, { nodeName: 't', id: 'file' });
    await direct.start();
    let t0 = performance.now();
    for (let i = 0; i < N / 500; i++) await direct.write(batch(i * 500, 500));
    await direct.flush();
    const directMs = performance.now() - t0;
    await direct.stop();

    const p = prefix();
    const sink = reg.create('file', { path: join(dir, 'durable.log'), max_size_bytes: 0 }, { nodeName: 't', id: 'file' });
    const w = await worker(p, 'file', sink);
    const q = await producer(p, 'file', { batch_max_events: 500, max_events: N });
    t0 = performance.now();
    for (let i = 0; i < N / 100; i++) q.enqueue(batch(i * 100, 100));
    const enqMs = performance.now() - t0;
    await q.drain();
    const flushMs = performance.now() - t0;
    await vi.waitFor(() => expect(w.stats().sent).toBe(N), { timeout: 60_000, interval: 20 });
    const durableMs = performance.now() - t0;
    const rate = (ms: number): string => `${Math.round(N / (ms / 1000)).toLocaleString('en')} ev/s`;

    // queue overhead alone: 4 workers with in-memory sinks
    const p4 = prefix();
    const sinks = [0, 1, 2, 3].map(() => new MemorySink('mem'));
    for (const m of sinks) await worker(p4, 'mem', m);
    const q4 = await producer(p4, 'mem', { batch_max_events: 500, max_events: N });
    const t4 = performance.now();
    for (let i = 0; i < N / 100; i++) q4.enqueue(batch(i * 100, 100));
    await vi.waitFor(() => expect(sinks.reduce((n, m) => n + m.received.length, 0)).toBe(N), { timeout: 60_000, interval: 20 });
    const fourMs = performance.now() - t4;
    console.log(`[queue] throughput ${N} events: durable, 4 workers with in-memory sinks: delivered after ${fourMs.toFixed(0)} ms (${rate(fourMs)})`);
    console.log(
      `[queue] throughput ${N} events (~250 B): direct file sink ${directMs.toFixed(0)} ms (${rate(directMs)}); ` +
        `durable: enqueue ${enqMs.toFixed(1)} ms, in Redis after ${flushMs.toFixed(0)} ms (${rate(flushMs)}), delivered by 1 worker after ${durableMs.toFixed(0)} ms (${rate(durableMs)})`,
    );
  });
});
