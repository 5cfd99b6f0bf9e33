// The syscall_tracepoint backend: loads bpf/.output/generic.o, keeps its tables in step with the
// applied SyscallHooks and hands decoded reports to its listeners.
//
// Replacing tables under load: the programs read only the live generation (sel_conf_map.gen). apply()
// writes everything of the other generation — value sets, hook tables, that generation's half of each
// sel_syscalls entry — and only then flips sel_conf_map.gen, one 4-byte store: a syscall is evaluated
// entirely against the old tables or entirely against the new ones. The old generation stays intact
// until the next apply() — far longer than one program run, which is not preemptible on a syscall
// tracepoint (value sets are BPF_F_NO_PREALLOC hashes/tries freed through RCU besides).
import { bpfObjectPath } from '../paths.js';
import { bpfCall, native, type BpfLink, type BpfObject, type RingReader } from '../native.js';
import { PeregrineError } from '@peregrine/events';
import { decodeSyscallBatch, newSyscallDecodeStats, type RawSyscallRecord, type SyscallDecodeStats } from './decode.js';
import { encodeGeneration, encodeNr, nrUsed, type EncodedGeneration } from './encode.js';
import { MSG_OP_GENERIC_SYSCALL, SEL, SEL_LAYOUTS as L, SelCounter } from './layout.js';
import { ProcessTables } from './process-tables.js';
import { syscallName } from './syscalls.js';
import type { SyscallHook } from './types.js';
import { stopAndDrain, perCpuCounters } from '../kernel-counters.js';
import { GenerationTables, SEL_ARRAYS, SEL_MAP_CAPACITY, selWrite, type SelMap } from './generation-tables.js';

export interface SyscallBackendOptions {
  /** Default bpf/.output/generic.o. */
  objectPath?: string;
  /** Ring buffer size in bytes (power of 2). Default 4 MiB. */
  ringBufferBytes?: number;
  /** How often the ring is drained. Default 5 ms. */
  pollIntervalMs?: number;
  procRoot?: string;
  /** Never evaluate this process's own syscalls (default true): a rule must not kill the agent. */
  excludeSelf?: boolean;
  /**
   * For another object built on the same tables (the tracepoint backend's generic_tp.o): the programs
   * attached at start (default exec/fork/exit bookkeeping and raw sys_enter), the ones not loaded at
   * all, the opcode of its records, and a step run on each generation before it goes live and after.
   */
  startPrograms?: string[];
  skipPrograms?: string[];
  opcode?: number;
  beforeFlip?: (obj: BpfObject, hooks: SyscallHook[], enc: EncodedGeneration) => void;
  afterFlip?: (obj: BpfObject, hooks: SyscallHook[]) => void;
}

/** A decoded record with the hook it came from. */
export interface SyscallReport extends RawSyscallRecord {
  policy: string | null;
  syscall: string;
  hook: SyscallHook | null;
}

export interface SyscallBackendStats {
  kernel: Record<keyof typeof SelCounter, number>;
  reader: { records: number; batches: number; bytes: number; droppedBatches: number; droppedRecords: number };
  decode: SyscallDecodeStats;
  procfs: { seeded: number; alreadyTracked: number };
  generation: number;
  applies: number;
  hooks: number;
  /** Entries the live generation holds in each value-set map. */
  entries: Record<SetMap, number>;
}

export const SYSCALL_PROGRAMS = { enter: 'sel_sys_enter', exit: 'sel_sys_exit', exec: 'sel_exec', fork: 'sel_fork', exitProc: 'sel_exit' } as const;

type SetMap = SelMap;

export class SyscallBackendError extends PeregrineError {
  override readonly name = 'SyscallBackendError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SYSCALL_BACKEND', message, options);
  }
}

export class SyscallBackend {
  private obj: BpfObject | null = null;
  private links = new Map<string, BpfLink>();
  private reader: RingReader | null = null;
  private readonly decodeStats = newSyscallDecodeStats();
  private listeners: ((reports: SyscallReport[]) => void)[] = [];
  private batchesSeen = 0;
  private gen = 0;
  private applies = 0;
  private readonly tables = new GenerationTables<SelMap>(SEL_MAP_CAPACITY, SEL_ARRAYS);
  private hooksById = new Map<number, SyscallHook>();
  private liveHooks: SyscallHook[] = [];
  private prevHooks: SyscallHook[] = [];
  private nrs = new Set<number>();
  private final: SyscallBackendStats | null = null;
  /** Maps exist only after load(): stats() of a start() that failed earlier must not look them up. */
  private loaded = false;
  private readonly opts: Required<Omit<SyscallBackendOptions, 'beforeFlip' | 'afterFlip'>> & Pick<SyscallBackendOptions, 'beforeFlip' | 'afterFlip'>;
  private readonly procTables: ProcessTables;

