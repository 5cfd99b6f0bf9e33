// The fanotify enforcement backend: compiles exec/open rules into the decision table, resolves the
// paths they name to (dev, ino) at apply time, marks only the filesystems (and only the event kinds)
// the rules need, and turns the responder's report batches into typed reports. The decisions
// themselves are made on the native responder thread, never here.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { FanotifyGuard, FanotifyGuardStats } from '@peregrine/native';
import { bpfCall, native } from '../native.js';
import { decodeFanotifyReports, type FanotifyReport } from './reports.js';
import { encodeFanotifyTable, type FanotifyEventKind, type FanotifyRule, type FanotifyValue, type ProcOp } from './table.js';

/** A rule as policies state it: paths, not inodes. Evaluated in order, first match wins. */
export interface FanotifyPolicyRule {
  id: number;
  event: FanotifyEventKind;
  action: 'allow' | 'deny';
  /** Report what a deny would deny, but allow. */
  monitor?: boolean;
  /** Report allow matches too. */
  report?: boolean;
  /**
   * Omitted: every file. 'equal' matches the file's inode as resolved now (hard links, other mount
   * points) or its path (a file re-created later); 'prefix' / 'postfix' compare the path (byte-wise;
   * write a directory prefix with its trailing slash).
   */
  file?: { op: 'equal' | 'prefix' | 'postfix'; paths: string[] };
  /** The accessing process's executable; 'in'/'notIn' match by inode and by path. Omitted: any. */
  process?: { op: Exclude<ProcOp, 'any'>; paths: string[] };
}

export interface FanotifyBackendOptions {
  responseTimeoutMs?: number;
  watchdogMs?: number;
  maxQueuedBatches?: number;
  /**
   * Filesystems marked for rules that can match a file anywhere (no file condition, or 'postfix').
   * Default ['/']. Rules with 'equal'/'prefix' mark only the filesystems holding their paths.
   */
  anyFileMarkPaths?: string[];
  /** Test hook (see FanotifyGuardOptions.debugStallMs). */
  debugStallMs?: number;
  /** See FanotifyGuardOptions.allowCache (default true). */
  allowCache?: boolean;
}

export interface FanotifyMarkState {
  /** A path on the marked filesystem (the mark covers the whole filesystem). */
  path: string;
  dev: bigint;
  exec: boolean;
  open: boolean;
}

export interface FanotifyBackendStats extends FanotifyGuardStats {
  /** Report batches that did not decode (a layout mismatch: a bug). */
  decodeErrors: number;
  rules: number;
  marks: FanotifyMarkState[];
}

interface Resolved {
  table: FanotifyRule[];
  marks: Map<bigint, FanotifyMarkState>;
}

function tryStat(path: string): { dev: bigint; ino: bigint } | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

/** The path as given and, if it exists, as the kernel reports it (symlinks resolved: /bin → /usr/bin). */
function pathVariants(path: string): string[] {
  const trailing = path.length > 1 && path.endsWith('/');
  const bare = trailing ? path.slice(0, -1) : path;
  const out = new Set([path]);
  try {
    const real = realpathSync(bare);
    out.add(trailing && real !== '/' ? `${real}/` : real);
  } catch {
    // does not exist (yet): the path as written is what a later file will show
  }
  return [...out];
}

/** The closest existing ancestor (the path itself if it exists): what to mark for a path rule. */
function existingAncestor(path: string): string {
  let p = resolve(path);
  while (tryStat(p) === undefined && p !== '/') p = dirname(p);
  return p;
}

/** Mount points by userspace st_dev (glibc makedev encoding, as Node reports it). */
function mountPoints(): Map<bigint, string[]> {
  const out = new Map<bigint, string[]>();
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const [maj, min] = (f[2] ?? '').split(':').map((x) => BigInt(x || 0));
    if (f[4] === undefined || maj === undefined || min === undefined) continue;
    const dev = (maj & 0xfffn) << 8n | (maj & ~0xfffn) << 32n | (min & 0xffn) | (min & ~0xffn) << 12n;
    const point = f[4].replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    out.set(dev, [...(out.get(dev) ?? []), point]);
  }
  return out;
}

function resolveRules(rules: FanotifyPolicyRule[], anyFileMarkPaths: string[]): Resolved {
  const marks = new Map<bigint, FanotifyMarkState>();
  let mounts: Map<bigint, string[]> | undefined;
  const need = (path: string, event: FanotifyEventKind): void => {
    const st = tryStat(path);
    if (!st) throw new RangeError(`fanotify: cannot mark '${path}': it does not exist`);
    let m = marks.get(st.dev);
    if (!m) {
      // Marks are made (and later removed) through a mount point of the filesystem: unlike a
      // rule's path it does not go away while the filesystem is mounted.
      mounts ??= mountPoints();
      const point = (mounts.get(st.dev) ?? []).find((p) => tryStat(p)?.dev === st.dev) ?? path;
      m = { path: point, dev: st.dev, exec: false, open: false };
    }
    m[event] = true;
    marks.set(st.dev, m);
  };
  const table = rules.map((r): FanotifyRule => {
    let file: FanotifyRule['file'] = { op: 'any' };
    if (r.file && r.file.op !== 'postfix') {
      if (r.file.paths.length === 0) throw new RangeError(`fanotify rule ${r.id}: file.paths is empty`);
      const values: FanotifyValue[] = [];
      for (const p of r.file.paths) {
        if (!p.startsWith('/')) throw new RangeError(`fanotify rule ${r.id}: '${p}' is not an absolute path`);
        for (const v of pathVariants(p)) values.push({ kind: 'string', value: v });
        if (r.file.op === 'equal') {
          const st = tryStat(p);
          if (st) values.push({ kind: 'inode', ...st });
        }
        need(existingAncestor(p), r.event);
      }
      file = { op: r.file.op, values };
    } else {
      if (r.file) file = { op: 'postfix', values: r.file.paths.map((value) => ({ kind: 'string', value })) };
      for (const p of anyFileMarkPaths) need(p, r.event);
    }
    let proc: FanotifyRule['proc'] = { op: 'any' };
    if (r.process) {
      const byInode = r.process.op === 'in' || r.process.op === 'notIn';
      const prefix = r.process.op === 'prefix' || r.process.op === 'notPrefix';
      const values: FanotifyValue[] = [];
      for (const p of r.process.paths) {
        const variants = byInode || prefix ? pathVariants(p) : [p];
        for (const v of variants) values.push({ kind: 'string', value: v });
        const st = byInode ? tryStat(p) : undefined;
        if (st) values.push({ kind: 'inode', ...st });
      }
      proc = { op: r.process.op, values };
    }
    return {
      id: r.id,
      event: r.event,
      verdict: r.action,
      monitor: r.monitor ?? false,
      report: r.report ?? false,
      file,
      proc,
    };
  });
  return { table, marks };
}

