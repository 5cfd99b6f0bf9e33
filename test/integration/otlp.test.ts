// The otlp_http sink against the real OpenTelemetry Collector (otlpreceiver → fileexporter JSON lines),
// started by `bash scripts/servers.sh start otelcol`. Skipped unless PEREGRINE_TEST_SERVERS=1; with it,
// a collector that is down fails the suite.
//
// Every test tags its records (a unique marker in a resource attribute and in the events) and reads the
// collector's output file incrementally from where it stood when the test began.
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SinkError, eventJson, type PeregrineEvent, type Process, type ProcessExecEvent, type ProcessExitEvent } from '@peregrine/events';
import { INSTRUMENTATION_SCOPE, OtlpHttpSink, isoToHrTime, otlpAttributes as eventAttributes, otlpSinkSchema, type BatchResult } from '@peregrine/sinks';
import { isServerUp, otlpFile, otlpUrl, requireServer, serversEnabled, startServer, stopServer } from '../helpers/servers.js';

const BASE = otlpUrl();
const ENDPOINT = `${BASE}/v1/logs`;
const NODE = 'worker-7.integration.example';

// ------------------------------------------------------------------------------ collector output

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean; arrayValue?: { values?: AnyValue[] } };
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface OutRecord {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  eventName: string;
  body: AnyValue;
  attributes: KeyValue[];
}
interface Row {
  resource: Record<string, unknown>;
  scope: { name?: string; version?: string };
  record: OutRecord;
  attrs: Record<string, unknown>;
}

function plain(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(plain);
  return v;
}
const attrMap = (kvs: KeyValue[] | undefined): Record<string, unknown> => Object.fromEntries((kvs ?? []).map((kv) => [kv.key, plain(kv.value)]));

/**
 * Reads the fileexporter's JSON lines from where the file stood at construction on. The file is kept
 * open, so that lines written before someone restarts the collector without --keep-data (which deletes
 * the file and starts a new one) are still read from the old inode; then it moves on to the new file.
 * Only rows whose resource carries `peregrine.test.marker` = `marker` are kept.
 */
const readers: OutputReader[] = [];

class OutputReader {
  #fd: number | undefined;
  #ino = 0;
  #offset = 0;
  #partial = '';
  #utf8 = new StringDecoder('utf8'); // a read may end inside a multi-byte character
  readonly rows: Row[] = [];

