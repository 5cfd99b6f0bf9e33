// `peregrine worker`, `peregrine dlq list|replay`, `peregrine sinks check|stats`.
import { PeregrineError } from '@peregrine/events';
import { defaultSinkRegistry, listDeadLetters, readSinkStats, replayDeadLetters, runWorker } from '@peregrine/sinks';
import { loadConfig } from '../config/load.js';
import type { SinkEntry } from '../config/sinks.js';
import { request } from '../control/client.js';
import { log } from '../log.js';
import { sinkEntries } from '../routes.js';

function entryOf(configFile: string | undefined, id: string): { entry: SinkEntry; nodeName: string } {
  const cfg = loadConfig({ file: configFile, env: process.env, flags: {} });
  const entries = sinkEntries(cfg);
  const entry = entries.find((e) => e.id === id);
  if (!entry) throw new PeregrineError('ERR_NO_SINK', `no sink '${id}' in the configuration (sinks: ${entries.map((e) => e.id).join(', ') || 'none'})`);
  return { entry, nodeName: cfg.node_name };
}

function durable(entry: SinkEntry): { url: string; prefix: string } {
  const r = entry.queue.redis;
  if (!r) throw new PeregrineError('ERR_NOT_DURABLE', `sink '${entry.id}' has no queue.redis: its queue lives inside the agent`);
  return { url: r.url, prefix: r.prefix };
}

export async function workerCommand(configFile: string | undefined, id: string, concurrency: number): Promise<number> {
  const { entry, nodeName } = entryOf(configFile, id);
  const { url } = durable(entry);
  const sink = defaultSinkRegistry().get(entry.type)!.create(entry.options, { nodeName, id: entry.id });
  await sink.healthcheck().catch((e: Error) => log(`sink ${id}: healthcheck failed: ${e.message} (jobs wait and retry)`));
  const handle = await runWorker({ redisUrl: url, sinkId: id, sink, concurrency, config: entry.queue, onError: (e) => log(`worker ${id}: ${e.message}`) });
  log(`worker for sink ${id} (${entry.type}) ready`);
  await handle.closed;
  log(`worker ${id}: ${JSON.stringify(handle.stats())}`);
  return 0;
}

export async function dlqList(configFile: string | undefined, id: string, limit: number): Promise<number> {
  const { url, prefix } = durable(entryOf(configFile, id).entry);
  const list = await listDeadLetters(url, id, { prefix, limit });
  if (list.length === 0) process.stdout.write(`no dead letters for sink ${id}\n`);
  for (const d of list) {
    process.stdout.write(`${d.id}  ${d.events} events  attempts=${d.attempts}  failed=${new Date(d.failedAt).toISOString()}  reason: ${d.reason}\n`);
  }
  return 0;
}

export async function dlqReplay(configFile: string | undefined, id: string, ids: string[] | undefined, all: boolean): Promise<number> {
  if (!all && !ids?.length) throw new PeregrineError('ERR_USAGE', 'name the dead letters to replay (--id ID …) or --all');
  const { url, prefix } = durable(entryOf(configFile, id).entry);
  const r = await replayDeadLetters(url, id, all ? { all: true } : { ids: ids! }, { prefix });
  process.stdout.write(`replayed ${r.replayed} batches (${r.events} events); missing ${r.missing.length}, skipped ${r.skipped.length}\n`);
  return 0;
}

export async function sinksCheck(configFile: string | undefined): Promise<number> {
  const cfg = loadConfig({ file: configFile, env: process.env, flags: {} });
  const registry = defaultSinkRegistry();
  let failed = 0;
  for (const e of sinkEntries(cfg)) {
    const sink = registry.get(e.type)!.create(e.options, { nodeName: cfg.node_name, id: e.id });
    try {
      await sink.healthcheck();
      process.stdout.write(`✔ ${e.id} (${e.type})\n`);
    } catch (err) {
      failed++;
      process.stdout.write(`✘ ${e.id} (${e.type}): ${(err as Error).message}\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}

export async function sinksStats(socket: string, configFile: string | undefined, id: string | undefined): Promise<number> {
  if (id && configFile) {
    const { entry } = entryOf(configFile, id);
    if (entry.queue.redis) {
      const s = await readSinkStats(entry.queue.redis.url, id, { prefix: entry.queue.redis.prefix });
      process.stdout.write(JSON.stringify({ [id]: s }, null, 2) + '\n');
      return 0;
    }
  }
  const r = await request(socket, { op: 'sinks.stats' });
  if (!r.ok) throw new PeregrineError(r.code, r.error);
  const all = r.sinks ?? {};
  process.stdout.write(JSON.stringify(id ? { [id]: all[id] } : all, null, 2) + '\n');
  return 0;
}
