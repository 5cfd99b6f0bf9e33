// The agent: kernel sensor → enricher → per-sink bounded queues → sinks. Data flows one way; the
// ring reader's callback only decodes, enriches and enqueues.
import type { PeregrineEvent, RawEvent } from '@peregrine/events';
import { ProcessSensor, bpfObjectPath, hostNamespaces, type SensorCounters } from '@peregrine/collector';
import { Enricher, createClock } from '@peregrine/enricher';
import type { QueueStats, SinkStats } from '@peregrine/sinks';
import type { AgentConfig } from './config/schema.js';
import { cgroup2Root } from './preflight.js';
import { selects, type Route } from './routes.js';
import { log } from './log.js';

export interface AgentCounters {
  sensor: SensorCounters;
  enricher: ReturnType<Enricher['stats']>;
  events: { exec: number; exit: number; policy: number };
  sinks: Record<string, { type: string; durable: boolean; filtered: number; queue: QueueStats; sink: SinkStats | null }>;
}

export class Agent {
  private readonly enricher: Enricher;
  private readonly sensor: ProcessSensor;
  private readonly routes: Route[];
  private tickTimer: NodeJS.Timeout | null = null;
  private readonly counts = { exec: 0, exit: 0, policy: 0 };
  private stopped = false;
  /** Other stages that retry work on the agent's tick (the policy manager's unresolved reports). */
  readonly tickers: ((now: number) => void)[] = [];

  constructor(
    cfg: AgentConfig,
    routes: Route[],
  ) {
    this.routes = routes;
    this.enricher = new Enricher({
      nodeName: cfg.node_name,
      hostNs: hostNamespaces(),
      enableAncestors: cfg.enable_ancestors,
      processCred: cfg.enable_process_cred,
      processNs: cfg.enable_process_ns,
      cacheSize: cfg.process_cache_size,
      clock: createClock(),
    });
    this.sensor = new ProcessSensor({
      objectPath: bpfObjectPath('process'),
      maxArgsBytes: cfg.max_args_bytes,
      ringBufferBytes: cfg.ring_buffer_bytes,
      pollIntervalMs: cfg.poll_interval_ms,
      cgroup2Root: cgroup2Root(),
      onEvents: (raw) => this.onRaw(raw),
    });
  }

  async start(): Promise<void> {
    for (const r of this.routes) {
      if (!r.durable) {
        // A sink that fails its healthcheck still gets its queue: events wait and are retried, and the
        // other sinks run (the failure is said once, here).
        await r.sink.healthcheck().catch((e: Error) => log(`sink ${r.id}: healthcheck failed: ${e.message}`));
      }
      await r.queue.start();
    }
    this.sensor.start();
    this.tickTimer = setInterval(() => {
      this.publish(this.enricher.tick(Date.now()));
      for (const t of this.tickers) t(Date.now());
    }, 100);
  }

  private onRaw(raw: RawEvent[]): void {
    const now = Date.now();
    const out: PeregrineEvent[] = [];
    for (const r of raw) for (const e of this.enricher.process(r, now)) out.push(e);
    this.publish(out);
    // The watermark moved: policy reports waiting for these records can be resolved now.
    for (const t of this.tickers) t(now);
  }

  /** Where pids of policy events are resolved to their process and parent. */
  get processes(): Pick<Enricher, 'processOfPid' | 'watermarkNs' | 'ktimeToIso'> {
    return this.enricher;
  }

  publish(events: PeregrineEvent[]): void {
    if (events.length === 0) return;
    for (const e of events) {
      if ('process_exec' in e) this.counts.exec++;
      else if ('process_exit' in e) this.counts.exit++;
      else this.counts.policy++;
    }
    for (const r of this.routes) {
      if (r.eventTypes === null && r.binaryRegex === null) {
        r.queue.enqueue(events);
        continue;
      }
      const picked = events.filter((e) => selects(r, e));
      r.filtered += events.length - picked.length;
      if (picked.length > 0) r.queue.enqueue(picked);
    }
  }

  /** Stops the sensor (draining the ring), releases parked events, flushes and stops every sink. */
  async stop(): Promise<AgentCounters> {
    if (!this.stopped) {
      this.stopped = true;
      if (this.tickTimer) clearInterval(this.tickTimer);
      await this.sensor.stop();
      this.publish(this.enricher.tick(Number.POSITIVE_INFINITY));
      for (const r of this.routes) await r.queue.stop();
    }
    return this.counters();
  }

  counters(): AgentCounters {
    return {
      sensor: this.sensor.counters(),
      enricher: this.enricher.stats(),
      events: { ...this.counts },
      sinks: Object.fromEntries(
        this.routes.map((r) => [r.id, { type: r.type, durable: r.durable, filtered: r.filtered, queue: r.queue.stats(), sink: r.durable ? null : r.sink.stats() }]),
      ),
    };
  }
}
