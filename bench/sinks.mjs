#!/usr/bin/env node
// Sink throughput and latency (issue: sinks). For each sink, side by side in one run: sustained
// events/s writing realistic exec events (~1 KB of JSON each) directly, and through the durable queue
// (BullMQ on Redis, delivered by an in-process worker); latency p50/p99 per batch (write → delivered).
// Ratios are to the file sink (baseline) and durable/direct. Needs the servers of scripts/servers.sh.
// Each measurement writes to its own Elasticsearch index and Redis queue, so no run sees the documents
// of another as duplicates (409s would be cheaper than real indexing). The durable worker is started
// before the clock starts, as the direct sink is: a worker is a standing process. By default it runs in a
// child process, as `peregrine worker` does next to the agent (--worker inline: in the bench's process).
//   node bench/sinks.mjs [--events 50000] [--batch 1000] [--sinks file,kafka,elasticsearch,otlp_http] [--durable 1] [--runs 3] [--worker process|inline]
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from '@elastic/elasticsearch';
import { createDeliveryQueue, defaultSinkRegistry, runWorker } from '../packages/sinks/dist/index.js';

const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []));
if (args.role === 'worker') {
  // The durable queue's worker, in its own process: runs until the parent says close, answers stats requests.
  const { type, opts, sinkId, redisUrl: url, config } = JSON.parse(process.env.BENCH_WORKER);
  const sink = defaultSinkRegistry().create(type, opts, { nodeName: 'bench-node', id: sinkId });
  const w = await runWorker({ redisUrl: url, sinkId, sink, concurrency: 2, config, handleSignals: false });
  await new Promise((resolve) => {
    process.on('message', (m) => {
      if (m === 'stats') process.send({ ...w.stats(), cpu: process.cpuUsage() });
      else if (m === 'close') resolve();
    });
    process.send('ready');
  });
  await w.close();
  process.exit(0);
}
const EVENTS = Number(args.events ?? 50000);
const BATCH = Number(args.batch ?? 1000);
const SINKS = (args.sinks ?? 'file,kafka,elasticsearch,otlp_http').split(',');
const DURABLE = (args.durable ?? '1') === '1';
const RUNS = Number(args.runs ?? 1);
const WORKER = args.worker ?? 'process';
const env = process.env;
const brokers = (env.PEREGRINE_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const esUrl = env.PEREGRINE_ES_URL ?? 'http://127.0.0.1:9200';
const otlpUrl = env.PEREGRINE_OTLP_URL ?? 'http://127.0.0.1:4318';
const redisUrl = env.PEREGRINE_REDIS_URL ?? 'redis://127.0.0.1:6390';
const run = `b${process.pid}`;
const work = mkdtempSync(join(tmpdir(), 'peregrine-sinkbench-'));

// The exec event the agent emits with its default configuration (enable_process_cred and
// enable_process_ns off, no ancestors): Tetragon's process fields, parent_exec_id and cgroup, the process
// images frozen as the enricher freezes them, each event with its own parent image.
const NODE = 'worker-1.example.internal';
const execId = (ktime, pid) => Buffer.from(`${NODE}:${ktime}:${pid}`).toString('base64');
function image(pid, ktime, parentPid, parentKtime, binary, args, cwd, flags) {
  return Object.freeze({
    exec_id: execId(ktime, pid), pid, uid: 1000, cwd, binary, arguments: args, flags,
    start_time: new Date(Date.UTC(2026, 10, 27, 11, 0, 0) + Math.floor(ktime / 1e6)).toISOString().replace('Z', `${String(ktime % 1e6).padStart(6, '0')}Z`),
    auid: 1000, parent_exec_id: execId(parentKtime, parentPid), tid: pid,
    cgroup: Object.freeze({ id: '8462', name: 'session-3.scope' }),
  });
}
function event(i) {
  const pid = 200_000 + i;
  const ktime = 1_000_000_000_000 + i * 1000;
  const parent = image(pid - 1, ktime - 500_000, 4_242, 17_000_000_000, '/usr/bin/bash', '-c "make -j2 test"', '/home/dev/src/project', 'execve clone');
  const process = image(pid, ktime, pid - 1, ktime - 500_000, '/usr/bin/curl', `-sS --retry 3 -H "Accept: application/json" https://api.example.com/v1/items?run=${run}&page=${i}`, '/home/dev/src/project', 'execve clone');
  return {
    process_exec: { process, parent },
    node_name: NODE,
    time: process.start_time,
  };
}
const events = Array.from({ length: EVENTS }, (_, i) => event(i));
// Written before the clock starts: connections, JIT, and the Elasticsearch index (created by its first document).
const warmup = Array.from({ length: Math.min(BATCH, 1000) }, (_, i) => event(EVENTS + i));
const bytes = events.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0) / EVENTS;

