// The kafka sink against a real broker (Apache Kafka 4.x, KRaft, single node on 127.0.0.1:9092), started by
// `bash scripts/servers.sh start kafka`. Skipped unless PEREGRINE_TEST_SERVERS=1; with it, a broker that
// is down fails the suite.
//
// Every test creates its own topics (it.<run>.<name>, deleted at the end), writes canonical events through
// the sink, and reads them back with a kafkajs consumer: value, key, headers, partitions and offsets are
// compared with what was written. The fault test stops the broker for ~30 s under steady load.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import {
  SinkError,
  eventJson,
  eventProcess,
  type PeregrineEvent,
  type Process,
  type ProcessExecEvent,
  type ProcessExitEvent,
  type ProcessKprobeEvent,
} from '@peregrine/events';
import { KafkaSink, eventId, kafkaSinkSchema, type BatchResult } from '@peregrine/sinks';
import { isServerUp, kafkaBrokers, requireServer, serversEnabled, startServer, stopServer } from '../helpers/servers.js';

const BROKERS = kafkaBrokers();
const RUN = randomUUID().slice(0, 8);
const NODE = `worker-${RUN}.integration.example`;

// ------------------------------------------------------------------------------------------- events

const BASE_NS = 1_795_780_000_000_000_000n; // 2026-11-27T…
let clock = 0n;

/** RFC 3339 with nanoseconds, strictly increasing per call. */
function nextTime(): string {
  const ns = BASE_NS + BigInt(RUN.charCodeAt(0)) * 1_000_000n + ++clock * 1_000n;
  const ms = Number(ns / 1_000_000n);
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`);
}

const execIdOf = (pid: number, ktime: bigint): string => Buffer.from(`${NODE}:${ktime}:${pid}`).toString('base64');

function proc(pid: number, over: Partial<Process> = {}): Process {
  const ktime = 13_548_674_321_373n + BigInt(pid) * 7919n;
  return {
    exec_id: execIdOf(pid, ktime),
    pid,
    uid: 0,
    cwd: '/',
    binary: '/usr/bin/curl',
    arguments: `https://ebpf.io/applications/#tetragon?run=${RUN}&pid=${pid}`,
    flags: 'execve rootcwd',
    start_time: '2026-11-27T11:30:00.700327580Z',
    auid: 4294967295,
    parent_exec_id: execIdOf(1, 13_548_670_883_299n),
    tid: pid,
    cap: { permitted: ['CAP_CHOWN', 'CAP_NET_RAW'], effective: ['CAP_CHOWN'] },
    ns: { uts: { inum: 4026531838 }, ipc: { inum: 4026531839 }, mnt: { inum: 4026531841 }, pid: { inum: 4026531836 }, net: { inum: 4026531840 } },
    process_credentials: { uid: 0, gid: 0, euid: 0, egid: 0, suid: 0, sgid: 0, fsuid: 0, fsgid: 0 },
    ...over,
  } as Process;
}

const parent = (): Process => proc(1, { binary: '/bin/bash', arguments: '-c "curl https://ebpf.io/applications/#tetragon"', flags: 'execve rootcwd clone' });

function execEvent(pid: number): ProcessExecEvent {
  return { process_exec: { process: proc(pid), parent: parent() }, node_name: NODE, time: nextTime() };
}

function kprobeEvent(pid: number, port: number): ProcessKprobeEvent {
  return {
    process_kprobe: {
      process: proc(pid),
      parent: parent(),
      function_name: 'tcp_connect',
      args: [{ sock_arg: { family: 'AF_INET', type: 'SOCK_STREAM', protocol: 'IPPROTO_TCP', saddr: '10.32.0.28', daddr: '104.198.14.52', sport: port, dport: 443 } }],
      action: 'KPROBE_ACTION_POST',
      policy_name: 'connect-outside-cluster',
      tags: ['network'],
    },
    node_name: NODE,
    time: nextTime(),
  };
}

function exitEvent(pid: number, status = 0): ProcessExitEvent {
  const time = nextTime();
  return { process_exit: { process: proc(pid), parent: parent(), status, time }, node_name: NODE, time };
}

