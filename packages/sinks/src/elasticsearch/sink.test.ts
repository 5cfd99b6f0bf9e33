import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SinkError, type PeregrineEvent } from '@peregrine/events';
import { eventId } from '../event-id.js';
import { execEvent, exitEvent, smallEvent } from '../testdata/events.js';
import { elasticsearchSinkSchema } from './config.js';
import { ElasticsearchSink } from './sink.js';
import { FakeEs } from './testdata/fake-es.js';

let es: FakeEs;
const sinks: ElasticsearchSink[] = [];
beforeEach(async () => {
  es = await new FakeEs().listen();
});
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.stop()));
  await es.close();
});

function sink(over: Record<string, unknown> = {}): ElasticsearchSink {
  const s = new ElasticsearchSink(
    elasticsearchSinkSchema.parse({ url: es.url, retry: { initial_backoff_ms: 1, max_backoff_ms: 4 }, request_timeout_ms: 2000, ...over }),
  );
  sinks.push(s);
  return s;
}

async function started(over: Record<string, unknown> = {}): Promise<ElasticsearchSink> {
  const s = sink(over);
  await s.start();
  return s;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const execs = (from: number, to: number): PeregrineEvent[] => range(from, to).map((i) => execEvent(i));
const DAY_INDEX = 'peregrine-events-2026.11.27';

describe('elasticsearch sink: start', () => {
  it('picks daily indices on a node without data streams and installs the template for them', async () => {
    const s = await started();
    expect(s.mode).toBe('index');
    expect(s.stats().mode).toBe('index');
    const t = es.templates.get('peregrine-events');
    expect(t).toMatchObject({ index_patterns: ['peregrine-events-*'], priority: 200 });
    expect(t).not.toHaveProperty('data_stream');
    expect(t).toHaveProperty('template.mappings.properties.peregrine', { type: 'object', enabled: false });
    expect(t).toHaveProperty('template.mappings.properties.process.properties.pid', { type: 'long' });
  });

  it('picks a data stream where the cluster has them, and writes to it', async () => {
    es.dataStreams = true;
    const s = await started({ index: 'logs-peregrine.process-default' });
    expect(s.mode).toBe('data_stream');
    expect(es.templates.get('logs-peregrine.process-default')).toMatchObject({ index_patterns: ['logs-peregrine.process-default'], data_stream: {} });
    expect(await s.write([execEvent(1)])).toEqual({ status: 'delivered', delivered: 1 });
    expect(es.bulkBodies[0]?.[0]?.index).toBe('logs-peregrine.process-default');
  });

  it('mode index skips detection; install_template false installs nothing', async () => {
    es.dataStreams = true;
    const s = await started({ mode: 'index', install_template: false });
    expect(s.mode).toBe('index');
    expect(es.templates.size).toBe(0);
  });

  it('mode data_stream fails to start on a node without data streams', async () => {
    await expect(sink({ mode: 'data_stream' }).start()).rejects.toThrow(/has no data streams/);
  });

  it('fails to start, retryably, when the node is unreachable', async () => {
    await es.close();
    const err = (await sink().start().catch((e: unknown) => e)) as SinkError;
    expect(err).toBeInstanceOf(SinkError);
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(new RegExp(`cannot reach Elasticsearch at ${es.url}: .*ECONNREFUSED`));
  });
});

describe('elasticsearch sink: write', () => {
  it('sends bulk create with _id = eventId into the index of the event day', async () => {
    const s = await started();
    const batch = [...execs(1, 4), exitEvent(4, { status: 1 })];
    expect(await s.write(batch)).toEqual({ status: 'delivered', delivered: 4 });
    const ops = es.bulkBodies[0] ?? [];
    expect(ops.map((o) => o.id)).toEqual(batch.map(eventId));
    expect(new Set(ops.map((o) => o.index))).toEqual(new Set([DAY_INDEX]));
    expect(ops[3]?.source).toMatchObject({ event: { action: 'end', outcome: 'failure', id: eventId(batch[3] as PeregrineEvent) }, process: { exit_code: 1 } });
    expect(s.stats()).toMatchObject({ sent: 4, failed: 0, duplicates: 0, bulkRequests: 1, deadLettered: 0 });
    expect(s.stats().bytes).toBeGreaterThan(4 * 500);
  });

  it('a resent batch is delivered again without a second copy (409 on create = duplicate)', async () => {
    const s = await started();
    const batch = execs(1, 6);
    await s.write(batch);
    expect(await s.write(batch)).toEqual({ status: 'delivered', delivered: 5 });
    expect(es.docs.size).toBe(5);
    expect(s.stats()).toMatchObject({ sent: 5, duplicates: 5 });
  });

  it('resends documents refused with 429/503 until they get in', async () => {
    const s = await started();
    es.onItem = (op, attempt) =>
      op.source['process'] && (op.source['process'] as { pid: number }).pid % 2 === 0 && attempt < 3
        ? { status: attempt === 1 ? 429 : 503, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } }
        : undefined;
    const batch = execs(1, 11);
    expect(await s.write(batch)).toEqual({ status: 'delivered', delivered: 10 });
    expect(es.docs.size).toBe(10);
    expect(es.bulkBodies.map((b) => b.length)).toEqual([10, 5, 5]);
    expect(s.stats()).toMatchObject({ sent: 10, itemRetries: 10, bulkRequests: 3, errors: { item_429: 5, item_503: 5 } });
  });

  it('after max_attempts answers retryable with the in-order prefix; resending the rest completes it once', async () => {
    const s = await started({ retry: { max_attempts: 2, initial_backoff_ms: 1 } });
    let stuck = true;
    es.onItem = (op) => (stuck && (op.source['process'] as { pid: number }).pid === 4 ? { status: 429 } : undefined);
    const batch = execs(1, 9);
    const first = await s.write(batch);
    expect(first).toMatchObject({ status: 'retryable', delivered: 3 });
    expect(first.error?.message).toMatch(/1 documents still refused after 2 attempts: 429/);
    expect(es.attempts(eventId(batch[3] as PeregrineEvent))).toBe(2);
    stuck = false;
    expect(await s.write(batch.slice(first.delivered))).toEqual({ status: 'delivered', delivered: 5 });
    expect(es.docs.size).toBe(8);
    expect(s.stats()).toMatchObject({ sent: 8, duplicates: 4, failed: 5, retried: 5 });
  });

  it('hands documents refused with 400 back as dead letters with the reason, and indexes the rest', async () => {
    const s = await started();
    const reason = "failed to parse field [process.pid] of type [long] in document with id 'x'";
    es.onItem = (op) =>
      (op.source['process'] as { pid: number }).pid === 2 ? { status: 400, error: { type: 'document_parsing_exception', reason } } : undefined;
    const batch = execs(1, 5);
    const result = await s.write(batch);
    expect(result).toEqual({
      status: 'delivered',
      delivered: 4,
      deadLetters: [{ event: batch[1], reason: `400 document_parsing_exception: ${reason}` }],
    });
    expect(es.docs.size).toBe(3);
    expect(s.stats()).toMatchObject({ sent: 3, deadLettered: 1, itemRetries: 0, errors: { item_400: 1 } });
  });

  it('a dead letter after a retryable document is reported when the rest is resent', async () => {
    const s = await started({ retry: { max_attempts: 1 } });
    let stuck = true;
    es.onItem = (op) => {
      const pid = (op.source['process'] as { pid: number }).pid;
      if (pid === 2 && stuck) return { status: 503 };
      if (pid === 3) return { status: 400, error: { type: 'mapper_parsing_exception', reason: 'bad' } };
      return undefined;
    };
    const batch = execs(1, 5);
    const first = await s.write(batch);
    expect(first).toMatchObject({ status: 'retryable', delivered: 1 });
    expect(first.deadLetters).toBeUndefined();
    stuck = false;
    const second = await s.write(batch.slice(1));
    expect(second).toEqual({ status: 'delivered', delivered: 3, deadLetters: [{ event: batch[2], reason: '400 mapper_parsing_exception: bad' }] });
    expect(s.stats().deadLettered).toBe(1);
  });

  it('answers rejected for a per-document refusal that is not the document’s fault (403)', async () => {
    const s = await started();
    es.onItem = (op) =>
      (op.source['process'] as { pid: number }).pid === 3 ? { status: 403, error: { type: 'cluster_block_exception', reason: 'index blocked' } } : undefined;
    const result = await s.write(execs(1, 5));
    expect(result).toMatchObject({ status: 'rejected', delivered: 2 });
    expect(result.error?.message).toMatch(/403 cluster_block_exception: index blocked/);
  });

  it('a whole-request failure answers retryable with what earlier requests delivered', async () => {
    const s = await started({ bulk_max_events: 3 });
    const batch = execs(1, 7);
    es.onItem = () => {
      es.failBulk = { status: 503, times: 1 }; // the request after the first one fails
      es.onItem = () => undefined;
      return undefined;
    };
    const result = await s.write(batch);
    expect(result).toMatchObject({ status: 'retryable', delivered: 3 });
    expect(result.error?.message).toMatch(/_bulk failed: Elasticsearch at .* answered 503/);
    expect(s.stats()).toMatchObject({ sent: 3, failed: 3, retried: 3, errors: { http_503: 1 } });
    expect(await s.write(batch.slice(3))).toEqual({ status: 'delivered', delivered: 3 });
    expect(es.docs.size).toBe(6);
  });

  it('connection refused answers retryable; 401 rejected', async () => {
    const s = await started();
    es.failAll = 401;
    const denied = await s.write(execs(1, 3));
    expect(denied).toMatchObject({ status: 'rejected', delivered: 0 });
    expect(denied.error?.message).toMatch(/authentication failed \(401\)/);
    await es.close();
    const down = await s.write(execs(3, 5));
    expect(down).toMatchObject({ status: 'retryable', delivered: 0 });
    expect(down.error?.message).toMatch(/_bulk failed: cannot reach Elasticsearch at /);
  });

  it('merges batches queued behind a request into one, and answers each in call order', async () => {
    const s = await started();
    const batches = [execs(0, 2), execs(2, 5), [smallEvent(5)], execs(6, 10)];
    const order: number[] = [];
    const results = await Promise.all(batches.map((b, i) => s.write(b).then((r) => (order.push(i), r))));
    expect(results.map((r) => r.delivered)).toEqual([2, 3, 1, 4]);
    expect(order).toEqual([0, 1, 2, 3]);
    expect(es.bulkBodies.map((b) => b.length)).toEqual([2, 8]);
    expect(es.bulkBodies.flat().map((o) => o.id)).toEqual(batches.flat().map(eventId));
  });

  it('splits requests by bulk_max_events and bulk_max_bytes', async () => {
    const s = await started({ bulk_max_events: 4, bulk_max_bytes: 4096 });
    expect(await s.write(execs(0, 10))).toEqual({ status: 'delivered', delivered: 10 });
    expect(es.bulkBodies.every((b) => b.length <= 4)).toBe(true);
    expect(Math.max(...es.bulkBodies.map((b) => b.length))).toBeLessThan(4); // ~1.5 KB per document
    expect(es.docs.size).toBe(10);
  });

  it('flush_interval_ms waits to merge batches written one after another', async () => {
    const s = await started({ flush_interval_ms: 30 });
    const a = s.write(execs(0, 2));
    await new Promise((r) => setTimeout(r, 5));
    const b = s.write(execs(2, 4));
    expect((await Promise.all([a, b])).map((r) => r.status)).toEqual(['delivered', 'delivered']);
    expect(es.bulkBodies.map((x) => x.length)).toEqual([4]);
  });

  it('ecs_only leaves the original event out', async () => {
    const s = await started({ ecs_only: true });
    await s.write([execEvent(1)]);
    expect(es.bulkBodies[0]?.[0]?.source).not.toHaveProperty('peregrine');
  });

  it('dead-letters an event it cannot encode, without sending it', async () => {
    const s = await started();
    const bad = execEvent(2) as unknown as { process_exec: { process: Record<string, unknown> } };
    bad.process_exec.process['refcnt'] = 10n; // JSON.stringify throws on a BigInt
    const batch = [execEvent(1), bad as unknown as PeregrineEvent, execEvent(3)];
    const result = await s.write(batch);
    expect(result).toMatchObject({ status: 'delivered', delivered: 3, deadLetters: [{ event: bad, reason: expect.stringMatching(/cannot encode event: .*BigInt/) }] });
    expect(es.bulkBodies[0]?.length).toBe(2);
  });

  it('rejects writes before start and after stop; stop is idempotent and waits for queued batches', async () => {
    const s = sink();
    expect(await s.write(execs(0, 2))).toMatchObject({ status: 'rejected', delivered: 0 });
    await s.start();
    const pending = s.write(execs(0, 3));
    await Promise.all([s.stop(), s.stop()]);
    expect(await pending).toEqual({ status: 'delivered', delivered: 3 });
    expect(await s.write(execs(3, 4))).toMatchObject({ status: 'rejected', error: expect.objectContaining({ message: expect.stringMatching(/stopped/) }) });
    await expect(s.start()).rejects.toThrow(/stopped/);
    await new ElasticsearchSink(elasticsearchSinkSchema.parse({})).stop();
  });
});