let phase = 0;
function options(type) {
  phase++;
  if (type === 'file') return { path: join(work, 'bench.log'), max_size_bytes: 0 };
  if (type === 'kafka') return { brokers, topic: `peregrine.bench.${run}`, create_topics: { enabled: true, num_partitions: 1, replication_factor: 1 } };
  if (type === 'elasticsearch') return { url: esUrl, index: `peregrine-bench-${run}-${phase}` };
  if (type === 'otlp_http') return { endpoint: `${otlpUrl}/v1/logs` };
  throw new Error(type);
}
const cpuUs = (u) => u.user + u.system;
// CPU time of the local servers (scripts/servers.sh pid files), in µs; 0 for a server not found.
const SERVERS_DIR = env.PEREGRINE_SERVERS_DIR ?? '/opt/peregrine-test-servers';
const SERVER_OF = { kafka: 'kafka', elasticsearch: 'elasticsearch', otlp_http: 'otelcol' };
function serverCpu(names) {
  let us = 0;
  for (const name of names) {
    try {
      const pid = readFileSync(join(SERVERS_DIR, name, `${name}.pid`), 'utf8').trim();
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      us += ((Number(f[11]) + Number(f[12])) * 1e6) / 100; // utime + stime, in clock ticks of 10 ms
    } catch {
      // not running here
    }
  }
  return us;
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function direct(type) {
  const sink = defaultSinkRegistry().create(type, options(type), { nodeName: 'bench-node', id: `${type}-direct` });
  await sink.start();
  const w = await sink.write(warmup);
  if (w.status !== 'delivered') throw new Error(`${type} warm-up: ${w.status} ${w.error?.message}`);
  const lat = [];
  const servers = SERVER_OF[type] === undefined ? [] : [SERVER_OF[type]];
  const srv0 = serverCpu(servers);
  const cpu0 = process.cpuUsage();
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
  const cpu = cpuUs(process.cpuUsage(cpu0));
  const srv = serverCpu(servers) - srv0;
  await sink.stop();
  return { eps: EVENTS / secs, p50: pct(lat, 50), p99: pct(lat, 99), cpu: cpu / EVENTS, srv: srv / EVENTS };
}

async function durable(type) {
  const sinkId = `bench-${type}-${run}-${phase}`;
  const config = { max_events: EVENTS * 2, batch_max_events: BATCH, redis: { url: redisUrl, prefix: `bench${run}` } };
  const opts = options(type);
  const producerSink = defaultSinkRegistry().create(type, opts, { nodeName: 'bench-node', id: sinkId });
  const q = createDeliveryQueue(producerSink, config, { nodeName: 'bench-node' });
  await q.start();
  const w = await startWorker({ type, opts, sinkId, redisUrl, config });
  q.enqueue(warmup);
  let st = await w.stats();
  while (st.sent < warmup.length) st = await new Promise((r) => setTimeout(r, 5)).then(() => w.stats());
  const workerCpu0 = cpuUs(st.cpu);
  const servers = ['redis', ...(SERVER_OF[type] === undefined ? [] : [SERVER_OF[type]])];
  const srv0 = serverCpu(servers);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < EVENTS; i += BATCH) q.enqueue(events.slice(i, i + BATCH));
  while ((st = await w.stats()).sent < EVENTS + warmup.length) await new Promise((r) => setTimeout(r, 5));
  const secs = (performance.now() - t0) / 1000;
  const agentCpu = cpuUs(process.cpuUsage(cpu0));
  const workerCpu = cpuUs(st.cpu) - workerCpu0;
  const cpu = agentCpu + workerCpu;
  const srv = serverCpu(servers) - srv0;
  await w.close();
  await q.stop();
  return { eps: EVENTS / secs, p50: st.latency.p50_ms, p99: st.latency.p99_ms, cpu: cpu / EVENTS, srv: srv / EVENTS, agentCpu: agentCpu / EVENTS, workerCpu: workerCpu / EVENTS };
}

