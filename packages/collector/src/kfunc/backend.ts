// The kfunc backend: a base instance of bpf/.output/kfunc.o holds every map (selector tables, value sets,
// executables for matchBinaries, the ring buffer) and runs the executable bookkeeping (tp_btf programs
// only: the base loads wherever typed raw tracepoints do); each site — one kernel function, or one raw
// tracepoint, with one attach kind — is another instance of the same object in which only that site's
// program copy is loaded, pointed at the function or tracepoint, with every map reused from the base.
//
// Replacing tables under load is the syscall and LSM backends' scheme: apply() writes everything of the
// generation that is not live (value sets, sel_hooks, kf_hooks, that generation's half of each kf_sites
// entry), loads and attaches the sites it newly needs, then flips sel_conf_map.gen (one 4-byte store)
// and only then detaches the sites nothing live uses. A site number freed by an apply is not given to
// another function in the same apply, so a program still attached never runs another function's hooks.
import { PeregrineError } from '@peregrine/events';
import { bpfObjectPath } from '../paths.js';
import { bpfCall, BpfError, native, type BpfLink, type BpfObject, type RingReader } from '../native.js';
import { SEL, SEL_LAYOUTS as SL, SelCounter } from '../syscall/layout.js';
import { ProcessTables } from '../syscall/process-tables.js';
import { decodeKfuncBatch, newKfuncDecodeStats, type KfuncDecodeStats, type RawKfuncRecord } from './decode.js';
import { encodeKfuncGeneration, encodeSite, type EncodedKfuncGeneration } from './encode.js';
import { KF, KF_LAYOUTS as L, KfCounter, type KfKindName } from './layout.js';
import type { KfuncHook } from './types.js';
import { stopAndDrain, perCpuCounter } from '../kernel-counters.js';
import { GenerationTables, SEL_ARRAYS, SEL_MAP_CAPACITY, selWrite, type GenerationWrite, type SelMap } from '../syscall/generation-tables.js';

export interface KfuncBackendOptions {
  /** Default bpf/.output/kfunc.o. */
  objectPath?: string;
  /** Ring buffer size in bytes (power of 2). Default 4 MiB. */
  ringBufferBytes?: number;
  /** How often the ring is drained. Default 5 ms. */
  pollIntervalMs?: number;
  procRoot?: string;
  /** Never evaluate this process's own calls (default true): a rule must not deny or kill the agent. */
  excludeSelf?: boolean;
}

/** A decoded record with the hook it came from. */
export interface KfuncReport extends RawKfuncRecord {
  policy: string | null;
  hook: KfuncHook | null;
}

export interface KfuncSiteStatus {
  site: number;
  func: string;
  /** What the hooks asked for. */
  kind: KfKindName;
  /** What was attached: fentry falls back to kprobe where it does not load. */
  attachedAs: KfKindName;
  /** A kretprobe reports the return value. */
  ret: boolean;
  /** Why fentry was not used, when it fell back. */
  fallback?: string;
}

export interface KfuncBackendStats {
  kernel: Record<keyof typeof KfCounter, number>;
  selector: Pick<Record<keyof typeof SelCounter, number>, 'exe_unknown' | 'exe_map_full' | 'heap_unavailable' | 'string_fault'>;
  reader: { records: number; batches: number; bytes: number; droppedBatches: number; droppedRecords: number };
  decode: KfuncDecodeStats;
  procfs: { seeded: number; alreadyTracked: number };
  generation: number;
  applies: number;
  hooks: number;
  sites: KfuncSiteStatus[];
  entries: Record<SetMap, number>;
}

export const KFUNC_EXEC_PROGRAMS = ['sel_exec', 'sel_fork', 'sel_exit'] as const;
const ENTRY_PROGRAM: Record<KfKindName, string> = { fentry: 'kf_fentry', kprobe: 'kf_kprobe', fmod_ret: 'kf_fmodret', syscall: 'kf_sysret', tp_btf: 'kf_tpbtf' };
export const kfuncProgram = (kind: KfKindName | 'kretprobe', site: number): string => `${kind === 'kretprobe' ? 'kf_kretprobe' : ENTRY_PROGRAM[kind]}_${site}`;

type SetMap = SelMap | 'kf_hooks';

export class KfuncBackendError extends PeregrineError {
  override readonly name = 'KfuncBackendError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_KFUNC_BACKEND', message, options);
  }
}

