// The connect enforcement backend for kernels without BPF LSM: bpf/.output/connect.o's
// cgroup/connect4 and cgroup/connect6 programs on the cgroup v2 root, driven by tables compiled from
// NetRules. Every process on the machine goes through these programs: stop() must leave nothing behind.
import { PeregrineError } from '@peregrine/events';
import { newDecodeStats, type DecodeStats } from '../abi/decode.js';
import { bpfCall, native, type BpfLink, type BpfObject, type RingReader } from '../native.js';
import { bpfObjectPath } from '../paths.js';
import { compileNetRules, type CompiledTables, type PrefixEntry } from './compile.js';
import { decodeConnectBatch, type ConnectReport } from './decode.js';
import { NET_LAYOUTS, NET_MAPS, NET_PROGRAMS, NET_SENDMSG_PROGRAMS, NET_TABLE_MASKS, NetCounter } from './layout.js';
import { validateNetRules, type NetRule } from './rules.js';
import { stopAndDrain, perCpuCounters } from '../kernel-counters.js';

export interface ConnectBackendOptions {
  /** Default bpf/.output/connect.o. */
  objectPath?: string;
  /** Ring buffer size in bytes (power of 2). Default 1 MiB (≈9000 reports). */
  ringBufferBytes?: number;
  /** How often the ring is drained (reports are submitted without wakeup). Default 10 ms. */
  pollIntervalMs?: number;
  /**
   * Capacity of each table map (IPv4 prefixes, IPv6 prefixes, ports). Two generations live side by
   * side during apply(), so one rule set may use half of it. Default 16384.
   */
  maxTableEntries?: number;
  /**
   * Also decide on sendto()/sendmsg() with a destination on unconnected UDP sockets
   * (cgroup/sendmsg4, sendmsg6). Without it a UDP rule only sees connect(). Default false.
   */
  udpSendmsg?: boolean;
}

export interface ApplyResult {
  generation: number;
  rules: number;
  ipv4Prefixes: number;
  ipv6Prefixes: number;
  ports: number;
}

export interface ConnectBackendStats {
  generation: number;
  enabled: boolean;
  kernel: Record<keyof typeof NetCounter, number>;
  reader: { records: number; batches: number; bytes: number; droppedBatches: number; droppedRecords: number };
  decode: DecodeStats;
}

type ReportListener = (reports: ConnectReport[]) => void;

/** The keys one generation wrote, so it can be deleted without scanning the maps. */
interface Generation {
  gen: number;
  lpm4: Buffer[];
  lpm6: Buffer[];
  ports: Buffer[];
}

const BPF_ANY = 0;
const BPF_NOEXIST = 1;
const L = NET_LAYOUTS;

export class ConnectBackend {
  private obj: BpfObject | null = null;
  private links: BpfLink[] = [];
  private reader: RingReader | null = null;
  private readonly listeners: ReportListener[] = [];
  private readonly decodeStats = newDecodeStats();
  private batchesSeen = 0;
  private current: Generation | null = null;
  private previous: Generation | null = null;
  private nextGen = 1;
  private enabled = false;
  private final: ConnectBackendStats | null = null;
  private loaded = false;
  private readonly capacity: number;

  constructor(private readonly opts: ConnectBackendOptions = {}) {
    this.capacity = opts.maxTableEntries ?? 16384;
  }

  /** Between start() and stop(). */
  get started(): boolean {
    return this.obj !== null;
  }