describe('elasticsearch sink: concurrent _bulk requests', () => {
  it('spreads one write over max_in_flight_requests concurrent requests', async () => {
    es.bulkDelayMs = 50;
    const s = await started(); // max_in_flight_requests: 2 by default
    expect(await s.write(execs(0, 1000))).toEqual({ status: 'delivered', delivered: 1000 });
    expect(es.bulkBodies.map((b) => b.length)).toEqual([500, 500]);
    expect(es.maxBulkInFlight).toBe(2);
    expect(es.docs.size).toBe(1000);
  });

  it('never has more requests in flight than max_in_flight_requests, and settles writes in call order', async () => {
    es.bulkDelayMs = 20;
    const s = await started({ max_in_flight_requests: 3, bulk_max_events: 200 });
    const order: number[] = [];
    const results = await Promise.all(range(0, 6).map((w) => s.write(execs(w * 300, w * 300 + 300)).then((r) => (order.push(w), r))));
    expect(results.every((r) => r.status === 'delivered' && r.delivered === 300)).toBe(true);
    expect(order).toEqual(range(0, 6));
    expect(es.maxBulkInFlight).toBe(3);
    expect(Math.max(...es.bulkBodies.map((b) => b.length))).toBeLessThanOrEqual(200);
    expect(es.docs.size).toBe(1800);
  });

  it('sends one request at a time with max_in_flight_requests 1', async () => {
    es.bulkDelayMs = 10;
    const s = await started({ max_in_flight_requests: 1, bulk_max_events: 100 });
    await Promise.all([s.write(execs(0, 250)), s.write(execs(250, 500))]);
    expect(es.maxBulkInFlight).toBe(1);
    expect(es.bulkBodies.map((b) => b.length)).toEqual([100, 100, 50, 100, 100, 50]);
  });

  it('starts no further request after a whole-request failure; the batch answers retryable with its delivered prefix', async () => {
    es.bulkDelayMs = 10;
    es.failBulk = { status: 503, times: 1 };
    const s = await started({ max_in_flight_requests: 2, bulk_max_events: 100 });
    const r = await s.write(execs(0, 1000));
    expect(r.status).toBe('retryable');
    // The first request failed; the one sent alongside may have got through (and started one more before
    // the failure was known), but not the other eight.
    expect(es.bulkBodies.length).toBeGreaterThanOrEqual(1);
    expect(es.bulkBodies.length).toBeLessThanOrEqual(2);
    expect(r.delivered).toBe(0);
    expect(await s.write(execs(0, 1000))).toEqual({ status: 'delivered', delivered: 1000 });
  });
});

