// Typings for the peregrine_native addon: a thin layer over the system libbpf. It holds no policy or
// event semantics; programs and maps are addressed by the names they have in the BPF object.

/**
 * Every failing call throws an Error with these own properties. The message names the operation
 * and the object, e.g. `load prog 'tp_exec': Operation not permitted`.
 */
export interface NativeError extends Error {
  /** The JS method that failed: 'open', 'load', 'attach', 'mapLookup', 'RingReader', … */
  operation: string;
  /** Positive errno (libbpf's private codes are 4000–4013). Bad arguments give EINVAL. */
  errno: number;
  /** Symbolic errno: 'EPERM', 'ENOENT', 'ENOTSUPP', 'LIBBPF_ERRNO__VERIFY', … */
  code: string;
  /** libbpf log lines printed during the call (verifier output included), at most the last 64 KiB. */
  log: string;
}

export interface ProgramInfo {
  name: string;
  /** ELF section, e.g. 'tracepoint/syscalls/sys_enter_kill'. */
  section: string;
  autoload: boolean;
}

export interface MapInfo {
  name: string;
  /** enum bpf_map_type, e.g. 27 = BPF_MAP_TYPE_RINGBUF. */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

export interface UprobeOptions {
  /** Absolute path of the executable or shared library. */
  binaryPath: string;
  /** Symbol to attach to; offset is then relative to it. */
  funcName?: string;
  /** Byte offset (file offset when funcName is absent). Default 0. */
  offset?: number;
  /** Only this process; default every process that maps the binary. */
  pid?: number;
  retprobe?: boolean;
}

/**
 * An opened BPF ELF object (bpf_object__open_file). Configure (setAutoload, setMapMaxEntries),
 * then load(), then attach and use maps.
 */
export declare class BpfObject {
  constructor(path: string);
  programs(): ProgramInfo[];
  maps(): MapInfo[];
  /** Before load(): whether load() loads this program. */
  setAutoload(prog: string, on: boolean): void;
  /** Before load(): the map's max_entries (for a ring buffer: its size in bytes, a power of 2). */
  setMapMaxEntries(map: string, n: number): void;
  /** Creates the maps and loads every autoload program (one call: a second load() fails). */
  load(): void;
  /**
   * bpf_program__attach: the attach point comes from the section (tracepoint/, raw_tp/, tp_btf/,
   * kprobe/, fentry/, lsm/ …). A bare SEC("uprobe") or a cgroup program needs attachUprobe/attachCgroup.
   */
  attach(prog: string): BpfLink;
  /** Attaches a cgroup program (cgroup/connect4 …) to the cgroup v2 directory. */
  attachCgroup(prog: string, cgroupDirPath: string): BpfLink;
  attachUprobe(prog: string, opts: UprobeOptions): BpfLink;
  /** Attaches a SEC("tracepoint") program to category/event (bpf_program__attach_tracepoint); callable many times. */
  attachTracepoint(prog: string, category: string, event: string): BpfLink;
  /** Runs an `iter/` program once: attach, bpf_iter_create, read until EOF, detach. Returns its output. */
  iterRead(prog: string): Buffer;
  /**
   * Keys and values are raw bytes of exactly keySize / valueSize; for per-CPU maps the value is
   * roundUp(valueSize, 8) × numPossibleCpus() bytes (one slot per CPU). Returns null if absent.
   */
  mapLookup(map: string, key: Buffer): Buffer | null;
  /** flags: BPF_ANY = 0 (create or replace), BPF_NOEXIST = 1 (create), BPF_EXIST = 2 (replace). */
  mapUpdate(map: string, key: Buffer, value: Buffer, flags: number): void;
  /** Returns false if the key was absent (ENOENT). */
  mapDelete(map: string, key: Buffer): boolean;
  /** Key after `key` (first key when null); null at the end. */
  mapNextKey(map: string, key: Buffer | null): Buffer | null;
  /**
   * Frees the object: its program and map fds. Idempotent. Links returned by attach*() are separate
   * objects and stay attached (their programs keep running) until destroyed; a RingReader keeps its
   * own reference to its map and keeps working until stopped.
   */
  close(): void;
  /** Before load(): the kernel function a BTF-typed program (fentry, fexit, fmod_ret) attaches to, or the event of a raw tracepoint (tp_btf). */
  setAttachTarget(prog: string, funcName: string): void;
  /** A kprobe (or kretprobe) program on the named kernel function, whatever its section says. */
  attachKprobe(prog: string, funcName: string, retprobe: boolean): BpfLink;
  /**
   * Before load(): this object's map `map` becomes `from`'s map of the same name (which must be
   * created): both objects' programs then work on one map.
   */
  reuseMap(map: string, from: BpfObject): void;
}

/** One attachment. Detached by destroy() or, if still attached, when garbage-collected: keep a reference. */
export declare class BpfLink {
  private constructor();
  /** Detaches. Idempotent. */
  destroy(): void;
}

export interface RingReaderOptions {
  /** How often the ring is drained (the BPF side submits with BPF_RB_NO_WAKEUP). Default 5, min 1. */
  pollIntervalMs?: number;
  /** A batch is handed over once it reaches this size (or at the end of a drain round). Default 262144. */
  batchBytes?: number;
  /** Bound of the queue towards JavaScript; a batch that finds it full is dropped. Default 64. */
  maxQueuedBatches?: number;
}

export interface RingReaderStats {
  /** Records, batches and bytes (framing included) handed to JavaScript. */
  records: number;
  batches: number;
  bytes: number;
  /** Batches (and the records in them) read from the ring but dropped because the queue was full. */
  droppedBatches: number;
  droppedRecords: number;
}

/**
 * Drains a BPF_MAP_TYPE_RINGBUF map on a native thread. onBatch receives one Buffer per batch, a
 * sequence of records each framed as `[u32 length LE][u32 0][length bytes][zero pad to 8]`. While
 * running, the reader keeps the process alive and cannot be garbage-collected. An exception thrown
 * by onBatch surfaces as an uncaught exception (as from a timer); the reader keeps running.
 */
export declare class RingReader {
  constructor(
    obj: BpfObject,
    mapName: string,
    onBatch: (batch: Buffer) => void,
    opts?: RingReaderOptions,
  );
  /**
   * Drains the ring one last time, stops and joins the thread, and releases the callback so the
   * process can exit. Batches read before stop() are delivered on later event-loop turns (in order,
   * unless the queue was full). Idempotent; may be called from onBatch.
   */
  stop(): void;
  stats(): RingReaderStats;
}

export interface FanotifyProbeResult {
  ok: boolean;
  /** 0 when ok. */
  errno: number;
  /** Empty when ok, else the failing call and strerror. */
  message: string;
}

/**
 * Whether a FAN_CLASS_CONTENT group can mark the filesystem holding markPath (FAN_MARK_FILESYSTEM)
 * for FAN_OPEN_EXEC_PERM ('exec') or FAN_OPEN_PERM ('open'). The group is closed at once.
 */
export declare function probeFanotify(markPath: string, mask: 'exec' | 'open'): FanotifyProbeResult;
/** Version of the libbpf actually loaded: '1.1.2' ('major.minor' if the file name has no patch level). */
export declare function libbpfVersion(): string;
export declare function numPossibleCpus(): number;
/** setrlimit(RLIMIT_MEMLOCK, infinity); false if not permitted (harmless on kernels ≥ 5.11). */
export declare function bumpMemlock(): boolean;

export interface FanotifyGuardOptions {
  /** A decision must be written within this many ms of reading the event, else FAN_ALLOW (timeouts). Default 250. */
  responseTimeoutMs: number;
  /**
   * If the responder makes no progress for this long while it has events in hand, the watchdog
   * answers them (and drains the kernel queue) with FAN_ALLOW itself (watchdogAllows). Default 1000.
   */
  watchdogMs: number;
  /** Bound of the report queue towards JavaScript; reports that find it full are dropped and counted. Default 64. */
  maxQueuedBatches: number;
  /** Test hook: the responder sleeps this long before deciding each event of another process. Default 0. */
  debugStallMs?: number;
  /** Test hook: the watchdog's answers fail (EIO), so it falls back to dropping the group. Default false. */
  debugFailWatchdog?: boolean;
  /**
   * The allow cache (default true): a file that no rule of the table can ever match — every rule of
   * that event kind names its files by inode or exact path, and this file is none of them — gets an
   * inode ignore mark for that kind after its first allowed event, so its later execs/opens are not
   * queued to the responder at all. Every setTable() flushes the cache; a write to the file drops its
   * mark. Marks are evictable (5.19+); on older kernels at most 16,384 are kept (then cacheFull).
   */
  allowCache?: boolean;
}

export interface FanotifyMask {
  /** FAN_OPEN_EXEC_PERM */
  exec: boolean;
  /** FAN_OPEN_PERM (every open(2) on the filesystem waits for the responder: mark only when needed). */
  open: boolean;
}

export interface FanotifyGuardStats {
  /** Events read from the group (by the responder or the watchdog). */
  events: number;
  /** Answered FAN_ALLOW by a decision (no match, an allow rule, a monitor rule, our own process). */
  allowed: number;
  /** Answered FAN_DENY (the caller gets EPERM). */
  denied: number;
  /** Allowed because the matching deny rule is in monitor mode (also counted in allowed). */
  monitored: number;
  /** Report records handed to JavaScript. */
  reported: number;
  /** Report records dropped because the queue towards JavaScript was full (the decision was still made). */
  droppedReports: number;
  /** Answered FAN_ALLOW undecided: past responseTimeoutMs, or a fact (/proc, fstat) could not be read. */
  timeouts: number;
  /** Answered FAN_ALLOW by the watchdog because the responder was stuck. */
  watchdogAllows: number;
  /** Allow-cache ignore marks added (each saves the responder every later event of that file and kind). */
  cached: number;
  /** setTable() calls that flushed the allow cache. */
  cacheFlushes: number;
  /** Files not cached because the pinned-mark limit was reached (kernels without FAN_MARK_EVICTABLE). */
  cacheFull: number;
  /** fanotify_mark() refusals while adding a cache mark (the event itself was answered). */
  cacheFailures: number;
  /** The group was dropped after answering failed (the kernel allowed everything pending); see reason. */
  failed: boolean;
  /** Empty unless failed. */
  reason: string;
}

/**
 * exec/open enforcement with fanotify permission events (FAN_CLASS_CONTENT, FAN_MARK_FILESYSTEM),
 * answered on a native responder thread from a decision table (layout: native/src/fanotify_table.h,
 * built by packages/collector/src/fanotify/table.ts) with a per-event timeout and a watchdog thread.
 * onEvents receives report batches (layout: native/src/fanotify_guard.h). Events of this process
 * are always allowed and never reported. Until a table is set everything is allowed. While open,
 * the guard keeps the process alive and cannot be garbage-collected.
 */
export declare class FanotifyGuard {
  constructor(onEvents: (batch: Buffer) => void, opts: FanotifyGuardOptions);
  /** FAN_MARK_ADD | FAN_MARK_FILESYSTEM on the filesystem holding path. procfs is refused (EINVAL). */
  mark(path: string, mask: FanotifyMask): void;
  /** FAN_MARK_REMOVE | FAN_MARK_FILESYSTEM of those bits; ENOENT if that filesystem was not marked. */
  unmark(path: string, mask: FanotifyMask): void;
  /** Validates the table fully (EINVAL with the reason, the current table stays) and swaps it in atomically. */
  setTable(table: Buffer): void;
  stats(): FanotifyGuardStats;
  /**
   * Removes every mark, answers FAN_ALLOW to every event read or still queued, drops the group,
   * joins the threads (a responder stuck in the kernel for over 2 s is left behind, detached) and
   * releases onEvents. Reports made before close() are still delivered. Idempotent.
   */
  close(): void;
}