  /** Receives decoded reports, one call per ring batch, in ring order. Returns an unsubscribe function. */
  onReport(listener: ReportListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Loads connect.o and attaches its programs to the cgroup v2 root (every process below it): connect4
   * and connect6, plus sendmsg4 and sendmsg6 with udpSendmsg. The tables start disabled: nothing is
   * denied until apply().
   */
  start(cgroup2Root: string): void {
    if (this.obj) throw new PeregrineError('ERR_NET_STARTED', 'the connect backend is already started');
    const n = native();
    const obj = bpfCall(() => new n.BpfObject(this.opts.objectPath ?? bpfObjectPath('connect')));
    this.obj = obj;
    this.final = null;
    try {
      bpfCall(() => obj.setMapMaxEntries(NET_MAPS.ring, this.opts.ringBufferBytes ?? 1 << 20));
      for (const m of [NET_MAPS.lpm4, NET_MAPS.lpm6, NET_MAPS.ports]) bpfCall(() => obj.setMapMaxEntries(m, this.capacity));
      const sendmsg = this.opts.udpSendmsg ?? false;
      for (const p of NET_SENDMSG_PROGRAMS) bpfCall(() => obj.setAutoload(p, sendmsg));
      bpfCall(() => obj.load());
      this.loaded = true;
      this.writeConf(0, false);
      this.reader = bpfCall(
        () =>
          new n.RingReader(obj, NET_MAPS.ring, (batch) => this.onBatch(batch), {
            pollIntervalMs: this.opts.pollIntervalMs ?? 10,
            maxQueuedBatches: 256,
          }),
      );
      const progs = [...NET_PROGRAMS, ...(sendmsg ? NET_SENDMSG_PROGRAMS : [])];
      for (const prog of progs) this.links.push(bpfCall(() => obj.attachCgroup(prog, cgroup2Root)));
    } catch (e) {
      void this.stop();
      throw e;
    }
  }

  /**
   * Replaces the rule set. The new tables are written under a fresh generation next to the live one,
   * then net_conf flips to it in one map update: a concurrent connect sees either the old or the new
   * set, never a mix. The generation before the live one is deleted first (its readers are long gone).
   * Throws a ConfigError for invalid rules and leaves the live set in place on any failure.
   */
  apply(rules: readonly NetRule[]): ApplyResult {
    const obj = this.requireObj();
    const compiled = compileNetRules(validateNetRules(rules));
    const half = Math.floor(this.capacity / 2);
    const sizes = { ipv4Prefixes: compiled.lpm4.length, ipv6Prefixes: compiled.lpm6.length, ports: compiled.ports.size };
    for (const [what, n] of Object.entries(sizes)) {
      if (n > half) {
        const msg = `connect rules need ${n} ${what} entries; at most ${half} fit (maxTableEntries ${this.capacity} / 2)`;
        throw new PeregrineError('ERR_NET_TABLE_FULL', msg);
      }
    }
    if (this.previous) {
      this.deleteGeneration(obj, this.previous);
      this.previous = null;
    }
    const gen: Generation = { gen: this.allocGeneration(), lpm4: [], lpm6: [], ports: [] };
    try {
      this.writeGeneration(obj, gen, compiled);
      this.writeConf(gen.gen, true);
    } catch (e) {
      this.deleteGeneration(obj, gen);
      throw e;
    }
    this.previous = this.current;
    this.current = gen;
    this.enabled = true;
    return { generation: gen.gen, rules: rules.length, ...sizes };
  }

  /** Global switch: while disabled every connect is allowed without a table lookup. */
  setEnabled(on: boolean): void {
    this.requireObj();
    if (on && !this.current) throw new PeregrineError('ERR_NET_NO_RULES', 'no rule set applied yet');
    this.writeConf(this.current?.gen ?? 0, on);
    this.enabled = on;
  }

  stats(): ConnectBackendStats {
    if (this.final) return this.final;
    const kernel: ConnectBackendStats['kernel'] = perCpuCounters(this.loaded ? this.obj : null, NET_MAPS.counters, NetCounter);
    return {
      generation: this.current?.gen ?? 0,
      enabled: this.enabled,
      kernel,
      reader: this.reader?.stats() ?? { records: 0, batches: 0, bytes: 0, droppedBatches: 0, droppedRecords: 0 },
      decode: { ...this.decodeStats },
    };
  }

  /**
   * Detaches both programs (connects are no longer evaluated from here on), drains the ring, and
   * closes the object: no program, link or map of ours remains. Idempotent; safe without start().
   */
  async stop(): Promise<void> {
    for (const l of this.links) l.destroy();
    this.links = [];
    if (this.reader) await stopAndDrain(this.reader, () => this.batchesSeen);
    if (this.obj) {
      this.final = { ...this.stats(), enabled: false };
      this.obj.close();
      this.obj = null;
      this.loaded = false;
    }
    this.reader = null;
    this.current = this.previous = null;
    this.enabled = false;
  }

  private onBatch(batch: Buffer): void {
    this.batchesSeen++;
    const reports = decodeConnectBatch(batch, this.decodeStats);
    if (reports.length === 0) return;
    for (const l of this.listeners) l(reports);
  }

  /** Generations are u32 and never 0 (0 means none in net_conf). */
  private allocGeneration(): number {
    const g = this.nextGen >>> 0 || 1;
    this.nextGen = g + 1;
    return g;
  }

  private requireObj(): BpfObject {
    if (!this.obj) throw new PeregrineError('ERR_NET_NOT_STARTED', 'the connect backend is not started');
    return this.obj;
  }

  private writeConf(gen: number, enabled: boolean): void {
    const obj = this.requireObj();
    const v = Buffer.alloc(L.net_conf.size);
    v.writeUInt32LE(gen, L.net_conf.fields.gen);
    v.writeUInt32LE(enabled ? 1 : 0, L.net_conf.fields.enabled);
    bpfCall(() => obj.mapUpdate(NET_MAPS.conf, u32(0), v, BPF_ANY));
  }

  private writeGeneration(obj: BpfObject, g: Generation, t: CompiledTables): void {
    const put = (map: string, key: Buffer, value: Buffer, keys: Buffer[]): void => {
      bpfCall(() => obj.mapUpdate(map, key, value, BPF_NOEXIST));
      keys.push(key);
    };
    for (const e of t.lpm4) put(NET_MAPS.lpm4, lpmKey(g.gen, e, L.net_lpm4_key.size), u64(e.rules), g.lpm4);
    for (const e of t.lpm6) put(NET_MAPS.lpm6, lpmKey(g.gen, e, L.net_lpm6_key.size), u64(e.rules), g.lpm6);
    for (const [port, rules] of t.ports) {
      const k = Buffer.alloc(L.net_port_key.size);
      k.writeUInt32LE(g.gen, L.net_port_key.fields.gen);
      k.writeUInt16LE(port, L.net_port_key.fields.port);
      put(NET_MAPS.ports, k, u64(rules), g.ports);
    }
    const v = Buffer.alloc(L.net_table.size);
    for (const m of NET_TABLE_MASKS) v.writeBigUInt64LE(t.masks[m], L.net_table.fields[m]);
    t.ruleIds.forEach((id, i) => v.writeUInt32LE(id, L.net_table.fields.rule_id + 4 * i));
    bpfCall(() => obj.mapUpdate(NET_MAPS.tables, u32(g.gen), v, BPF_ANY));
  }

  private deleteGeneration(obj: BpfObject, g: Generation): void {
    obj.mapDelete(NET_MAPS.tables, u32(g.gen));
    for (const k of g.lpm4) obj.mapDelete(NET_MAPS.lpm4, k);
    for (const k of g.lpm6) obj.mapDelete(NET_MAPS.lpm6, k);
    for (const k of g.ports) obj.mapDelete(NET_MAPS.ports, k);
  }
}

/** {u32 prefixlen; u32 gen; u8 addr[]}: the generation is matched exactly, then `prefix` address bits. */
function lpmKey(gen: number, e: PrefixEntry, size: number): Buffer {
  const k = Buffer.alloc(size);
  k.writeUInt32LE(32 + e.prefix, 0);
  k.writeUInt32LE(gen, 4);
  k.set(e.addr, 8);
  return k;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}

function u64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b;
}