/** One process's life: exec, `kprobes` connects, exit, in time order. */
function life(pid: number, kprobes = 3): PeregrineEvent[] {
  return [execEvent(pid), ...Array.from({ length: kprobes }, (_, i) => kprobeEvent(pid, 40_000 + i)), exitEvent(pid, pid % 7)];
}

const typeOf = (ev: PeregrineEvent): string => Object.keys(ev).find((k) => k.startsWith('process_')) as string;

// -------------------------------------------------------------------------------------------- kafka

const kafka = new Kafka({ brokers: BROKERS, clientId: `peregrine-it-${RUN}`, logLevel: logLevel.NOTHING, retry: { retries: 5 } });
let admin: Admin;
const created: string[] = [];

async function createTopic(name: string, partitions = 1): Promise<string> {
  const topic = `it.${RUN}.${name}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  created.push(topic);
  return topic;
}

interface Consumed {
  topic: string;
  partition: number;
  offset: number;
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** Records in the topics: the sum of their high watermarks (no compaction, no transactions). */
async function recordCount(topics: string[]): Promise<number> {
  let n = 0;
  for (const topic of topics) for (const p of await admin.fetchTopicOffsets(topic)) n += Number(p.high) - Number(p.low);
  return n;
}

/** Every record of the topics, read from the beginning by a fresh consumer group. */
async function consumeAll(topics: string[], timeoutMs = 60_000): Promise<Consumed[]> {
  const want = await recordCount(topics);
  const out: Consumed[] = [];
  if (want === 0) return out;
  const consumer = kafka.consumer({ groupId: `it-${RUN}-${randomUUID()}`, maxWaitTimeInMs: 100, maxBytes: 64 * 1024 * 1024 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    let done!: () => void;
    const reached = new Promise<void>((r) => (done = r));
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(v);
          out.push({ topic: batch.topic, partition: batch.partition, offset: Number(m.offset), key: String(m.key), value: String(m.value), headers });
        }
        if (out.length >= want) done();
      },
    });
    const timer = new Promise<void>((r) => setTimeout(r, timeoutMs));
    await Promise.race([reached, timer]);
  } finally {
    await consumer.disconnect();
  }
  expect(out.length, `records consumed from ${topics.join(', ')}`).toBe(want);
  return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition || a.offset - b.offset : a.topic < b.topic ? -1 : 1));
}

function sink(topic: string, over: Record<string, unknown> = {}): KafkaSink {
  const config = kafkaSinkSchema.parse({ brokers: BROKERS, topic, client_id: `peregrine-it-${RUN}`, log_level: 'none', ...over });
  return new KafkaSink(config, { id: 'it', nodeName: NODE });
}

/** Every header the sink sets, for an event. */
function expectedHeaders(ev: PeregrineEvent): Record<string, string> {
  return {
    ce_specversion: '1.0',
    ce_type: `io.peregrine.${typeOf(ev)}`,
    ce_source: `peregrine://${NODE}`,
    ce_id: eventId(ev),
    ce_time: ev.time,
    'content-type': 'application/json',
    schema_version: '1',
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// -------------------------------------------------------------------------------------------- tests

describe.skipIf(!serversEnabled())('kafka sink against a real broker', () => {
  beforeAll(async () => {
    await requireServer('kafka');
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    if (admin === undefined) return;
    if (created.length > 0) await admin.deleteTopics({ topics: created, timeout: 30_000 }).catch(() => undefined);
    await admin.disconnect();
  });

  it('produces and consumes back (smoke test: produce + group consume on Kafka 4)', async () => {
    const topic = await createTopic('smoke');
    const s = sink(topic);
    await s.start();
    const ev = execEvent(100);
    expect(await s.write([ev])).toEqual({ status: 'delivered', delivered: 1 });
    await s.stop();
    const [m] = await consumeAll([topic]);
    expect(m?.value).toBe(eventJson(ev)); // the file sink's line
  });

  it('writes value = the JSON event, key = exec_id and every CloudEvents header, field by field', async () => {
    const topic = await createTopic('fields', 3);
    const s = sink(topic, { headers: { cluster: 'it-cluster', team: 'secops' } });
    await s.start();
    await s.healthcheck();
    const events = [1, 2, 3, 4, 5].flatMap((pid) => life(200 + pid, 2));
    expect(await s.write(events)).toEqual({ status: 'delivered', delivered: events.length });
    await s.stop();
    expect(s.stats()).toMatchObject({ sent: events.length, failed: 0, retried: 0, errors: {} });

    const got = await consumeAll([topic]);
    const byId = new Map(got.map((m) => [m.headers.ce_id, m]));
    expect(byId.size).toBe(events.length);
    for (const ev of events) {
      const m = byId.get(eventId(ev));
      expect(m, `record for ${typeOf(ev)} of pid ${eventProcess(ev).pid}`).toBeDefined();
      expect(JSON.parse(m!.value)).toEqual(ev);
      expect(m!.value).toBe(eventJson(ev)); // the file sink's line
      expect(m!.key).toBe(eventProcess(ev).exec_id);
      expect(m!.headers).toEqual({ cluster: 'it-cluster', team: 'secops', ...expectedHeaders(ev) });
    }
  });

  it('keeps one process’s events on one partition, in write order, across many writes', async () => {
    const topic = await createTopic('order', 6);
    const s = sink(topic, { linger_ms: 2, batch_max_bytes: 64 * 1024 });
    await s.start();
    // 200 processes whose lives interleave: each write carries one event of many processes.
    const lives = Array.from({ length: 200 }, (_, i) => life(1000 + i, 5));
    const written: PeregrineEvent[] = [];
    const writes: Promise<BatchResult>[] = [];
    for (let step = 0; step < 7; step++) {
      for (let chunk = 0; chunk < 200; chunk += 25) {
        const batch = lives.slice(chunk, chunk + 25).map((l) => l[step] as PeregrineEvent);
        written.push(...batch);
        writes.push(s.write(batch)); // concurrent writes: delivered in call order
      }
    }
    for (const r of await Promise.all(writes)) expect(r.status).toBe('delivered');
    await s.stop();

    const got = await consumeAll([topic]);
    expect(got).toHaveLength(written.length);
    const partitions = new Set(got.map((m) => m.partition));
    expect(partitions.size).toBeGreaterThan(3); // the keys spread over the partitions
    const byKey = new Map<string, Consumed[]>();
    for (const m of got) byKey.set(m.key, [...(byKey.get(m.key) ?? []), m]);
    expect(byKey.size).toBe(200);
    for (const l of lives) {
      const key = eventProcess(l[0] as PeregrineEvent).exec_id;
      const records = byKey.get(key) ?? [];
      expect(new Set(records.map((r) => r.partition)).size).toBe(1);
      // Sorted by offset (consumeAll), the ce_ids are the process's events in write order.
      expect(records.map((r) => r.headers.ce_id)).toEqual(l.map(eventId));
    }
  });

  it('routes events to one topic per event type with a template', async () => {
    const prefix = `it.${RUN}.typed`;
    const topics = { exec: `${prefix}.process_exec`, exit: `${prefix}.process_exit`, kprobe: `${prefix}.process_kprobe` };
    const s = sink(`${prefix}.{event_type}`, { create_topics: { enabled: true, num_partitions: 2, replication_factor: 1 } });
    await s.start(); // creates every rendered topic
    created.push(...s.topics.topics);
    await s.healthcheck();
    const meta = await admin.fetchTopicMetadata({ topics: s.topics.topics });
    expect(meta.topics.map((t) => [t.name, t.partitions.length]).sort()).toEqual(s.topics.topics.map((t) => [t, 2]));
    const events = [1, 2, 3].flatMap((pid) => life(3000 + pid, 2));
    expect(await s.write(events)).toEqual({ status: 'delivered', delivered: events.length });
    await s.stop();

    const got = await consumeAll([topics.exec, topics.exit, topics.kprobe]);
    for (const ev of events) {
      const m = got.find((g) => g.headers.ce_id === eventId(ev));
      expect(m?.topic).toBe(`${prefix}.${typeOf(ev)}`);
      expect(m?.headers.ce_type).toBe(`io.peregrine.${typeOf(ev)}`);
      expect(JSON.parse(m!.value)).toEqual(ev);
    }
    expect(got.filter((g) => g.topic === topics.kprobe)).toHaveLength(6);
    expect(await recordCount([`${prefix}.process_lsm`, `${prefix}.process_tracepoint`])).toBe(0);
  });

  it('compresses with gzip', async () => {
    const topic = await createTopic('gzip');
    const s = sink(topic, { compression: 'gzip' });
    await s.start();
    const events = life(4000, 20);
    expect(await s.write(events)).toEqual({ status: 'delivered', delivered: events.length });
    await s.stop();
    expect((await consumeAll([topic])).map((m) => m.value)).toEqual(events.map((e) => eventJson(e)));
  });

  it('fails the healthcheck for a missing topic, naming it, and rejects writes to it', async () => {
    const missing = `it.${RUN}.missing`;
    const s = sink(missing, { retry: { max_retries: 1, initial_backoff_ms: 50, max_backoff_ms: 100 } });
    const err = await s.healthcheck().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).retryable).toBe(false);
    expect((err as SinkError).message).toContain(`topic ${missing} does not exist and create_topics.enabled is false (brokers ${BROKERS.join(',')};`);
    await s.start();
    const r = await s.write([execEvent(5000)]);
    expect(r).toMatchObject({ status: 'rejected', delivered: 0 });
    expect(r.error?.message).toContain(`topic ${missing} does not exist and create_topics.enabled is false`);
    expect(s.stats().errors).toEqual({ UNKNOWN_TOPIC_OR_PARTITION: 1 });
    await s.stop();
    expect((await admin.listTopics()).includes(missing)).toBe(false); // the producer did not auto-create it
  });

  it('fails the healthcheck and start() for an unreachable broker, quickly', async () => {
    const s = sink('it.unreachable', {
      brokers: ['127.0.0.1:1'],
      connection_timeout_ms: 500,
      request_timeout_ms: 1000,
      retry: { max_retries: 1, initial_backoff_ms: 50, max_backoff_ms: 100 },
    });
    const t0 = Date.now();
    const err = await s.healthcheck().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).message).toMatch(/kafka sink it: cannot reach brokers 127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    expect((err as SinkError).retryable).toBe(true);
    const startErr = await s.start().catch((e: unknown) => e);
    expect(startErr).toBeInstanceOf(SinkError);
    expect((startErr as SinkError).message).toMatch(/cannot connect to 127\.0\.0\.1:1/);
    expect(Date.now() - t0).toBeLessThan(15_000);
    await s.stop();
  });

  it('measures throughput (logged, not asserted)', async () => {
    const topic = await createTopic('throughput', 6);
    const N = 20_000;
    const batches: PeregrineEvent[][] = [];
    for (let i = 0; i < N; i += 500) batches.push(Array.from({ length: 500 }, (_, j) => (j % 2 === 0 ? execEvent(10_000 + i + j) : kprobeEvent(10_000 + i + j, 443))));
    const bytes = batches.flat().reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0);
    const lines: string[] = [];
    for (const [label, over, inFlight] of [
      ['defaults, one write at a time', {}, 1],
      ['defaults, 4 writes in flight', {}, 4],
      ['gzip, one write at a time', { compression: 'gzip' }, 1],
      ['batch_max_bytes 4 MiB, 4 writes in flight', { batch_max_bytes: 4 * 1024 * 1024 }, 4],
    ] as const) {
      const s = sink(topic, over);
      await s.start();
      const t0 = performance.now();
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < batches.length) expect((await s.write(batches[next++] as PeregrineEvent[])).status).toBe('delivered');
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
      const ms = performance.now() - t0;
      await s.stop();
      lines.push(`${label}: ${Math.round((N / ms) * 1000)} events/s, ${((bytes / ms) * 1000 / 1024 / 1024).toFixed(1)} MiB/s of JSON, ${s.stats().requests} requests`);
    }
    console.log(`[kafka sink throughput] ${N} events (${Math.round(bytes / N)} B JSON avg) in 500-event writes, broker on loopback:\n  ${lines.join('\n  ')}`);
  });

  it(
    'delivers every event through a ~30 s broker outage under steady load, with few duplicates',
    async () => {
      const topic = await createTopic('fault', 3);
      const s = sink(topic, {
        linger_ms: 5,
        request_timeout_ms: 5_000,
        connection_timeout_ms: 1_000,
        retry: { max_retries: 2, initial_backoff_ms: 200, max_backoff_ms: 1_000 },
      });
      await s.start();

      // The caller: a queue pumped one write at a time (everything queued goes as one batch, like the
      // agent's SinkQueue), resending the undelivered rest of a retryable batch after a backoff.
      const queue: PeregrineEvent[] = [];
      const sent: PeregrineEvent[] = [];
      const lost: { event: PeregrineEvent; reason: string }[] = [];
      let retries = 0;
      let producing = true;
      let pumpDone = false;
      const pump = (async () => {
        let backoff = 250;
        while (producing || queue.length > 0) {
          if (queue.length === 0) {
            await sleep(5);
            continue;
          }
          const batch = queue.splice(0, 5_000);
          const r = await s.write(batch);
          for (const d of r.deadLetters ?? []) lost.push({ event: d.event, reason: d.reason });
          if (r.status === 'delivered') {
            backoff = 250;
            continue;
          }
          if (r.status === 'rejected') {
            for (const e of batch.slice(r.delivered)) lost.push({ event: e, reason: r.error?.message ?? 'rejected' });
            continue;
          }
          retries++;
          queue.unshift(...batch.slice(r.delivered));
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 2_000);
        }
        pumpDone = true;
      })();

      // Steady load: 10 processes' worth of events every 10 ms (~1000 events/s).
      let pid = 100_000;
      const load = (async () => {
        while (producing) {
          for (let i = 0; i < 2; i++) {
            const events = life(pid++, 3);
            sent.push(...events);
            queue.push(...events);
          }
          await sleep(10);
        }
      })();

      const t0 = Date.now();
      const mark = (what: string): void => console.log(`[kafka fault test] +${((Date.now() - t0) / 1000).toFixed(1)} s ${what} (sent ${sent.length}, queued ${queue.length}, sink ${JSON.stringify(s.stats())})`);
      let downFor = 0;
      try {
        await sleep(3_000);
        mark('stopping the broker');
        const stopAt = Date.now();
        await stopServer('kafka');
        expect(await isServerUp('kafka')).toBe(false);
        mark('broker down');
        await sleep(Math.max(0, 30_000 - (Date.now() - stopAt)));
        mark('starting the broker (keeping its data)');
      } finally {
        // Whatever happened, leave the broker running for the other suites.
        const startAt = Date.now();
        await startServer('kafka', { keepData: true });
        downFor = Date.now() - startAt;
      }
      mark(`broker up (start took ${(downFor / 1000).toFixed(1)} s)`);
      await sleep(3_000);
      producing = false;
      await load;
      const drainStart = Date.now();
      while (!pumpDone && Date.now() - drainStart < 45_000) await sleep(100);
      mark(`pump drained: ${pumpDone}`);
      expect(pumpDone).toBe(true);
      await pump;
      await s.stop();

      expect(lost).toEqual([]);
      const got = await consumeAll([topic], 60_000);
      const count = new Map<string, number>();
      for (const m of got) count.set(m.headers.ce_id as string, (count.get(m.headers.ce_id as string) ?? 0) + 1);
      const missing = sent.filter((e) => !count.has(eventId(e)));
      const duplicates = got.length - count.size;
      const stats = s.stats();
      console.log(
        `[kafka fault test] sent ${sent.length} events, consumed ${got.length} records, ${count.size} distinct ce_id, ` +
          `missing ${missing.length}, duplicates ${duplicates} (${((duplicates / sent.length) * 100).toFixed(3)} %), ` +
          `caller retries ${retries}, sink stats ${JSON.stringify(stats)}`,
      );
      expect(missing).toEqual([]);
      expect(count.size).toBe(sent.length);
      expect(duplicates).toBeLessThanOrEqual(sent.length * 0.001);
      expect(stats.retried).toBeGreaterThan(0); // the outage was seen
      // Per-process order survived the outage and the resends (first occurrence of each ce_id).
      const firstSeen = new Map<string, number>();
      got.forEach((m, i) => firstSeen.has(m.headers.ce_id as string) || firstSeen.set(m.headers.ce_id as string, i));
      const byKey = new Map<string, number[]>();
      for (const e of sent) {
        const k = eventProcess(e).exec_id;
        byKey.set(k, [...(byKey.get(k) ?? []), firstSeen.get(eventId(e)) as number]);
      }
      for (const [key, positions] of byKey) expect(positions, key).toEqual([...positions].sort((a, b) => a - b));
    },
    150_000,
  );
});