  constructor(opts: SyscallBackendOptions = {}) {
    this.opts = {
      objectPath: opts.objectPath ?? bpfObjectPath('generic'),
      ringBufferBytes: opts.ringBufferBytes ?? 4 << 20,
      pollIntervalMs: opts.pollIntervalMs ?? 5,
      procRoot: opts.procRoot ?? '/proc',
      excludeSelf: opts.excludeSelf ?? true,
      startPrograms: opts.startPrograms ?? [SYSCALL_PROGRAMS.exec, SYSCALL_PROGRAMS.fork, SYSCALL_PROGRAMS.exitProc, SYSCALL_PROGRAMS.enter],
      skipPrograms: opts.skipPrograms ?? [],
      opcode: opts.opcode ?? MSG_OP_GENERIC_SYSCALL,
      beforeFlip: opts.beforeFlip,
      afterFlip: opts.afterFlip,
    };
    this.procTables = new ProcessTables(this.opts.procRoot);
  }

  /** Subscribes to decoded reports (one call per batch, ring order); returns the unsubscribe function. */
  onReport(cb: (reports: SyscallReport[]) => void): () => void {
    this.listeners.push(cb);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== cb);
    };
  }

  start(): void {
    if (this.obj) return;
    const n = native();
    const obj = bpfCall(() => new n.BpfObject(this.opts.objectPath));
    this.obj = obj;
    this.final = null;
    try {
      bpfCall(() => obj.setMapMaxEntries('sel_rb_events', this.opts.ringBufferBytes));
      for (const p of this.opts.skipPrograms) bpfCall(() => obj.setAutoload(p, false));
      bpfCall(() => obj.load());
      this.loaded = true;
      this.writeConf(0, false);
      // Exec/fork/exit bookkeeping first, then the procfs walk: a process created meanwhile is either
      // seen by the kernel side (its entry wins, BPF_NOEXIST) or found by the walk.
      for (const p of this.opts.startPrograms) {
        this.links.set(p, bpfCall(() => obj.attach(p)));
      }
      this.procTables.seedExecutables(obj);
      this.reader = bpfCall(
        () =>
          new n.RingReader(obj, 'sel_rb_events', (batch) => this.onBatch(batch), {
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

  /** nrs: every syscall number sel_syscalls may hold while this conf is live (sel_conf.nr_mask). */
  private writeConf(gen: number, enabled: boolean, nrs: Iterable<number> = []): void {
    const conf = Buffer.alloc(L.sel_conf.size);
    conf.writeUInt32LE(gen, L.sel_conf.fields.gen);
    conf.writeUInt32LE(enabled ? 1 : 0, L.sel_conf.fields.enabled);
    conf.writeUInt32LE(this.opts.excludeSelf ? process.pid : 0, L.sel_conf.fields.self_tgid);
    // The tracepoint backend keys sel_syscalls by event id and its program does not read nr_mask.
    for (const nr of this.opts.opcode === MSG_OP_GENERIC_SYSCALL ? nrs : []) {
      const at = L.sel_conf.fields.nr_mask + (nr >> 6) * 8;
      conf.writeBigUInt64LE(conf.readBigUInt64LE(at) | (1n << BigInt(nr & 63)), at);
    }
    bpfCall(() => this.obj!.mapUpdate('sel_conf_map', u32(0), conf, 0));
  }

  /**
   * Replaces the applied hooks with these (an empty list removes them all). Throws, leaving the
   * previous hooks in force, if the tables cannot hold them.
   */
  apply(hooks: SyscallHook[]): void {
    const obj = this.obj;
    if (!obj) throw new SyscallBackendError('apply() before start()');
    const next = this.gen ^ 1;
    let enc: EncodedGeneration;
    try {
      enc = encodeGeneration(hooks, next, this.procTables.followBit, this.procTables.fcBit);
    } catch (e) {
      throw new SyscallBackendError(`cannot apply ${hooks.length} syscall hooks: ${(e as Error).message}`, { cause: e });
    }
    const tooHigh = this.opts.opcode === MSG_OP_GENERIC_SYSCALL ? [...enc.chains.keys()].find((nr) => nr >= SEL.NR_MASK_BITS) : undefined;
    if (tooHigh !== undefined) throw new SyscallBackendError(`cannot apply: syscall number ${tooHigh} is above ${SEL.NR_MASK_BITS - 1}`);
    const write = selWrite(enc);
    const overflow = this.tables.overflow(this.gen, write);
    if (overflow) throw new SyscallBackendError(`cannot apply: ${overflow}`);
    // 1–2. Drop what the inactive generation held (written two applies ago); value sets, then hook tables.
    this.tables.write(obj, next, write);
    // 3. followForks and followChildren lineage (bits are never reused).
    this.procTables.write(obj, enc);
    this.opts.beforeFlip?.(obj, hooks, enc);
    // 4. This generation's half of every syscall entry, each number let through nr_mask first.
    const allNrs = new Set([...this.nrs, ...enc.chains.keys()]);
    this.writeConf(this.gen, this.liveHooks.length > 0, allNrs);
    for (const nr of allNrs) {
      const prev = obj.mapLookup('sel_syscalls', u32(nr));
      bpfCall(() => obj.mapUpdate('sel_syscalls', u32(nr), encodeNr(prev, next, enc.chains.get(nr)), 0));
    }
    const needExit = hooks.some((h) => h.return);
    if (needExit && !this.links.has(SYSCALL_PROGRAMS.exit)) {
      this.links.set(SYSCALL_PROGRAMS.exit, bpfCall(() => obj.attach(SYSCALL_PROGRAMS.exit)));
    }
    // 5. Flip.
    this.writeConf(next, hooks.length > 0, allNrs);
    this.gen = next;
    this.applies++;
    // 6. Syscall numbers the live generation does not watch any more cost nothing again.
    for (const nr of allNrs) {
      const v = obj.mapLookup('sel_syscalls', u32(nr));
      if (v && !nrUsed(v, next)) obj.mapDelete('sel_syscalls', u32(nr));
    }
    this.nrs = new Set(enc.chains.keys());
    this.writeConf(next, hooks.length > 0, this.nrs);
    if (!needExit) {
      this.links.get(SYSCALL_PROGRAMS.exit)?.destroy();
      this.links.delete(SYSCALL_PROGRAMS.exit);
    }
    this.opts.afterFlip?.(obj, hooks);
    this.prevHooks = this.liveHooks;
    this.liveHooks = [...hooks];
    this.hooksById = new Map([...this.prevHooks, ...this.liveHooks].map((h) => [h.id, h]));
  }

  private onBatch(batch: Buffer): void {
    this.batchesSeen++;
    const raw = decodeSyscallBatch(batch, this.decodeStats, [], this.opts.opcode);
    if (raw.length === 0 || this.listeners.length === 0) return;
    const reports = raw.map((r): SyscallReport => {
      const hook = this.hooksById.get(r.hookId) ?? null;
      return { ...r, policy: hook?.policy ?? null, syscall: syscallName(r.nr) ?? `syscall_${r.nr}`, hook };
    });
    for (const l of this.listeners) l(reports);
  }

  stats(): SyscallBackendStats {
    if (this.final) return this.final;
    const kernel: SyscallBackendStats['kernel'] = perCpuCounters(this.loaded ? this.obj : null, 'sel_counters', SelCounter);
    const entries = this.tables.entries(this.gen);
    return {
      kernel,
      reader: this.reader?.stats() ?? { records: 0, batches: 0, bytes: 0, droppedBatches: 0, droppedRecords: 0 },
      decode: { ...this.decodeStats },
      procfs: { ...this.procTables.procfs },
      generation: this.gen,
      applies: this.applies,
      hooks: this.liveHooks.length,
      entries,
    };
  }

  /**
   * Detaches every program, drains the ring into the listeners and frees the object (programs and
   * maps: nothing is pinned, so nothing remains). Idempotent; safe without start().
   */
  async stop(): Promise<void> {
    for (const l of this.links.values()) l.destroy();
    this.links.clear();
    if (this.reader) await stopAndDrain(this.reader, () => this.batchesSeen);
    if (this.obj) {
      this.final = this.stats();
      this.obj.close();
      this.obj = null;
      this.loaded = false;
    }
    this.reader = null;
    this.tables.reset();
    this.nrs.clear();
    this.procTables.reset();
    this.gen = 0;
  }
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}