export class FanotifyBackend {
  /** Called on the event loop with each report (decisions were made long before). */
  onReport: ((report: FanotifyReport) => void) | undefined;
  private guard: FanotifyGuard | undefined;
  private marks = new Map<bigint, FanotifyMarkState>();
  private ruleCount = 0;
  private decodeErrors = 0;
  private lastStats: FanotifyGuardStats | undefined;

  constructor(
    private readonly options: FanotifyBackendOptions = {},
    onReport?: (report: FanotifyReport) => void,
  ) {
    this.onReport = onReport;
  }

  /** Creates the fanotify group and its threads (nothing is marked until apply). Idempotent. */
  start(): void {
    if (this.guard) return;
    const o = this.options;
    this.guard = bpfCall(
      () =>
        new (native().FanotifyGuard)((batch) => this.onBatch(batch), {
          responseTimeoutMs: o.responseTimeoutMs ?? 250,
          watchdogMs: o.watchdogMs ?? 1000,
          maxQueuedBatches: o.maxQueuedBatches ?? 64,
          ...(o.debugStallMs !== undefined ? { debugStallMs: o.debugStallMs } : {}),
          ...(o.allowCache !== undefined ? { allowCache: o.allowCache } : {}),
        }),
    );
  }

  /**
   * Replaces the rules: resolves paths, adds the marks the new rules need, swaps the table, then
   * removes marks no longer needed. A failure leaves the previous rules and marks in force.
   */
  apply(rules: FanotifyPolicyRule[]): void {
    const guard = this.guard;
    if (!guard) throw new Error('FanotifyBackend.apply before start()');
    const { table, marks } = resolveRules(rules, this.options.anyFileMarkPaths ?? ['/']);
    const encoded = encodeFanotifyTable(table);
    const added: { path: string; mask: { exec: boolean; open: boolean } }[] = [];
    try {
      for (const [dev, want] of marks) {
        const cur = this.marks.get(dev);
        const mask = { exec: want.exec && !cur?.exec, open: want.open && !cur?.open };
        if (!mask.exec && !mask.open) continue;
        bpfCall(() => guard.mark(want.path, mask));
        added.push({ path: want.path, mask });
      }
      bpfCall(() => guard.setTable(encoded));
    } catch (e) {
      for (const a of added) this.tryUnmark(a.path, a.mask);
      throw e;
    }
    for (const [dev, cur] of this.marks) {
      const want = marks.get(dev);
      const mask = { exec: cur.exec && !want?.exec, open: cur.open && !want?.open };
      if (mask.exec || mask.open) this.tryUnmark(cur.path, mask);
      if (want) want.path = cur.path; // the mark was made through cur.path; remove it through it too
    }
    this.marks = marks;
    this.ruleCount = rules.length;
  }

  /** Closes the group: marks go, pending events are allowed by the kernel. Idempotent. */
  stop(): void {
    if (!this.guard) return;
    this.guard.close();
    this.lastStats = this.guard.stats();
    this.guard = undefined;
    this.marks.clear();
    this.ruleCount = 0;
  }

  stats(): FanotifyBackendStats {
    const s = this.guard?.stats() ??
      this.lastStats ?? {
        events: 0, allowed: 0, denied: 0, monitored: 0, reported: 0, droppedReports: 0,
        timeouts: 0, watchdogAllows: 0, cached: 0, cacheFlushes: 0, cacheFull: 0, cacheFailures: 0, failed: false, reason: '',
      };
    return { ...s, decodeErrors: this.decodeErrors, rules: this.ruleCount, marks: [...this.marks.values()].map((m) => ({ ...m })) };
  }

  private tryUnmark(path: string, mask: { exec: boolean; open: boolean }): void {
    try {
      this.guard?.unmark(path, mask);
    } catch {
      // the filesystem is gone (unmounted) or was never marked: nothing left to remove
    }
  }

  private onBatch(batch: Buffer): void {
    let reports: FanotifyReport[];
    try {
      reports = decodeFanotifyReports(batch);
    } catch {
      this.decodeErrors++;
      return;
    }
    const cb = this.onReport;
    if (cb) for (const r of reports) cb(r);
  }
}
