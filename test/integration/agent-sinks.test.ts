// The agent's whole data path to real servers: processes run on this kernel → the agent → a `sinks:`
// list with Kafka, Elasticsearch, an OpenTelemetry Collector and a durable (Redis/BullMQ) file sink
// delivered by a `peregrine worker` process. Each destination is read back and compared.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitArguments, type PeregrineEvent } from '@peregrine/events';
import { MAIN, canRunBpf, startAgent, type RunningAgent } from '../helpers/agent.js';
import { esUrl, kafkaBrokers, otlpFileMark, otlpUrl, readOtlpFile, redisUrl, requireServer, serversEnabled } from '../helpers/servers.js';

const run = `r${process.pid}${Date.now().toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), 'peregrine-agent-sinks-'));
const topic = `peregrine.it.${run}`;
const index = `peregrine-it-${run}`;
const durableFile = join(dir, 'durable.log');
const N = 20;

describe.skipIf(!canRunBpf() || !serversEnabled())('agent → Kafka, Elasticsearch, OTLP, durable queue', () => {
  let agent: RunningAgent;
  let events: PeregrineEvent[] = [];
  let otlpMark = 0;
  const config = join(dir, 'agent.yaml');

  beforeAll(async () => {
    for (const s of ['kafka', 'elasticsearch', 'otelcol', 'redis'] as const) await requireServer(s);
    const kafka = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();
    writeFileSync(
      config,
      `sinks:
  - type: kafka
    id: siem
    brokers: [${kafkaBrokers().join(', ')}]
    topic: ${topic}
    event_types: [process_exec, process_exit]
    binary_regex: "/true$"
  - type: elasticsearch
    id: search
    url: ${esUrl()}
    index: ${index}
    binary_regex: "/true$"
  - type: otlp_http
    id: otel
    endpoint: ${otlpUrl()}/v1/logs
    event_types: [process_exec]
    binary_regex: "/true$"
  - type: file
    id: durable
    path: ${durableFile}
    binary_regex: "/true$"
    queue:
      redis: {url: "${redisUrl()}", prefix: "it${run}"}
`,
    );
    otlpMark = otlpFileMark();
    agent = await startAgent(['--config', config]);
    for (let i = 0; i < N; i++) spawnSync('/usr/bin/true', [run, String(i)]);
    await new Promise((r) => setTimeout(r, 1000));
    events = (await agent.stop()).filter((e) => {
      const p = 'process_exec' in e ? e.process_exec.process : 'process_exit' in e ? e.process_exit.process : null;
      return p !== null && p.binary === '/usr/bin/true' && splitArguments(p.arguments)[0] === run;
    });
  }, 180_000);

  afterAll(async () => {
    if (agent && agent.proc.exitCode === null) agent.proc.kill('SIGKILL');
    const kafka = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect().then(() => admin.deleteTopics({ topics: [topic] })).catch(() => undefined);
    await admin.disconnect();
    await new Client({ node: esUrl() }).indices.delete({ index: `${index}-*` }).catch(() => undefined);
  });

  it('the file export has every exec and exit of the run', () => {
    expect(events.filter((e) => 'process_exec' in e)).toHaveLength(N);
    expect(events.filter((e) => 'process_exit' in e)).toHaveLength(N);
  });

  it('Kafka has the same events, keyed by exec_id, with CloudEvents headers', async () => {
    const kafka = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `it-${run}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got: { key: string; value: PeregrineEvent; type: string }[] = [];
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${got.length} messages`)), 60_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          got.push({ key: message.key!.toString(), value: JSON.parse(message.value!.toString()), type: String(message.headers?.ce_type) });
          if (got.length >= 2 * N) {
            clearTimeout(t);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    expect(got.map((g) => g.value).sort(byTime)).toEqual([...events].sort(byTime));
    for (const g of got) {
      const p = 'process_exec' in g.value ? g.value.process_exec.process : (g.value as { process_exit: { process: { exec_id: string } } }).process_exit.process;
      expect(g.key).toBe(p.exec_id);
      expect(g.type).toMatch(/^io\.peregrine\.process_(exec|exit)$/);
    }
  });

  it('Elasticsearch has the events as ECS documents', async () => {
    const es = new Client({ node: esUrl() });
    await es.indices.refresh({ index: `${index}-*` });
    const r = await es.search({ index: `${index}-*`, size: 100, query: { term: { 'process.args': run } } });
    const docs = r.hits.hits.map((h) => h._source as Record<string, any>);
    expect(docs).toHaveLength(2 * N);
    const execDoc = docs.find((d) => d.event.action === 'exec')!;
    expect(execDoc.process.executable).toBe('/usr/bin/true');
    expect(execDoc.host.name).toBe(events[0]!.node_name);
    const ids = new Set(events.map((e) => ('process_exec' in e ? e.process_exec.process.exec_id : 'process_exit' in e ? e.process_exit.process.exec_id : '')));
    for (const d of docs) expect(ids.has(d.process.entity_id)).toBe(true);
  });

  it('the OpenTelemetry Collector received one log record per exec', async () => {
    const deadline = Date.now() + 30_000;
    let records: { eventName?: string; body: { stringValue: string } }[] = [];
    while (Date.now() < deadline) {
      records = (readOtlpFile(otlpMark) as { resourceLogs: { scopeLogs: { logRecords: typeof records }[] }[] }[])
        .flatMap((l) => l.resourceLogs.flatMap((r) => r.scopeLogs.flatMap((s) => s.logRecords)))
        .filter((r) => r.body.stringValue.includes(run));
      if (records.length >= N) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(records).toHaveLength(N);
    expect(records.every((r) => r.eventName === 'peregrine.process.exec')).toBe(true);
    expect(records.map((r) => JSON.parse(r.body.stringValue)).sort(byTime)).toEqual(events.filter((e) => 'process_exec' in e).sort(byTime));
  });

  it('a worker process delivers the durable queue to its file', async () => {
    const w = spawn(process.execPath, [MAIN, 'worker', '--sink', 'durable', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let lines: string[] = [];
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        lines = readFileSync(durableFile, 'utf8').split('\n').filter((l) => l.includes(run));
      } catch {
        lines = [];
      }
      if (lines.length >= 2 * N) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    w.kill('SIGTERM');
    await new Promise((r) => w.on('exit', r));
    expect(lines.map((l) => JSON.parse(l) as PeregrineEvent).sort(byTime)).toEqual([...events].sort(byTime));
    const stats = spawnSync(process.execPath, [MAIN, 'sinks', 'stats', '--sink', 'durable', '--config', config], { encoding: 'utf8' });
    expect(stats.status).toBe(0);
    expect(JSON.parse(stats.stdout).durable.sent).toBe(2 * N);
  });
});

function byTime(a: PeregrineEvent, b: PeregrineEvent): number {
  return a.time < b.time ? -1 : a.time > b.time ? 1 : JSON.stringify(a) < JSON.stringify(b) ? -1 : 1;
}
