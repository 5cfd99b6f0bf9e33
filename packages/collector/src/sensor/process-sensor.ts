// The process sensor: loads bpf/.output/process.o, seeds tg_execve_map with the processes found in
// /proc, and turns ring-buffer batches into RawEvents.
import type { RawEvent } from '@peregrine/events';
import { decodeBatch, newDecodeStats, type DecodeStats } from '../abi/decode.js';
import { KernelCounter, LAYOUTS } from '../abi/layout.js';
import { bpfCall, native, type BpfLink, type BpfObject, type RingReader } from '../native.js';
import { walkProcfs } from '../procfs/walk.js';
import { stopAndDrain, perCpuCounters } from '../kernel-counters.js';

export interface ProcessSensorOptions {
  objectPath: string;
  maxArgsBytes: number;
  ringBufferBytes: number;
  pollIntervalMs: number;
  cgroup2Root: string | null;
  /** Receives decoded events, one call per batch, in ring order; procfs discoveries come first. */
  onEvents: (events: RawEvent[]) => void;
}

export const PROCESS_PROGRAMS = ['event_execve', 'event_clone', 'event_exit'] as const;
const BPF_NOEXIST = 1;

export interface SensorCounters {
  kernel: Record<keyof typeof KernelCounter, number>;
  reader: { records: number; batches: number; bytes: number; droppedBatches: number; droppedRecords: number };
  decode: DecodeStats;
  procfs: { discovered: number; alreadyTracked: number };
}

export class ProcessSensor {
  private obj: BpfObject | null = null;
  private links: BpfLink[] = [];
  private reader: RingReader | null = null;
  private readonly decodeStats = newDecodeStats();
  private readonly procfsStats = { discovered: 0, alreadyTracked: 0 };
  private batchesSeen = 0;
  private final: SensorCounters | null = null;
  /** Maps exist only after load(): counters() of a start() that failed earlier must not look them up. */
  private loaded = false;

  constructor(private readonly opts: ProcessSensorOptions) {}

  start(): void {
    const n = native();
    const obj = bpfCall(() => new n.BpfObject(this.opts.objectPath));
    this.obj = obj;
    try {
      bpfCall(() => obj.setMapMaxEntries('tg_rb_events', this.opts.ringBufferBytes));
      bpfCall(() => obj.load());
      this.loaded = true;
      const conf = Buffer.alloc(LAYOUTS.tg_conf.size);
      conf.writeUInt32LE(this.opts.maxArgsBytes, LAYOUTS.tg_conf.fields.max_args_bytes);
      bpfCall(() => obj.mapUpdate('tg_conf_map', u32(0), conf, 0));
      // Attach before the procfs walk: a process created meanwhile is then either seen by the kernel
      // side (and its map entry wins over the walk's) or found by the walk.
      for (const prog of PROCESS_PROGRAMS) this.links.push(bpfCall(() => obj.attach(prog)));
      this.seedFromProcfs(obj);
      this.reader = bpfCall(
        () =>
          new n.RingReader(obj, 'tg_rb_events', (batch) => this.onBatch(batch), {
            pollIntervalMs: this.opts.pollIntervalMs,
            batchBytes: 1 << 20,
            maxQueuedBatches: 256,
          }),
      );
    } catch (e) {
      void this.stop();
      throw e;
    }
  }

  private seedFromProcfs(obj: BpfObject): void {
    const found = walkProcfs({ cgroup2Root: this.opts.cgroup2Root });
    const value = Buffer.alloc(LAYOUTS.execve_map_value.size);
    const V = LAYOUTS.execve_map_value.fields;
    const emitted: RawEvent[] = [];
    for (const ev of found) {
      value.fill(0);
      value.writeUInt32LE(ev.key.pid, V.key);
      value.writeBigUInt64LE(ev.key.ktime, V.key + 8);
      if (ev.parent) {
        value.writeUInt32LE(ev.parent.pid, V.pkey);
        value.writeBigUInt64LE(ev.parent.ktime, V.pkey + 8);
      }
      value.writeUInt32LE(0x1 /* EVENT_EXECVE */, V.flags);
      try {
        obj.mapUpdate('tg_execve_map', u32(ev.key.pid), value, BPF_NOEXIST);
      } catch (e) {
        if ((e as { code?: string }).code === 'EEXIST') {
          this.procfsStats.alreadyTracked++; // the kernel saw it fork or exec after attach: its events tell
          continue;
        }
        throw e;
      }
      emitted.push(ev);
    }
    this.procfsStats.discovered = emitted.length;
    if (emitted.length > 0) this.opts.onEvents(emitted);
  }

  private onBatch(batch: Buffer): void {
    this.batchesSeen++;
    const events = decodeBatch(batch, this.decodeStats);
    if (events.length > 0) this.opts.onEvents(events);
  }

  counters(): SensorCounters {
    if (this.final) return this.final;
    const kernel: SensorCounters['kernel'] = perCpuCounters(this.loaded ? this.obj : null, 'tg_counters', KernelCounter);
    return {
      kernel,
      reader: this.reader?.stats() ?? { records: 0, batches: 0, bytes: 0, droppedBatches: 0, droppedRecords: 0 },
      decode: { ...this.decodeStats },
      procfs: { ...this.procfsStats },
    };
  }

  /**
   * Detaches the programs, lets the reader drain what the ring still holds, and resolves once every
   * batch it read has been handed to onEvents (batches cross threads asynchronously). Idempotent.
   */
  async stop(): Promise<void> {
    for (const l of this.links) l.destroy();
    this.links = [];
    if (this.reader) await stopAndDrain(this.reader, () => this.batchesSeen);
    if (this.obj) {
      this.final = this.counters();
      this.obj.close();
      this.obj = null;
      this.loaded = false;
    }
    this.reader = null;
  }
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}
