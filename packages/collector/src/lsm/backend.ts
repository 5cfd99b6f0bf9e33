// The bpf_lsm backend: loads bpf/.output/lsm.o, keeps its tables in step with the applied LsmHooks,
// attaches the LSM programs of the hooks some policy names (and only those), and hands decoded reports
// to its listeners.
//
// Replacing tables under load is the syscall backend's scheme: apply() writes everything of the
// generation that is not live — value sets, sel_hooks and lsm_hooks tables, that generation's half of
// each lsm_chains entry — attaches the programs it newly needs, and only then flips sel_conf_map.gen
// (one 4-byte store); programs no hook of the live generation uses are detached afterwards. An LSM hook
// call is evaluated wholly against one generation.
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { PeregrineError } from '@peregrine/events';
import { bpfObjectPath } from '../paths.js';
import { bpfCall, native, type BpfLink, type BpfObject, type RingReader } from '../native.js';
import { SEL, SEL_LAYOUTS as SL, SelCounter } from '../syscall/layout.js';
import { ProcessTables } from '../syscall/process-tables.js';
import { decodeLsmBatch, newLsmDecodeStats, type LsmDecodeStats, type RawLsmRecord } from './decode.js';
import { ALL_LSM_HOOK_IDS, encodeChain, encodeLsmGeneration, type EncodedLsmGeneration } from './encode.js';
import { LSM_LAYOUTS as L, LsmCounter, LsmHookId, type LsmHookName } from './layout.js';
import type { LsmHook } from './types.js';
import { stopAndDrain, perCpuCounter } from '../kernel-counters.js';
import { GenerationTables, SEL_ARRAYS, SEL_MAP_CAPACITY, selWrite, type GenerationWrite, type SelMap } from '../syscall/generation-tables.js';

export interface LsmBackendOptions {
  /** Default bpf/.output/lsm.o. */
  objectPath?: string;
  /** Ring buffer size in bytes (power of 2). Default 4 MiB. */
  ringBufferBytes?: number;
  /** How often the ring is drained. Default 5 ms. */
  pollIntervalMs?: number;
  procRoot?: string;
  /** Never evaluate this process's own calls (default true): a rule must not deny or kill the agent. */
  excludeSelf?: boolean;
  /** Where the kernel's BTF is (which LSM hooks exist). Default /sys/kernel/btf/vmlinux. */
  btfPath?: string;
}

/** A decoded record with the hook it came from. */
export interface LsmReport extends RawLsmRecord {
  policy: string | null;
  hook: LsmHook | null;
}

export interface LsmBackendStats {
  kernel: Record<keyof typeof LsmCounter, number>;
  /** The selector engine's counters that apply here (exe_unknown, exe_map_full, heap_unavailable). */
  selector: Pick<Record<keyof typeof SelCounter, number>, 'exe_unknown' | 'exe_map_full' | 'heap_unavailable'>;
  reader: { records: number; batches: number; bytes: number; droppedBatches: number; droppedRecords: number };
  decode: LsmDecodeStats;
  procfs: { seeded: number; alreadyTracked: number };
  generation: number;
  applies: number;
  hooks: number;
  /** LSM programs attached now. */
  attached: LsmHookName[];
  /**
   * Whether a detached LSM program can be attached again (kernel ≥ 5.19). Where it cannot (5.10:
   * ENOENT), a program stays attached once attached, with an empty chain, until stop().
   */
  reattach: boolean;
  /** LSM hooks this kernel has no program for (absent from its BTF). */
  unavailable: LsmHookName[];
  entries: Record<SetMap, number>;
}

export const LSM_EXEC_PROGRAMS = ['sel_exec', 'sel_fork', 'sel_exit'] as const;
export const lsmProgram = (hook: LsmHookName): string => `lsm_${hook}`;

type SetMap = SelMap | 'lsm_hooks';
const HOOK_NAMES = Object.keys(LsmHookId) as LsmHookName[];

export class LsmBackendError extends PeregrineError {
  override readonly name = 'LsmBackendError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_LSM_BACKEND', message, options);
  }
}