interface Site extends KfuncSiteStatus {
  key: string;
  obj: BpfObject;
  links: BpfLink[];
}

const siteKey = (h: KfuncHook): string => `${h.kind}:${h.func}:${h.return ? 'ret' : ''}`;

export class KfuncBackend {
  private base: BpfObject | null = null;
  private loaded = false;
  private exeLinks: BpfLink[] = [];
  private sites = new Map<string, Site>();
  private reader: RingReader | null = null;
  private readonly decodeStats = newKfuncDecodeStats();
  private listeners: ((reports: KfuncReport[]) => void)[] = [];
  private batchesSeen = 0;
  private gen = 0;
  private applies = 0;
  private readonly tables = new GenerationTables<SetMap>({ ...SEL_MAP_CAPACITY, kf_hooks: 2 * SEL.MAX_HOOKS }, { ...SEL_ARRAYS, kf_hooks: L.kf_hook.size });
  private hooksById = new Map<number, KfuncHook>();
  private liveHooks: KfuncHook[] = [];
  private final: KfuncBackendStats | null = null;
  private readonly opts: Required<KfuncBackendOptions>;
  private readonly procTables: ProcessTables;

  constructor(opts: KfuncBackendOptions = {}) {
    this.opts = {
      objectPath: opts.objectPath ?? bpfObjectPath('kfunc'),
      ringBufferBytes: opts.ringBufferBytes ?? 4 << 20,
      pollIntervalMs: opts.pollIntervalMs ?? 5,
      procRoot: opts.procRoot ?? '/proc',
      excludeSelf: opts.excludeSelf ?? true,
    };
    this.procTables = new ProcessTables(this.opts.procRoot);
  }

  get started(): boolean {
    return this.base !== null;
  }

