#!/usr/bin/env node
// Sink throughput and latency (issue: sinks). For each sink, side by side in one run: sustained
// events/s writing realistic exec events (~1 KB of JSON each) directly, and through the durable queue
// (BullMQ on Redis, delivered by an in-process worker); latency p50/p99 per batch (write → delivered).
// Ratios are to the file sink (baseline) and durable/direct. Needs the servers of scripts/servers.sh.
//   node bench/sinks.mjs [--events 50000] [--batch 1000] [--sinks file,kafka,elasticsearch,otlp_http] [--durable 1]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from '@elastic/elasticsearch';
import { createDeliveryQueue, defaultSinkRegistry, runWorker } from '../packages/sinks/dist/index.js';

const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []));
const EVENTS = Number(args.events ?? 50000);
const BATCH = Number(args.batch ?? 1000);
const SINKS = (args.sinks ?? 'file,kafka,elasticsearch,otlp_http').split(',');
const DURABLE = (args.durable ?? '1') === '1';
const env = process.env;
const brokers = (env.PEREGRINE_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const esUrl = env.PEREGRINE_ES_URL ?? 'http://127.0.0.1:9200';
const otlpUrl = env.PEREGRINE_OTLP_URL ?? 'http://127.0.0.1:4318';
const redisUrl = env.PEREGRINE_REDIS_URL ?? 'redis://127.0.0.1:6390';
const run = `b${process.pid}`;
const work = mkdtempSync(join(tmpdir(), 'peregrine-sinkbench-'));

function event(i) {
  const p = (pid, bin, a) => ({
    exec_id: Buffer.from(`bench-node:${1_000_000_000 + i}:${pid}`).toString('base64'), pid, uid: 1000, cwd: '/home/dev/project',
    binary: bin, arguments: a, flags: 'execve clone', start_time: '2026-11-27T12:00:00.000000000Z', auid: 1000,
    parent_exec_id: Buffer.from(`bench-node:999:${pid - 1}`).toString('base64'), tid: pid,
    cap: { permitted: [], effective: [], inheritable: [] },
    ns: Object.fromEntries(['uts', 'ipc', 'mnt', 'pid', 'pid_for_children', 'net', 'time', 'time_for_children', 'cgroup', 'user'].map((k, j) => [k, { inum: 4026531830 + j, is_host: true }])),
    process_credentials: { uid: 1000, gid: 1000, euid: 1000, egid: 1000, suid: 1000, sgid: 1000, fsuid: 1000, fsgid: 1000 },
    cgroup: { id: '1', name: '' },
  });
  return {
    process_exec: { process: p(10000 + i, '/usr/bin/curl', `-s https://example.com/${run}/${i}`), parent: p(9999 + i, '/usr/bin/bash', '-c run') },
    node_name: 'bench-node',
    time: new Date(Date.UTC(2026, 10, 27, 12, 0, 0) + i).toISOString().replace('Z', '000000Z'),
  };
}
const events = Array.from({ length: EVENTS }, (_, i) => event(i));
const bytes = events.reduce((n, e) => n + JSON.stringify(e).length, 0) / EVENTS;

function options(type) {
  if (type === 'file') return { path: join(work, 'bench.log'), max_size_bytes: 0 };
  if (type === 'kafka') return { brokers, topic: `peregrine.bench.${run}`, create_topics: { enabled: true, num_partitions: 1, replication_factor: 1 } };
  if (type === 'elasticsearch') return { url: esUrl, index: `peregrine-bench-${run}` };
  if (type === 'otlp_http') return { endpoint: `${otlpUrl}/v1/logs` };
  throw new Error(type);
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function direct(type) {
  const sink = defaultSinkRegistry().create(type, options(type), { nodeName: 'bench-node', id: `${type}-direct` });
  await sink.start();
  const lat = [];
  const t0 = performance.now();
  const inflight = [];
  for (let i = 0; i < EVENTS; i += BATCH) {
    const b = events.slice(i, i + BATCH);
    const s = performance.now();
    inflight.push(
      sink.write(b).then((r) => {
        if (r.status !== 'delivered') throw new Error(`${type}: ${r.status} ${r.error?.message}`);
        lat.push(performance.now() - s);
      }),
    );
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
  await sink.flush();
  const secs = (performance.now() - t0) / 1000;
  await sink.stop();
  return { eps: EVENTS / secs, p50: pct(lat, 50), p99: pct(lat, 99) };
}

async function durable(type) {
  const sinkId = `bench-${type}-${run}`;
  const config = { max_events: EVENTS * 2, batch_max_events: BATCH, redis: { url: redisUrl, prefix: `bench${run}` } };
  const producerSink = defaultSinkRegistry().create(type, options(type), { nodeName: 'bench-node', id: sinkId });
  const q = createDeliveryQueue(producerSink, config, { nodeName: 'bench-node' });
  await q.start();
  const workerSink = defaultSinkRegistry().create(type, options(type), { nodeName: 'bench-node', id: sinkId });
  const t0 = performance.now();
  const w = await runWorker({ redisUrl, sinkId, sink: workerSink, concurrency: 2, config, handleSignals: false });
  for (let i = 0; i < EVENTS; i += BATCH) q.enqueue(events.slice(i, i + BATCH));
  while (w.stats().sent < EVENTS) await new Promise((r) => setTimeout(r, 20));
  const secs = (performance.now() - t0) / 1000;
  const l = w.stats().latency;
  await w.close();
  await q.stop();
  return { eps: EVENTS / secs, p50: l.p50_ms, p99: l.p99_ms };
}

const rows = [];
for (const type of SINKS) {
  const d = await direct(type);
  process.stderr.write(`${type} direct: ${d.eps.toFixed(0)} events/s\n`);
  const q = DURABLE ? await durable(type) : null;
  if (q) process.stderr.write(`${type} durable: ${q.eps.toFixed(0)} events/s\n`);
  rows.push({ type, d, q });
}
const base = rows.find((r) => r.type === 'file')?.d.eps ?? NaN;
console.log(`\nSinks: ${EVENTS} exec events of ~${bytes.toFixed(0)} B JSON, batches of ${BATCH} (${(await import('node:os')).cpus().length} CPUs; servers on the same machine)\n`);
console.log('| sink | direct events/s | × file | p50 ms | p99 ms | durable events/s | durable / direct | durable p50 ms | durable p99 ms |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const { type, d, q } of rows) {
  console.log(`| ${type} | ${d.eps.toFixed(0)} | ${(d.eps / base).toFixed(3)} | ${d.p50.toFixed(1)} | ${d.p99.toFixed(1)} | ${q ? q.eps.toFixed(0) : '–'} | ${q ? ((100 * q.eps) / d.eps).toFixed(0) + ' %' : '–'} | ${q ? q.p50.toFixed(1) : '–'} | ${q ? q.p99.toFixed(1) : '–'} |`);
}
// Clean up what the run created on the servers.
const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect().then(() => admin.deleteTopics({ topics: [`peregrine.bench.${run}`] })).catch(() => undefined);
await admin.disconnect().catch(() => undefined);
await new Client({ node: esUrl }).indices.delete({ index: `peregrine-bench-${run}-*` }).catch(() => undefined);
rmSync(work, { recursive: true, force: true });
process.exit(0);