/** The worker, inline or in a child process (see the header); stats() and close() either way. */
async function startWorker(spec) {
  if (WORKER === 'inline') {
    const sink = defaultSinkRegistry().create(spec.type, spec.opts, { nodeName: 'bench-node', id: spec.sinkId });
    const w = await runWorker({ redisUrl: spec.redisUrl, sinkId: spec.sinkId, sink, concurrency: 2, config: spec.config, handleSignals: false });
    return { stats: async () => ({ ...w.stats(), cpu: { user: 0, system: 0 } }), close: () => w.close() };
  }
  const child = fork(new URL(import.meta.url).pathname, ['--role', 'worker'], {
    env: { ...process.env, BENCH_WORKER: JSON.stringify(spec) },
    execArgv: env.BENCH_WORKER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${env.BENCH_WORKER_PROF}`] : [],
  });
  const next = () => new Promise((resolve) => child.once('message', resolve));
  if ((await next()) !== 'ready') throw new Error('bench worker did not start');
  return {
    stats: () => {
      const p = next();
      child.send('stats');
      return p;
    },
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send('close');
      await exited;
    },
  };
}

// Median of each figure over the runs (direct and durable interleaved).
const median = (xs) => pct(xs, 50);
const medianOf = (rs) =>
  rs.length === 0 ? null : { eps: median(rs.map((r) => r.eps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)), cpu: median(rs.map((r) => r.cpu)), srv: median(rs.map((r) => r.srv)) };
const rows = [];
for (const type of SINKS) {
  const ds = [];
  const qs = [];
  for (let r = 0; r < RUNS; r++) {
    const d = await direct(type);
    process.stderr.write(`${type} direct: ${d.eps.toFixed(0)} events/s\n`);
    ds.push(d);
    if (DURABLE) {
      const q = await durable(type);
      process.stderr.write(`${type} durable: ${q.eps.toFixed(0)} events/s (CPU µs/event: agent ${q.agentCpu.toFixed(1)}, worker ${q.workerCpu.toFixed(1)}, servers ${q.srv.toFixed(1)})\n`);
      qs.push(q);
    }
  }
  rows.push({ type, d: medianOf(ds), q: medianOf(qs) });
}
const base = rows.find((r) => r.type === 'file')?.d.eps ?? NaN;
console.log(`\nSinks: ${EVENTS} exec events of ~${bytes.toFixed(0)} B JSON (default-shaped: no cap/ns/process_credentials), batches of ${BATCH}, durable worker ${WORKER === 'inline' ? 'in the bench process' : 'in its own process'}, median of ${RUNS} run(s) (${(await import('node:os')).cpus().length} CPUs; servers on the same machine)\n`);
console.log('CPU: µs of CPU time per event, node = the process(es) writing to the sink (durable: agent side + worker process),');
console.log('server = the destination server (durable: + Redis), from scripts/servers.sh pid files.\n');
console.log('| sink | direct events/s | × file | p50 ms | p99 ms | CPU µs/event node + server | durable events/s | durable / direct | durable p50 ms | durable p99 ms | durable CPU µs/event node + server |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
const cpuCell = (r) => `${r.cpu.toFixed(1)} + ${r.srv.toFixed(1)}`;
for (const { type, d, q } of rows) {
  const dq = q ? [q.eps.toFixed(0), ((100 * q.eps) / d.eps).toFixed(0) + ' %', q.p50.toFixed(1), q.p99.toFixed(1), cpuCell(q)] : ['–', '–', '–', '–', '–'];
  console.log(`| ${type} | ${d.eps.toFixed(0)} | ${(d.eps / base).toFixed(3)} | ${d.p50.toFixed(1)} | ${d.p99.toFixed(1)} | ${cpuCell(d)} | ${dq.join(' | ')} |`);
}
// Clean up what the run created on the servers.
const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect().then(() => admin.deleteTopics({ topics: [`peregrine.bench.${run}`] })).catch(() => undefined);
await admin.disconnect().catch(() => undefined);
await new Client({ node: esUrl }).indices.delete({ index: `peregrine-bench-${run}-*` }).catch(() => undefined);
rmSync(work, { recursive: true, force: true });
process.exit(0);