export class LsmBackend {
  private obj: BpfObject | null = null;
  /** load() succeeded: the maps exist. */
  private loaded = false;
  private links = new Map<string, BpfLink>();
  private reader: RingReader | null = null;
  private readonly decodeStats = newLsmDecodeStats();
  private listeners: ((reports: LsmReport[]) => void)[] = [];
  private batchesSeen = 0;
  private gen = 0;
  private applies = 0;
  private readonly tables = new GenerationTables<SetMap>({ ...SEL_MAP_CAPACITY, lsm_hooks: 2 * SEL.MAX_HOOKS }, { ...SEL_ARRAYS, lsm_hooks: L.lsm_hook.size });
  private hooksById = new Map<number, LsmHook>();
  private liveHooks: LsmHook[] = [];
  private unavailable: LsmHookName[] = [];
  private readonly reattach = kernelAtLeast(release(), 5, 19);
  private final: LsmBackendStats | null = null;
  private readonly opts: Required<LsmBackendOptions>;
  private readonly procTables: ProcessTables;

  constructor(opts: LsmBackendOptions = {}) {
    this.opts = {
      objectPath: opts.objectPath ?? bpfObjectPath('lsm'),
      ringBufferBytes: opts.ringBufferBytes ?? 4 << 20,
      pollIntervalMs: opts.pollIntervalMs ?? 5,
      procRoot: opts.procRoot ?? '/proc',
      excludeSelf: opts.excludeSelf ?? true,
      btfPath: opts.btfPath ?? '/sys/kernel/btf/vmlinux',
    };
    this.procTables = new ProcessTables(this.opts.procRoot);
  }

  get started(): boolean {
    return this.obj !== null;
  }

