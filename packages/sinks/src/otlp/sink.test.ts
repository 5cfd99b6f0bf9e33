// The sink against a scripted local HTTP endpoint (status codes on demand); the real collector is in
// test/integration/otlp.test.ts.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SinkError } from '@peregrine/events';
import { execEvent, exitEvent } from '../testdata/events.js';
import { otlpSinkSchema } from './config.js';
import { INSTRUMENTATION_SCOPE, OtlpHttpSink } from './sink.js';

interface Req {
  headers: IncomingMessage['headers'];
  body: { resourceLogs: { resource: { attributes: unknown[] }; scopeLogs: { scope: unknown; logRecords: Record<string, unknown>[] }[] }[] };
}

let server: Server;
let url: string;
let requests: Req[];
/** Status of the n-th request (0-based); default 200. */
let statusOf: (n: number) => number;
/** Hold every answer this long; requests being answered now, and the most at once. */
let delayMs: number;
let inFlight: number;
let maxInFlight: number;

beforeEach(async () => {
  requests = [];
  statusOf = () => 200;
  delayMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      const n = requests.length;
      requests.push({ headers: req.headers, body: JSON.parse(raw.toString('utf8')) as Req['body'] });
      const status = statusOf(n);
      setTimeout(() => {
        inFlight--;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(status === 200 ? '{}' : '{"code":3,"message":"bad things"}');
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/logs`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function sink(over: Record<string, unknown> = {}, env: Record<string, string> = {}): OtlpHttpSink {
  return new OtlpHttpSink(otlpSinkSchema.parse({ endpoint: url, timeout_ms: 500, ...over }), { id: 'otel', nodeName: 'node-a', env });
}

const records = (r: Req) => r.body.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((s) => s.logRecords));
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => execEvent(from + i));

describe('otlp_http sink', () => {
  it('sends one log record per event, chunked by max_batch_events, in order', async () => {
    const s = sink({ max_batch_events: 4, max_in_flight_requests: 1, headers: { authorization: 'Bearer t' } });
    await s.start();
    const batch = [...range(9), exitEvent(100, { status: 3 })];
    expect(await s.write(batch)).toEqual({ status: 'delivered', delivered: 10 });
    await s.stop();
    expect(requests.map((r) => records(r).length)).toEqual([4, 4, 2]);
    const all = requests.flatMap(records);
    expect(all.map((r) => JSON.parse((r['body'] as { stringValue: string }).stringValue) as unknown)).toEqual(JSON.parse(JSON.stringify(batch)));
    expect(all[0]).toMatchObject({ eventName: 'peregrine.process.exec', severityNumber: 9, severityText: 'INFO', timeUnixNano: '1795779000123456789' });
    expect(all[9]).toMatchObject({ eventName: 'peregrine.process.exit' });
    const first = requests[0] as Req;
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers['authorization']).toBe('Bearer t');
    expect(first.body.resourceLogs).toHaveLength(1);
    expect(first.body.resourceLogs[0]?.resource.attributes).toEqual([
      { key: 'service.name', value: { stringValue: 'peregrine' } },
      { key: 'host.name', value: { stringValue: 'node-a' } },
    ]);
    expect(first.body.resourceLogs[0]?.scopeLogs[0]?.scope).toEqual(INSTRUMENTATION_SCOPE);
    const bytes = batch.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0);
    expect(s.stats()).toEqual({ sent: 10, failed: 0, retried: 0, dropped: 0, bytes, errors: {}, requests: 3 });
  });

  it('sends up to max_in_flight_requests chunks of a write at once, never more', async () => {
    delayMs = 30;
    const s = sink({ max_batch_events: 10, max_in_flight_requests: 3 });
    await s.start();
    const batch = range(95);
    expect(await s.write(batch)).toEqual({ status: 'delivered', delivered: 95 });
    await s.stop();
    expect(maxInFlight).toBe(3);
    expect(requests).toHaveLength(10);
    const pids = requests.flatMap(records).map((r) => (JSON.parse((r['body'] as { stringValue: string }).stringValue) as ReturnType<typeof execEvent>).process_exec.process.pid);
    expect(pids.sort((a, b) => a - b)).toEqual(batch.map((e) => e.process_exec.process.pid));
    expect(s.stats()).toMatchObject({ sent: 95, failed: 0, requests: 10 });
  });

  it('with concurrent chunks, a failed one answers the prefix before it and stops the rest', async () => {
    delayMs = 20;
    statusOf = (n) => (n === 0 ? 400 : 200); // whichever chunk arrives first
    const s = sink({ max_batch_events: 10, max_in_flight_requests: 2 });
    await s.start();
    const r = await s.write(range(100));
    expect(r.status).toBe('rejected');
    expect([0, 10]).toContain(r.delivered);
    // The two chunks sent together, and at most one more started before the failure was known.
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(requests.length).toBeLessThanOrEqual(3);
    expect(s.stats()).toMatchObject({ sent: r.delivered, failed: 100 - r.delivered });
    await s.stop();
  });

  it('gzips when compression is gzip (or OTEL_EXPORTER_OTLP_COMPRESSION says so)', async () => {
    const s = sink({}, { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' });
    await s.start();
    expect((await s.write(range(3))).status).toBe('delivered');
    await s.stop();
    expect(requests[0]?.headers['content-encoding']).toBe('gzip');
    expect(records(requests[0] as Req)).toHaveLength(3);
  });

  it('answers rejected on a 400, counting the chunks that got through as delivered', async () => {
    statusOf = (n) => (n === 1 ? 400 : 200);
    const s = sink({ max_batch_events: 2, max_in_flight_requests: 1 });
    await s.start();
    const r = await s.write(range(5));
    expect(r).toMatchObject({ status: 'rejected', delivered: 2 });
    expect(r.error).toBeInstanceOf(SinkError);
    expect(r.error?.message).toMatch(/otlp_http sink otel: export to http:\/\/127\.0\.0\.1:\d+\/v1\/logs failed: HTTP 400 Bad Request: \{"code":3/);
    expect(requests).toHaveLength(2); // the third chunk was not sent
    expect(s.stats()).toMatchObject({ sent: 2, failed: 3, retried: 0, errors: { http_400: 1 }, requests: 2 });
    await s.stop();
  });

  it('answers retryable on 503 (after the exporter gave up within timeout_ms)', async () => {
    statusOf = () => 503;
    const s = sink();
    await s.start();
    const t0 = Date.now();
    const r = await s.write(range(3));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r).toMatchObject({ status: 'retryable', delivered: 0 });
    expect(s.stats()).toMatchObject({ sent: 0, failed: 3, retried: 3, errors: { http_retryable: 1 } });
    statusOf = () => 200;
    expect(await s.write(range(3))).toEqual({ status: 'delivered', delivered: 3 }); // the caller's resend
    await s.stop();
  });

  it('answers retryable on a network error (ECONNREFUSED)', async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    const s = sink();
    await s.start();
    const r = await s.write(range(2));
    expect(r).toMatchObject({ status: 'retryable', delivered: 0 });
    expect(r.error?.message).toMatch(/ECONNREFUSED/);
    expect(s.stats()).toMatchObject({ failed: 2, retried: 2, errors: { ECONNREFUSED: 1 } });
    await s.stop();
    server = createServer().listen(0); // for afterEach
  });

  it('answers retryable when the collector does not answer within timeout_ms', async () => {
    const silent = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const s = new OtlpHttpSink(
        otlpSinkSchema.parse({ endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/v1/logs`, timeout_ms: 300 }),
      );
      await s.start();
      const t0 = Date.now();
      const r = await s.write(range(2));
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(r).toMatchObject({ status: 'retryable', delivered: 0 });
      expect(s.stats().errors).toEqual({ timeout: 1 });
      await s.stop();
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('answers batches queued behind a failed one retryable, unsent, so that order survives a resend', async () => {
    statusOf = (n) => (n === 0 ? 400 : 200);
    const s = sink();
    await s.start();
    const [a, b, c] = await Promise.all([s.write(range(2)), s.write(range(2, 10)), s.write(range(2, 20))]);
    expect(a).toMatchObject({ status: 'rejected', delivered: 0 });
    expect(b).toMatchObject({ status: 'retryable', delivered: 0 });
    expect(b.error?.message).toMatch(/not sent, queued behind a failed batch/);
    expect(c).toMatchObject({ status: 'retryable', delivered: 0 });
    expect(requests).toHaveLength(1);
    expect(await s.write(range(2, 10))).toEqual({ status: 'delivered', delivered: 2 });
    expect(s.stats()).toMatchObject({ sent: 2, failed: 6, retried: 4 });
    await s.stop();
  });

  it('rejects writes before start and after stop; stop is idempotent and safe without start', async () => {
    const s = sink();
    expect(await s.write(range(1))).toMatchObject({ status: 'rejected', delivered: 0 });
    await s.stop();
    await s.stop();
    expect(await s.write(range(1))).toMatchObject({ status: 'rejected' });
    await expect(s.start()).rejects.toThrow(SinkError);
    expect(requests).toHaveLength(0);
    const t = sink();
    await t.start();
    expect(await t.write([])).toEqual({ status: 'delivered', delivered: 0 });
    await t.stop();
  });

  it('stop() waits for the batches in flight', async () => {
    const s = sink();
    await s.start();
    const p = s.write(range(3));
    await s.stop();
    expect(await p).toEqual({ status: 'delivered', delivered: 3 });
  });

  describe('healthcheck', () => {
    it('passes on a 2xx to an empty ExportLogsServiceRequest', async () => {
      await sink({ headers: { 'x-tenant': 'a' } }).healthcheck();
      expect(requests).toHaveLength(1);
      expect(requests[0]?.body).toEqual({ resourceLogs: [] });
      expect(requests[0]?.headers['x-tenant']).toBe('a');
    });

    it('fails with the HTTP status', async () => {
      statusOf = () => 404;
      await expect(sink().healthcheck()).rejects.toThrow(/^OTLP endpoint http:\/\/127\.0\.0\.1:\d+\/v1\/logs answered HTTP 404 Not Found/);
    });

    it('fails with the errno when nothing listens', async () => {
      const s = new OtlpHttpSink(otlpSinkSchema.parse({ endpoint: 'http://127.0.0.1:1/v1/logs' }));
      const err = await s.healthcheck().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SinkError);
      expect((err as SinkError).message).toBe('OTLP endpoint http://127.0.0.1:1/v1/logs unreachable: ECONNREFUSED');
      expect((err as SinkError).retryable).toBe(true);
    });
  });
});
