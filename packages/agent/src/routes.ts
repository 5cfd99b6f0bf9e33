// Where events go: one route per sink — its selection (event types, binary regex) and its delivery
// queue. The pipeline only enqueues (never blocks); each queue delivers to its sink on its own.
import type { EventType, PeregrineEvent } from '@peregrine/events';
import { eventProcess, eventType } from '@peregrine/events';
import { createDeliveryQueue, defaultSinkRegistry, type DeliveryQueue, type QueueConfig, type Sink } from '@peregrine/sinks';
import type { AgentConfig } from './config/schema.js';
import { parseSinkEntries, type SinkEntry } from './config/sinks.js';
import { log } from './log.js';

export interface Route {
  id: string;
  type: string;
  sink: Sink;
  queue: DeliveryQueue;
  durable: boolean;
  eventTypes: ReadonlySet<EventType> | null;
  binaryRegex: RegExp | null;
  /** Events this route's selection filtered out. */
  filtered: number;
}

export function selects(r: Route, ev: PeregrineEvent): boolean {
  if (r.eventTypes && !r.eventTypes.has(eventType(ev))) return false;
  if (r.binaryRegex && !r.binaryRegex.test(eventProcess(ev).binary)) return false;
  return true;
}

function memoryQueue(maxEvents: number): unknown {
  return { max_events: maxEvents };
}

/** The sink entries of a configuration, built-in file and terminal outputs first. */
export function sinkEntries(cfg: AgentConfig): SinkEntry[] {
  const builtin: Record<string, unknown>[] = [];
  const f = cfg.export_file;
  if (f.path !== '') {
    builtin.push({ type: 'file', id: 'file', path: f.path, max_size_bytes: f.max_size_bytes, max_backups: f.max_backups, compress: f.compress, queue: memoryQueue(cfg.queue_max_events) });
  }
  if (cfg.terminal.enabled) builtin.push({ type: 'compact', id: 'terminal', color: cfg.terminal.color, queue: memoryQueue(cfg.queue_max_events) });
  return [...parseSinkEntries(builtin, []), ...parseSinkEntries(cfg.sinks, builtin.map((b) => String(b.id)))];
}

export function buildRoutes(cfg: AgentConfig): Route[] {
  const registry = defaultSinkRegistry();
  return sinkEntries(cfg).map((e) => {
    const sink = registry.get(e.type)!.create(e.options, { nodeName: cfg.node_name, id: e.id });
    const queue = createDeliveryQueue(sink, e.queue as QueueConfig, {
      nodeName: cfg.node_name,
      onError: (err: Error) => log(`sink ${e.id}: ${err.message}`),
    });
    return { id: e.id, type: e.type, sink, queue, durable: e.queue.redis !== undefined, eventTypes: e.eventTypes, binaryRegex: e.binaryRegex, filtered: 0 };
  });
}