  /** Subscribes to decoded reports (one call per batch, ring order); returns the unsubscribe function. */
  onReport(cb: (reports: LsmReport[]) => void): () => void {
    this.listeners.push(cb);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== cb);
    };
  }

  /**
   * Loads the object (every LSM program the kernel has a hook for; none attached yet) and starts the
   * executable bookkeeping and the ring reader. Throws a BpfError if the kernel refuses LSM programs.
   */
  start(): void {
    if (this.obj) return;
    const n = native();
    const obj = bpfCall(() => new n.BpfObject(this.opts.objectPath));
    this.obj = obj;
    this.final = null;
    try {
      bpfCall(() => obj.setMapMaxEntries('lsm_rb_events', this.opts.ringBufferBytes));
      // The selector engine's maps this backend does not use: as small as the kernel allows.
      bpfCall(() => obj.setMapMaxEntries('sel_rb_events', 4096));
      bpfCall(() => obj.setMapMaxEntries('sel_pending_map', 8));
      this.unavailable = this.missingHooks();
      for (const h of this.unavailable) bpfCall(() => obj.setAutoload(lsmProgram(h), false));
      bpfCall(() => obj.load());
      this.loaded = true;
      this.writeConf(0, false);
      for (const p of LSM_EXEC_PROGRAMS) this.links.set(p, bpfCall(() => obj.attach(p)));
      this.procTables.seedExecutables(obj);
      this.reader = bpfCall(
        () =>
          new n.RingReader(obj, 'lsm_rb_events', (batch) => this.onBatch(batch), {
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

  /** LSM hooks whose bpf_lsm_<hook> attach point this kernel's BTF lacks (e.g. path_* without CONFIG_SECURITY_PATH). */
  private missingHooks(): LsmHookName[] {
    let btf: Buffer;
    try {
      btf = readFileSync(this.opts.btfPath);
    } catch {
      return []; // let load() say what is wrong
    }
    return HOOK_NAMES.filter((h) => !btf.includes(Buffer.from(`bpf_lsm_${h}\0`)));
  }

  private writeConf(gen: number, enabled: boolean): void {
    const conf = Buffer.alloc(SL.sel_conf.size);
    conf.writeUInt32LE(gen, SL.sel_conf.fields.gen);
    conf.writeUInt32LE(enabled ? 1 : 0, SL.sel_conf.fields.enabled);
    conf.writeUInt32LE(this.opts.excludeSelf ? process.pid : 0, SL.sel_conf.fields.self_tgid);
    bpfCall(() => this.obj!.mapUpdate('sel_conf_map', u32(0), conf, 0));
  }

  /**
   * Replaces the applied hooks with these (an empty list removes them all and detaches every LSM
   * program). Throws, leaving the previous hooks in force, if the tables cannot hold them or the kernel
   * lacks a hook.
   */
  apply(hooks: LsmHook[]): void {
    const obj = this.obj;
    if (!obj) throw new LsmBackendError('apply() before start()');
    const missing = hooks.filter((h) => this.unavailable.includes(h.hook));
    if (missing.length > 0) {
      throw new LsmBackendError(`this kernel has no LSM hook ${[...new Set(missing.map((h) => h.hook))].join(', ')} (absent from its BTF)`);
    }
    const next = this.gen ^ 1;
    let enc: EncodedLsmGeneration;
    try {
      enc = encodeLsmGeneration(hooks, next, this.procTables.followBit, this.procTables.fcBit);
    } catch (e) {
      throw new LsmBackendError(`cannot apply ${hooks.length} LSM hooks: ${(e as Error).message}`, { cause: e });
    }
    const write: GenerationWrite<SetMap> = selWrite(enc);
    write.tables.push(['lsm_hooks', enc.ext]);
    const overflow = this.tables.overflow(this.gen, write);
    if (overflow) throw new LsmBackendError(`cannot apply: ${overflow}`);
    // 1–2. Drop what the inactive generation held (written two applies ago); value sets, then the tables.
    this.tables.write(obj, next, write);
    // followForks and followChildren lineage (bits are never reused).
    this.procTables.write(obj, enc);
    // 3. This generation's half of every chain.
    for (const hid of ALL_LSM_HOOK_IDS) {
      const prev = obj.mapLookup('lsm_chains', u32(hid));
      bpfCall(() => obj.mapUpdate('lsm_chains', u32(hid), encodeChain(prev, next, enc.lsmChains.get(hid)), 0));
    }
    // 4. Programs the new generation needs, before it goes live.
    const needed = new Set(hooks.map((h) => h.hook));
    for (const h of needed) {
      const p = lsmProgram(h);
      if (!this.links.has(p)) this.links.set(p, bpfCall(() => obj.attach(p)));
    }
    // 5. Flip.
    this.writeConf(next, hooks.length > 0);
    this.gen = next;
    this.applies++;
    // 6. Programs nothing live uses any more cost nothing again (where the kernel can attach them again).
    for (const h of this.reattach ? HOOK_NAMES : []) {
      const p = lsmProgram(h);
      if (!needed.has(h) && this.links.has(p)) {
        this.links.get(p)!.destroy();
        this.links.delete(p);
      }
    }
    const prev = this.liveHooks;
    this.liveHooks = [...hooks];
    this.hooksById = new Map([...prev, ...this.liveHooks].map((h) => [h.id, h]));
  }

  private onBatch(batch: Buffer): void {
    this.batchesSeen++;
    const raw = decodeLsmBatch(batch, this.decodeStats);
    if (raw.length === 0 || this.listeners.length === 0) return;
    const reports = raw.map((r): LsmReport => {
      const hook = this.hooksById.get(r.hookId) ?? null;
      return { ...r, policy: hook?.policy ?? null, hook };
    });
    for (const l of this.listeners) l(reports);
  }

  stats(): LsmBackendStats {
    if (this.final) return this.final;
    const sum = (map: string, idx: number): number => perCpuCounter(this.loaded ? this.obj : null, map, idx);
    const kernel = {} as LsmBackendStats['kernel'];
    for (const [name, idx] of Object.entries(LsmCounter) as [keyof typeof LsmCounter, number][]) kernel[name] = sum('lsm_counters', idx);
    const entries = this.tables.entries(this.gen);
    return {
      kernel,
      selector: {
        exe_unknown: sum('sel_counters', SelCounter.exe_unknown),
        exe_map_full: sum('sel_counters', SelCounter.exe_map_full),
        heap_unavailable: sum('sel_counters', SelCounter.heap_unavailable),
      },
      reader: this.reader?.stats() ?? { records: 0, batches: 0, bytes: 0, droppedBatches: 0, droppedRecords: 0 },
      decode: { ...this.decodeStats },
      procfs: { ...this.procTables.procfs },
      generation: this.gen,
      applies: this.applies,
      hooks: this.liveHooks.length,
      attached: HOOK_NAMES.filter((h) => this.links.has(lsmProgram(h))),
      reattach: this.reattach,
      unavailable: [...this.unavailable],
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
    this.procTables.reset();
    this.liveHooks = [];
    this.gen = 0;
  }
}

/** Whether a `uname -r` release is at least major.minor. */
export function kernelAtLeast(rel: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}