  /** Subscribes to decoded reports (one call per batch, ring order); returns the unsubscribe function. */
  onReport(cb: (reports: KfuncReport[]) => void): () => void {
    this.listeners.push(cb);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== cb);
    };
  }

  /** Loads the base instance (maps and the executable bookkeeping) and starts the ring reader. */
  start(): void {
    if (this.base) return;
    const n = native();
    const obj = bpfCall(() => new n.BpfObject(this.opts.objectPath));
    this.base = obj;
    this.final = null;
    try {
      bpfCall(() => obj.setMapMaxEntries('kf_rb_events', this.opts.ringBufferBytes));
      // The selector engine's maps this backend does not use: as small as the kernel allows.
      bpfCall(() => obj.setMapMaxEntries('sel_rb_events', 4096));
      bpfCall(() => obj.setMapMaxEntries('sel_pending_map', 8));
      for (const p of obj.programs()) bpfCall(() => obj.setAutoload(p.name, (KFUNC_EXEC_PROGRAMS as readonly string[]).includes(p.name)));
      bpfCall(() => obj.load());
      this.loaded = true;
      this.writeConf(0, false);
      for (const p of KFUNC_EXEC_PROGRAMS) this.exeLinks.push(bpfCall(() => obj.attach(p)));
      this.procTables.seedExecutables(obj);
      this.reader = bpfCall(
        () =>
          new n.RingReader(obj, 'kf_rb_events', (batch) => this.onBatch(batch), {
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

  private writeConf(gen: number, enabled: boolean): void {
    const conf = Buffer.alloc(SL.sel_conf.size);
    conf.writeUInt32LE(gen, SL.sel_conf.fields.gen);
    conf.writeUInt32LE(enabled ? 1 : 0, SL.sel_conf.fields.enabled);
    conf.writeUInt32LE(this.opts.excludeSelf ? process.pid : 0, SL.sel_conf.fields.self_tgid);
    bpfCall(() => this.base!.mapUpdate('sel_conf_map', u32(0), conf, 0));
  }

  /**
   * Loads one site: a fresh instance of the object with only the site's program copies, pointed at the
   * function, sharing the base's maps. fentry falls back to kprobe where the kernel refuses it.
   */
  private loadSite(key: string, kind: KfKindName, func: string, site: number, ret: boolean): Site {
    const tryKind = (k: KfKindName): Site => {
      const n = native();
      const obj = bpfCall(() => new n.BpfObject(this.opts.objectPath));
      const links: BpfLink[] = [];
      try {
        const entry = kfuncProgram(k, site);
        const progs = ret ? [entry, kfuncProgram('kretprobe', site)] : [entry];
        for (const p of obj.programs()) bpfCall(() => obj.setAutoload(p.name, progs.includes(p.name)));
        if (k !== 'kprobe') bpfCall(() => obj.setAttachTarget(entry, func));
        for (const m of obj.maps()) bpfCall(() => obj.reuseMap(m.name, this.base!));
        bpfCall(() => obj.load());
        links.push(bpfCall(() => (k === 'kprobe' ? obj.attachKprobe(entry, func, false) : obj.attach(entry))));
        if (ret) links.push(bpfCall(() => obj.attachKprobe(kfuncProgram('kretprobe', site), func, true)));
        return { key, site, func, kind, attachedAs: k, ret, obj, links };
      } catch (e) {
        for (const l of links) l.destroy();
        obj.close();
        throw e;
      }
    };
    try {
      return tryKind(kind);
    } catch (e) {
      if (kind === 'fentry') {
        try {
          return { ...tryKind('kprobe'), fallback: (e as Error).message };
        } catch (e2) {
          throw new KfuncBackendError(`cannot attach to kernel function '${func}': fentry: ${(e as Error).message}; kprobe: ${(e2 as Error).message}`, { cause: e2 });
        }
      }
      const log = e instanceof BpfError ? e.log : '';
      if ((kind === 'fmod_ret' || kind === 'syscall') && /is not modifiable/.test(log)) {
        throw new KfuncBackendError(
          `Override on '${func}': the kernel refuses fmod_ret there ("${func}() is not modifiable": neither a security_* hook nor on its ` +
          `error-injection list, CONFIG_FUNCTION_ERROR_INJECTION); deny with lsmhooks (file_open, bprm_check_security, socket_connect) instead`,
          { cause: e },
        );
      }
      const what = kind === 'tp_btf' ? `raw tracepoint '${func}'` : `kernel function '${func}'`;
      throw new KfuncBackendError(`cannot attach ${kind} to ${what}: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Replaces the applied hooks with these (an empty list removes them all and detaches every site).
   * Throws, leaving the previous hooks in force, if the tables cannot hold them or a function cannot be
   * attached.
   */
  apply(hooks: KfuncHook[]): void {
    const base = this.base;
    if (!base) throw new KfuncBackendError('apply() before start()');
    const next = this.gen ^ 1;
    // Sites: the live ones kept, new ones on numbers no live site holds.
    const wanted = new Map<string, { kind: KfKindName; func: string; ret: boolean }>();
    for (const h of hooks) wanted.set(siteKey(h), { kind: h.kind, func: h.func, ret: h.return });
    const taken = new Set([...this.sites.values()].map((s) => s.site));
    const siteOf = new Map<string, number>();
    for (const [key] of wanted) {
      const live = this.sites.get(key);
      if (live) siteOf.set(key, live.site);
    }
    for (const [key] of wanted) {
      if (siteOf.has(key)) continue;
      let s = 0;
      while (s < KF.MAX_SITES && (taken.has(s) || [...siteOf.values()].includes(s))) s++;
      if (s >= KF.MAX_SITES) {
        throw new KfuncBackendError(`cannot apply: ${wanted.size} kernel functions × attach kinds are needed (at most ${KF.MAX_SITES} at once, counting those being replaced)`);
      }
      siteOf.set(key, s);
    }
    let enc: EncodedKfuncGeneration;
    try {
      enc = encodeKfuncGeneration(hooks, next, this.procTables.followBit, (h) => siteOf.get(siteKey(h))!, this.procTables.fcBit);
    } catch (e) {
      throw new KfuncBackendError(`cannot apply ${hooks.length} kfunc hooks: ${(e as Error).message}`, { cause: e });
    }
    const write: GenerationWrite<SetMap> = selWrite(enc);
    write.tables.push(['kf_hooks', enc.ext]);
    const overflow = this.tables.overflow(this.gen, write);
    if (overflow) throw new KfuncBackendError(`cannot apply: ${overflow}`);
    // 1–2. Drop what the inactive generation held (written two applies ago); value sets, then the tables.
    this.tables.write(base, next, write);
    // followForks and followChildren lineage (bits are never reused).
    this.procTables.write(base, enc);
    // 3. This generation's half of every site entry.
    const keyOfSite = new Map([...siteOf].map(([k, s]) => [s, k]));
    for (let s = 0; s < KF.MAX_SITES; s++) {
      const key = keyOfSite.get(s);
      const w = key ? wanted.get(key)! : null;
      const prev = base.mapLookup('kf_sites', u32(s));
      const kind = w?.kind ?? this.siteAt(s)?.kind ?? 'fentry';
      bpfCall(() => base.mapUpdate('kf_sites', u32(s), encodeSite(prev, next, kind, w?.ret ?? false, enc.siteChains.get(s)), 0));
    }
    // 4. Sites the new generation needs, attached before it goes live.
    const added: Site[] = [];
    try {
      for (const [key, w] of wanted) {
        if (this.sites.has(key)) continue;
        added.push(this.loadSite(key, w.kind, w.func, siteOf.get(key)!, w.ret));
      }
    } catch (e) {
      for (const s of added) this.closeSite(s);
      throw e;
    }
    for (const s of added) this.sites.set(s.key, s);
    // 5. Flip.
    this.writeConf(next, hooks.length > 0);
    this.gen = next;
    this.applies++;
    // 6. Sites nothing live uses any more.
    for (const [key, s] of this.sites) {
      if (!wanted.has(key)) {
        this.closeSite(s);
        this.sites.delete(key);
      }
    }
    const prev = this.liveHooks;
    this.liveHooks = [...hooks];
    this.hooksById = new Map([...prev, ...this.liveHooks].map((h) => [h.id, h]));
  }

  private siteAt(n: number): Site | undefined {
    return [...this.sites.values()].find((s) => s.site === n);
  }

  private closeSite(s: Site): void {
    for (const l of s.links) l.destroy();
    s.obj.close();
  }

  private onBatch(batch: Buffer): void {
    this.batchesSeen++;
    const raw = decodeKfuncBatch(batch, this.decodeStats);
    if (raw.length === 0 || this.listeners.length === 0) return;
    const reports = raw.map((r): KfuncReport => {
      const hook = this.hooksById.get(r.hookId) ?? null;
      return { ...r, policy: hook?.policy ?? null, hook };
    });
    for (const l of this.listeners) l(reports);
  }

  stats(): KfuncBackendStats {
    if (this.final) return this.final;
    const sum = (map: string, idx: number): number => perCpuCounter(this.loaded ? this.base : null, map, idx);
    const kernel = {} as KfuncBackendStats['kernel'];
    for (const [name, idx] of Object.entries(KfCounter) as [keyof typeof KfCounter, number][]) kernel[name] = sum('kf_counters', idx);
    const entries = this.tables.entries(this.gen);
    return {
      kernel,
      selector: {
        exe_unknown: sum('sel_counters', SelCounter.exe_unknown),
        exe_map_full: sum('sel_counters', SelCounter.exe_map_full),
        heap_unavailable: sum('sel_counters', SelCounter.heap_unavailable),
        string_fault: sum('sel_counters', SelCounter.string_fault),
      },
      reader: this.reader?.stats() ?? { records: 0, batches: 0, bytes: 0, droppedBatches: 0, droppedRecords: 0 },
      decode: { ...this.decodeStats },
      procfs: { ...this.procTables.procfs },
      generation: this.gen,
      applies: this.applies,
      hooks: this.liveHooks.length,
      sites: [...this.sites.values()].map(({ site, func, kind, attachedAs, ret, fallback }) => ({
        site, func, kind, attachedAs, ret, ...(fallback !== undefined ? { fallback } : {}),
      })),
      entries,
    };
  }

  /**
   * Detaches every site, drains the ring into the listeners and frees every instance (programs and
   * maps: nothing is pinned, so nothing remains). Idempotent; safe without start().
   */
  async stop(): Promise<void> {
    for (const s of this.sites.values()) this.closeSite(s);
    this.sites.clear();
    for (const l of this.exeLinks) l.destroy();
    this.exeLinks = [];
    if (this.reader) await stopAndDrain(this.reader, () => this.batchesSeen);
    if (this.base) {
      this.final = this.stats();
      this.base.close();
      this.base = null;
      this.loaded = false;
    }
    this.reader = null;
    this.tables.reset();
    this.procTables.reset();
    this.liveHooks = [];
    this.gen = 0;
  }
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}