describe('elasticsearch sink: healthcheck', () => {
  it('passes on a reachable node, before and after start', async () => {
    const s = sink();
    await s.healthcheck();
    await s.start();
    await s.healthcheck();
  });

  it('says when the node is unreachable or refuses the credentials', async () => {
    es.failAll = 401;
    await expect(sink().healthcheck()).rejects.toThrow(/authentication failed \(401\)/);
    await es.close();
    const err = (await sink().healthcheck().catch((e: unknown) => e)) as SinkError;
    expect(err).toBeInstanceOf(SinkError);
    expect(err.message).toMatch(new RegExp(`cannot reach Elasticsearch at ${es.url}: connect ECONNREFUSED`));
  });

  it('reads credentials from the environment, and fails clearly when unset', async () => {
    process.env['PEREGRINE_TEST_ES_PW'] = 'secret';
    await sink({ auth: { username: 'elastic', password_env: 'PEREGRINE_TEST_ES_PW' } }).healthcheck();
    delete process.env['PEREGRINE_TEST_ES_PW'];
    await expect(sink({ auth: { username: 'elastic', password_env: 'PEREGRINE_TEST_ES_PW' } }).healthcheck()).rejects.toThrow(
      /password environment variable PEREGRINE_TEST_ES_PW is not set/,
    );
    await expect(sink({ auth: { api_key_file: '/nonexistent/key' } }).start()).rejects.toThrow(/cannot read API key \/nonexistent\/key/);
  });
});