  constructor(
    readonly path: string,
    readonly marker: string,
  ) {
    readers.push(this);
    if (existsSync(path)) {
      this.#fd = openSync(path, 'r');
      const st = fstatSync(this.#fd);
      this.#ino = st.ino;
      this.#offset = st.size;
    }
  }

  poll(): void {
    if (this.#fd === undefined) {
      if (!existsSync(this.path)) return;
      this.#fd = openSync(this.path, 'r');
      this.#ino = fstatSync(this.#fd).ino;
      this.#offset = 0;
      this.#partial = '';
      this.#utf8 = new StringDecoder('utf8');
    }
    const fd = this.#fd;
    if (fstatSync(fd).size < this.#offset) {
      this.#offset = 0; // truncated in place
      this.#partial = '';
    }
    this.#drain(fd);
    const now = existsSync(this.path) ? statSync(this.path).ino : -1;
    if (now !== this.#ino) {
      this.#drain(fd); // replaced: finish the old file, open the new one on the next poll
      closeSync(fd);
      this.#fd = undefined;
    }
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #drain(fd: number): void {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, this.#offset);
      if (n <= 0) return;
      this.#offset += n;
      const lines = (this.#partial + this.#utf8.write(buf.subarray(0, n))).split('\n');
      this.#partial = lines.pop() ?? '';
      for (const line of lines) if (line.includes(this.marker)) this.#parse(line);
    }
  }

  /** Poll until `done(rows)` holds, or fail after `ms`. */
  async until(done: (rows: Row[]) => boolean, ms = 15_000, what = 'records'): Promise<Row[]> {
    const end = Date.now() + ms;
    for (;;) {
      this.poll();
      if (done(this.rows)) return this.rows;
      if (Date.now() > end) throw new Error(`collector output ${this.path}: ${what} not there after ${ms} ms (${this.rows.length} rows read)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  #parse(line: string): void {
    const req = JSON.parse(line) as {
      resourceLogs?: { resource?: { attributes?: KeyValue[] }; scopeLogs?: { scope?: Row['scope']; logRecords?: OutRecord[] }[] }[];
    };
    for (const rl of req.resourceLogs ?? []) {
      const resource = attrMap(rl.resource?.attributes);
      const m = resource['peregrine.test.marker'];
      if (typeof m !== 'string' || !m.startsWith(this.marker)) continue;
      for (const sl of rl.scopeLogs ?? []) {
        for (const record of sl.logRecords ?? []) this.rows.push({ resource, scope: sl.scope ?? {}, record, attrs: attrMap(record.attributes) });
      }
    }
  }
}

// ------------------------------------------------------------------------------------- events

function execId(pid: number, marker: string): string {
  return Buffer.from(`${NODE}:${7_000_000_000_000n + BigInt(pid)}:${pid}:${marker}`).toString('base64');
}

function proc(pid: number, marker: string, over: Partial<Process> = {}): Process {
  return {
    exec_id: execId(pid, marker),
    pid,
    uid: 1000,
    cwd: '/home/dev/src',
    binary: '/usr/bin/curl',
    arguments: `-sS --retry 3 "https://api.example.com/v1/items?marker=${marker}" -H "x-seq: ${pid}"`,
    flags: 'execve clone',
    start_time: '2026-11-27T12:00:01.123456789Z',
    auid: 1000,
    parent_exec_id: execId(1, marker),
    tid: pid,
    process_credentials: { uid: 1000, gid: 1000, euid: 1000, egid: 1000, suid: 1000, sgid: 1000, fsuid: 1000, fsgid: 1000 },
    ...over,
  };
}

const POD = {
  namespace: 'payments',
  name: 'checkout-7d9f8b6c5-x2x4z',
  uid: '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9',
  container: {
    id: 'containerd://551e161c47d8ff0eb665438a7bcd5b4e3ef5a297282b40a92b7c77d6bd168eb3',
    name: 'checkout',
    image: { id: 'registry.example/checkout@sha256:8e86f744bfea165fd4ce68caa05abc96500f40130b857773186401926af7e9e6', name: 'registry.example/checkout:1.4.2' },
    start_time: '2026-11-27T11:52:41Z',
    pid: 49,
  },
  pod_labels: { app: 'checkout', 'app.kubernetes.io/part-of': 'shop' },
  workload: 'checkout',
  workload_kind: 'Deployment',
};

function execEv(seq: number, marker: string, over: Partial<Process> = {}): ProcessExecEvent {
  // distinct nanoseconds per event: time is part of the deterministic event id
  const ns = String(100_000_000 + seq).padStart(9, '0');
  return {
    process_exec: {
      process: proc(seq, marker, over),
      parent: proc(1, marker, { binary: '/bin/bash', arguments: '-l', cwd: '/home/dev', parent_exec_id: execId(0, marker), process_credentials: undefined }),
    },
    node_name: NODE,
    time: `2026-11-27T12:00:02.${ns}Z`,
  };
}

function exitEv(seq: number, marker: string, status: number, signal?: string): ProcessExitEvent {
  return {
    process_exit: { process: proc(seq, marker), status, ...(signal ? { signal } : {}), time: '2026-11-27T12:00:03.000000042Z' },
    node_name: NODE,
    time: '2026-11-27T12:00:03.000000042Z',
  };
}

function sink(over: Record<string, unknown> = {}, env: Record<string, string> = {}): OtlpHttpSink {
  return new OtlpHttpSink(otlpSinkSchema.parse({ endpoint: ENDPOINT, ...over }), { id: 'otel-it', nodeName: NODE, env });
}

/** The retry loop of a caller: resend what is retryable until delivered; fail on rejected. */
async function deliver(s: OtlpHttpSink, batch: readonly PeregrineEvent[], onRetry?: () => void, deadlineMs = 120_000): Promise<number> {
  const end = Date.now() + deadlineMs;
  let rest = batch;
  let attempts = 0;
  for (;;) {
    attempts++;
    const r: BatchResult = await s.write(rest);
    if (r.status === 'delivered') return attempts;
    if (r.status === 'rejected') throw r.error ?? new Error('rejected');
    onRetry?.();
    rest = rest.slice(r.delivered);
    if (Date.now() > end) throw new Error(`still retryable after ${deadlineMs} ms: ${r.error?.message}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

// -------------------------------------------------------------------------------------- tests

describe.skipIf(!serversEnabled())('otlp_http sink → OpenTelemetry Collector (real)', () => {
  const out = otlpFile();

  beforeAll(async () => {
    // Fails (not skips) when the servers are enabled but the collector is down.
    await requireServer('otelcol');
    await sink().healthcheck();
  });

  afterAll(async () => {
    for (const r of readers) r.close();
    // leave the collector up for whoever comes next, whatever happened in the fault test
    if (!(await isServerUp('otelcol'))) await startServer('otelcol', { keepData: true });
  }, 120_000);

  it('delivers exec and exit events as log records, field by field', async () => {
    const marker = randomUUID();
    const reader = new OutputReader(out, marker);
    const s = sink(
      { resource_attributes: { 'peregrine.test.marker': marker } },
      { OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=ci,team=sec%2Cops,service.namespace=peregrine%20test' },
    );
    await s.start();
    const events: PeregrineEvent[] = [
      execEv(31_001, marker, { pod: POD, docker: '551e161c47d8ff0eb665438a7bcd5b4' } as Partial<Process>),
      execEv(31_002, marker, { arguments: '', binary: '/usr/bin/id', cwd: '/' }),
      exitEv(31_001, marker, 0),
      exitEv(31_002, marker, 137, 'SIGKILL'),
    ];
    expect(await s.write(events)).toEqual({ status: 'delivered', delivered: 4 });
    await s.stop();

    const mine = (rows: Row[]) => rows.filter((r) => r.resource['peregrine.test.marker'] === marker);
    const rows = mine(await reader.until((rs) => mine(rs).length >= 4));
    expect(rows).toHaveLength(4);
    for (const [i, ev] of events.entries()) {
      const row = rows[i] as Row;
      const rec = row.record;
      expect(rec.eventName).toBe('process_exec' in ev ? 'peregrine.process.exec' : 'peregrine.process.exit');
      expect(rec.body.stringValue).toBe(eventJson(ev)); // byte for byte the file sink's line
      expect(JSON.parse(rec.body.stringValue as string)).toEqual(JSON.parse(JSON.stringify(ev)));
      const t = isoToHrTime(ev.time) as [number, number];
      expect(rec.timeUnixNano).toBe(String(BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])));
      const observed = BigInt(rec.observedTimeUnixNano);
      expect(Number(observed / 1_000_000n)).toBeGreaterThan(Date.now() - 60_000);
      expect(rec.severityNumber).toBe(9);
      expect(rec.severityText).toBe('INFO');
      // every attribute, exactly as mapped (ints as ints, arrays as arrays)
      expect(row.attrs).toEqual(eventAttributes(ev));
      expect(row.scope).toEqual(INSTRUMENTATION_SCOPE);
      expect(row.resource).toEqual({
        'service.name': 'peregrine',
        'host.name': NODE,
        'deployment.environment.name': 'ci',
        team: 'sec,ops',
        'service.namespace': 'peregrine test',
        'peregrine.test.marker': marker,
      });
    }
    const exec = (rows[0] as Row).attrs;
    expect(exec).toMatchObject({
      'event.name': 'peregrine.process.exec',
      'process.pid': 31_001,
      'process.parent_pid': 1,
      'process.executable.path': '/usr/bin/curl',
      'process.executable.name': 'curl',
      'process.command_args': ['/usr/bin/curl', '-sS', '--retry', '3', `https://api.example.com/v1/items?marker=${marker}`, '-H', 'x-seq: 31001'],
      'process.args_count': 7,
      'process.working_directory': '/home/dev/src',
      'process.user.id': 1000,
      'process.creation.time': '2026-11-27T12:00:01.123456789Z',
      'host.name': NODE,
      'container.id': '551e161c47d8ff0eb665438a7bcd5b4e3ef5a297282b40a92b7c77d6bd168eb3',
      'container.runtime.name': 'containerd',
      'container.image.name': 'registry.example/checkout:1.4.2',
      'k8s.namespace.name': 'payments',
      'k8s.pod.name': 'checkout-7d9f8b6c5-x2x4z',
      'k8s.pod.uid': POD.uid,
      'k8s.container.name': 'checkout',
      'k8s.deployment.name': 'checkout',
      'k8s.pod.label.app': 'checkout',
      'peregrine.exec_id': (events[0] as ProcessExecEvent).process_exec.process.exec_id,
    });
    expect((rows[3] as Row).attrs).toMatchObject({ 'process.exit.code': 137, 'peregrine.exit.signal': 'SIGKILL', 'process.exit.time': '2026-11-27T12:00:03.000000042Z' });
    expect((rows[1] as Row).attrs).toMatchObject({ 'process.command_args': ['/usr/bin/id'], 'process.command_line': '/usr/bin/id' });
  });

  it('honours OTEL_EXPORTER_OTLP_LOGS_ENDPOINT over OTEL_EXPORTER_OTLP_ENDPOINT, and explicit config over both', async () => {
    const marker = randomUUID();
    const reader = new OutputReader(out, marker);
    const dead = 'http://127.0.0.1:1';
    const cases: [string, Record<string, unknown>, Record<string, string>][] = [
      ['logs-endpoint', {}, { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT: dead }],
      ['base-endpoint', {}, { OTEL_EXPORTER_OTLP_ENDPOINT: BASE }],
      ['config', { endpoint: ENDPOINT }, { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${dead}/v1/logs`, OTEL_EXPORTER_OTLP_ENDPOINT: dead }],
    ];
    for (const [name, cfg, env] of cases) {
      const s = new OtlpHttpSink(otlpSinkSchema.parse({ ...cfg, resource_attributes: { 'peregrine.test.marker': `${marker}/${name}` } }), {
        nodeName: NODE,
        env,
      });
      expect(s.settings.endpoint).toBe(ENDPOINT);
      await s.start();
      expect(await s.write([execEv(32_000, marker)]), name).toEqual({ status: 'delivered', delivered: 1 });
      await s.stop();
    }
    // and the reverse: the env's dead LOGS endpoint wins over a live base endpoint
    const s = sink({ endpoint: undefined, timeout_ms: 1000 }, { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${dead}/v1/logs`, OTEL_EXPORTER_OTLP_ENDPOINT: BASE });
    expect(s.settings.endpoint).toBe(`${dead}/v1/logs`);
    await s.start();
    expect((await s.write([execEv(32_001, marker)])).status).toBe('retryable');
    await s.stop();

    const markers = cases.map(([name]) => `${marker}/${name}`);
    const rows = await reader.until((rs) => markers.every((m) => rs.some((r) => r.resource['peregrine.test.marker'] === m)));
    expect(rows.filter((r) => markers.includes(r.resource['peregrine.test.marker'] as string))).toHaveLength(3);
  });

  it('healthcheck: passes against the collector, names the endpoint and errno when unreachable', async () => {
    await sink().healthcheck();
    const err = await sink({ endpoint: 'http://127.0.0.1:1/v1/logs' })
      .healthcheck()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).message).toBe('OTLP endpoint http://127.0.0.1:1/v1/logs unreachable: ECONNREFUSED');
    await expect(sink({ endpoint: `${BASE}/v1/nope` }).healthcheck()).rejects.toThrow(/answered HTTP 404/);
  });

  it('answers rejected when the collector refuses the request (404 on a wrong path)', async () => {
    const s = sink({ endpoint: `${BASE}/v1/nope` });
    await s.start();
    const r = await s.write([execEv(33_000, 'x')]);
    expect(r).toMatchObject({ status: 'rejected', delivered: 0 });
    expect(r.error?.message).toMatch(/HTTP 404/);
    expect(s.stats().errors).toEqual({ http_404: 1 });
    await s.stop();
  });

  it('throughput: 20,000 events in write()s of 2,000, all arrive', async () => {
    const marker = randomUUID();
    const reader = new OutputReader(out, marker);
    const s = sink({ resource_attributes: { 'peregrine.test.marker': marker } });
    await s.start();
    const N = 20_000;
    const t0 = performance.now();
    for (let i = 0; i < N; i += 2000) {
      const batch = Array.from({ length: 2000 }, (_, j) => execEv(100_000 + i + j, marker));
      expect(await s.write(batch)).toEqual({ status: 'delivered', delivered: 2000 });
    }
    const secs = (performance.now() - t0) / 1000;
    await s.stop();
    const st = s.stats();
    console.log(
      `otlp_http throughput: ${N} records in ${secs.toFixed(2)} s = ${Math.round(N / secs)} records/s ` +
        `(${st.requests} requests of ≤512, ${(st.bytes / N).toFixed(0)} B body/record)`,
    );
    const mine = (rows: Row[]) => rows.filter((r) => r.resource['peregrine.test.marker'] === marker);
    const rows = mine(await reader.until((rs) => mine(rs).length >= N, 30_000));
    expect(new Set(rows.map((r) => r.attrs['process.pid'])).size).toBe(N);
    expect(st).toMatchObject({ sent: N, failed: 0, retried: 0 });
  });

  it(
    'loses nothing when the collector is down for ~30 s under steady load (caller resends retryable batches)',
    async () => {
      const marker = randomUUID();
      const reader = new OutputReader(out, marker);
      const s = sink({ timeout_ms: 2000, resource_attributes: { 'peregrine.test.marker': marker } });
      await s.start();

      // Producer: 50 events every 25 ms (~2,000 events/s) into a queue; one pump delivers in order.
      const queue: PeregrineEvent[][] = [];
      const sent: PeregrineEvent[] = [];
      let seq = 0;
      let producing = true;
      let retries = 0;
      const producer = (async () => {
        while (producing) {
          const b = Array.from({ length: 50 }, () => execEv(200_000 + seq++, marker));
          queue.push(b);
          sent.push(...b);
          await new Promise((r) => setTimeout(r, 25));
        }
      })();
      const pump = (async () => {
        while (producing || queue.length > 0) {
          const batch = queue.splice(0).flat();
          if (batch.length === 0) {
            await new Promise((r) => setTimeout(r, 10));
            continue;
          }
          await deliver(s, batch, () => retries++, 180_000);
        }
      })();

      // Read the output as it is written: another suite restarting the collector without --keep-data
      // would delete the file (see OutputReader).
      const poller = setInterval(() => reader.poll(), 250);
      await new Promise((r) => setTimeout(r, 5_000));
      const downAt = Date.now();
      await stopServer('otelcol');
      let upAgain: number | undefined; // someone else may start it before we do
      while (Date.now() - downAt < 30_000) {
        await new Promise((r) => setTimeout(r, 500));
        if (upAgain === undefined && (await isServerUp('otelcol', 300))) upAgain = Date.now();
      }
      await startServer('otelcol', { keepData: true });
      const downFor = ((upAgain ?? Date.now()) - downAt) / 1000;
      await new Promise((r) => setTimeout(r, 5_000));
      producing = false;
      await producer;
      await pump;
      await s.stop();
      clearInterval(poller);

      const ids = new Set(sent.map((e) => eventAttributes(e)['peregrine.event_id'] as string));
      expect(ids.size).toBe(sent.length);
      const mine = (rows: Row[]) => rows.filter((r) => r.resource['peregrine.test.marker'] === marker);
      const seen = new Map<string, number>();
      await reader.until(
        (rs) => {
          seen.clear();
          for (const r of mine(rs)) {
            const id = r.attrs['peregrine.event_id'] as string;
            seen.set(id, (seen.get(id) ?? 0) + 1);
          }
          return [...ids].every((id) => seen.has(id));
        },
        30_000,
        `all ${ids.size} events`,
      );
      const arrived = [...seen.values()].reduce((a, b) => a + b, 0);
      const duplicates = arrived - seen.size;
      const st = s.stats();
      console.log(
        `otlp_http fault test: collector down ${downFor.toFixed(1)} s${upAgain !== undefined ? ' (restarted by someone else)' : ''}; ${sent.length} events, ${seen.size} distinct arrived, ` +
          `${duplicates} duplicates (${((100 * duplicates) / sent.length).toFixed(3)} %), caller retries ${retries}, ` +
          `stats ${JSON.stringify(st)}`,
      );
      expect([...ids].filter((id) => !seen.has(id))).toEqual([]);
      expect([...seen.keys()].filter((id) => !ids.has(id))).toEqual([]);
      expect(duplicates / sent.length).toBeLessThanOrEqual(0.001);
      expect(retries).toBeGreaterThan(0);
      expect(st.retried).toBeGreaterThan(0);
      expect(st.sent).toBe(sent.length);
      expect(downFor).toBeGreaterThan(5);
    },
    240_000,
  );
});
