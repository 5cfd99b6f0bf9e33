// The enricher: raw exec/clone/exit records in, Tetragon-shaped process_exec / process_exit events out.
//
// Synchronous and single-threaded. Records that reference an image not yet seen (a child listed before
// its parent in the /proc walk, an exit read before its exec) are parked and emitted, in arrival order,
// right after the record that unblocks them; tick() releases those that waited too long, with what is
// known. Every degraded path is counted in stats(), never logged.

import { ExecFlag } from '@peregrine/events';
import type {
  PeregrineEvent,
  Process,
  ProcessExec,
  ProcessExecEvent,
  ProcessExit,
  ProcessExitEvent,
  ProcessKey,
  RawClone,
  RawEvent,
  RawExec,
  RawExit,
} from '@peregrine/events';
import { createClock } from './clock.js';
import type { Clock } from './clock.js';
import { flagsString } from './flags.js';
import { resolveOptions } from './options.js';
import type { EnricherOptions } from './options.js';
import { PendingQueue, ReadyHeap } from './pending.js';
import type { Parked } from './pending.js';
import { ProcessBuilder } from './process-builder.js';
import { ProcessCache } from './process-cache.js';
import type { CacheEntry } from './process-cache.js';
import { signalName } from './signals.js';
import type { EnricherStats } from './stats.js';

interface PidImage {
  id: string;
  /** ktime the image began (its exec, or the fork for a child that has not exec'd). */
  since: bigint;
  /** The image before it (kept by value: a replaced clone image leaves the cache at once). */
  prev: { since: bigint; ctx: { process: Process; parent?: Process } } | null;
}

export class Enricher {
  private readonly nodeName: string;
  private readonly enableAncestors: boolean;
  private readonly pendingTimeoutMs: number;
  private readonly clock: Clock;
  private readonly builder: ProcessBuilder;
  private readonly cache: ProcessCache;
  private readonly pending: PendingQueue;
  private readonly ready = new ReadyHeap();
  /**
   * The image each live pid runs now (exec_id and the ktime it began), and the one before it: policy
   * events name a pid and a time, and a report can be read after its process exec'd again.
   */
  private readonly byPid = new Map<number, PidImage>();
  /** The largest ktime of the records handled so far: every record up to it has been seen. */
  private watermark = 0n;
  /** The last image of recently exited pids: a policy report may be read after its process's exit. */
  private readonly exitedByPid = new Map<number, { process: Process; parent?: Process }>();
  private static readonly EXITED_KEPT = 4096;
  private readonly counters = {
    parentMisses: 0,
    outOfOrder: 0,
    pendingDropped: 0,
    pendingTimeouts: 0,
    execs: 0,
    exits: 0,
    clones: 0,
    unknownExits: 0,
    duplicates: 0,
  };

  constructor(options: EnricherOptions) {
    const o = resolveOptions(options);
    this.nodeName = o.nodeName;
    this.enableAncestors = o.enableAncestors;
    this.pendingTimeoutMs = o.pendingTimeoutMs;
    this.clock = options.clock ?? createClock();
    this.builder = new ProcessBuilder(o.nodeName, o.hostNs, this.clock, {
      cred: o.processCred,
      ns: o.processNs,
    });
    this.cache = new ProcessCache(o.cacheSize, o.releaseDelayMs);
    this.pending = new PendingQueue(o.pendingMax);
  }

  /**
   * Handles one raw record; returns the events ready now, in causal order: this record's own event (if
   * any) followed by parked events it unblocked. `nowMs` is on the clock's nowMs() scale.
   */
  process(raw: RawEvent, nowMs: number = this.clock.nowMs()): PeregrineEvent[] {
    const out: PeregrineEvent[] = [];
    if (raw.kind === 'exec') this.counters.execs++;
    else if (raw.kind === 'exit') this.counters.exits++;
    else this.counters.clones++;
    if (raw.ktime > this.watermark) this.watermark = raw.ktime;
    this.handle(raw, nowMs, out, false);
    this.drain(nowMs, out);
    return out;
  }

  /**
   * Releases parked events that waited more than pendingTimeoutMs, emitting them without the image they
   * waited for (flag miss, no parent; an exit becomes an unknown exit); also removes lingering released
   * images older than releaseDelayMs. Call it periodically, with the same time base as process().
   */
  tick(nowMs: number): PeregrineEvent[] {
    const out: PeregrineEvent[] = [];
    for (let p = this.pending.oldestExpired(nowMs, this.pendingTimeoutMs); p; p = this.pending.oldestExpired(nowMs, this.pendingTimeoutMs)) {
      // If what p waits for is itself parked (a chain of children before parents), release the top of the
      // chain first: it alone misses its parent, and everything below it resolves with parents, in order.
      const root = this.chainRoot(p);
      this.pending.take(root);
      this.counters.pendingTimeouts++;
      this.handle(root.raw, nowMs, out, true);
      this.drain(nowMs, out);
    }
    this.cache.collect(nowMs);
    return out;
  }

  stats(): EnricherStats {
    return {
      cacheSize: this.cache.size,
      cacheEvictions: this.cache.evictions,
      parked: this.pending.size,
      ...this.counters,
    };
  }

  /** The cached process image with this exec_id, if any (does not affect LRU order). */
  lookup(execId: string): Process | undefined {
    return this.cache.peek(execId)?.process;
  }

  /**
   * The process context of a policy event: the image pid ran at ktime `atNs` (default: now), with its
   * parent — the image before the last exec (or the fork's) when the event predates that exec.
   */
  processOfPid(pid: number, atNs?: bigint): { process: Process; parent?: Process } | undefined {
    const img = this.byPid.get(pid);
    if (img === undefined) return this.exitedByPid.get(pid);
    if (atNs !== undefined && atNs < img.since && img.prev !== null && atNs >= img.prev.since) return img.prev.ctx;
    return this.contextOf(img.id) ?? this.exitedByPid.get(pid);
  }

  private contextOf(id: string): { process: Process; parent?: Process } | undefined {
    const entry = this.cache.peek(id);
    if (entry === undefined) return undefined;
    const parent = this.cache.parentOf(entry);
    return parent === null ? { process: entry.process } : { process: entry.process, parent: parent.process };
  }

  /** Every process record with a ktime up to this one has been handled (0n before the first). */
  watermarkNs(): bigint {
    return this.watermark;
  }

  /** CLOCK_MONOTONIC ns → the RFC3339 time the events carry. */
  ktimeToIso(ns: bigint): string {
    return this.clock.ktimeToIso(ns);
  }

  private setImage(pid: number, id: string, since: bigint): void {
    const cur = this.byPid.get(pid);
    const ctx = cur === undefined ? undefined : this.contextOf(cur.id);
    this.byPid.set(pid, { id, since, prev: cur === undefined || ctx === undefined ? null : { since: cur.since, ctx } });
  }

  /** The exec_id this enricher gives the image `key`. */
  execIdOf(key: ProcessKey): string {
    return this.builder.execId(key);
  }

  /** `forced`: do not park; handle with what is known now. */
  private handle(raw: RawEvent, nowMs: number, out: PeregrineEvent[], forced: boolean): void {
    switch (raw.kind) {
      case 'exec':
        return this.exec(raw, nowMs, out, forced);
      case 'clone':
        return this.clone(raw, nowMs, forced);
      case 'exit':
        return this.exit(raw, nowMs, out, forced);
    }
  }

  private exec(raw: RawExec, nowMs: number, out: PeregrineEvent[], forced: boolean): void {
    const b = this.builder;
    const id = b.execId(raw.key);
    if (this.cache.has(id)) {
      this.counters.duplicates++;
      return;
    }
    let parent: CacheEntry | undefined;
    let parentId: string | undefined;
    let extraFlags = 0;
    if (raw.parent !== null) {
      parentId = b.parentExecId(raw.parent);
      parent = this.cache.get(parentId);
      if (parent === undefined) {
        if (!forced && this.park(raw, parentId, id, nowMs)) return;
        extraFlags = ExecFlag.miss;
      }
    }
    const process = b.fromExec(raw, id, parentId, extraFlags);
    // Insert (taking the reference on the parent) before releasing the replaced image: for an exec without
    // fork the replaced image is the parent and must not reach refcount 0 in between.
    const entry = this.cache.insert(process, parent ?? null, nowMs);
    this.setImage(raw.key.pid, id, raw.key.ktime);
    if (raw.replaces !== null) {
      const replaced = sameKey(raw.replaces, raw.parent) ? parent : this.cache.peek(b.execId(raw.replaces));
      if (replaced !== undefined) this.cache.exited(replaced, nowMs);
    }

    const body = { process } as ProcessExec;
    if (parent !== undefined) {
      body.parent = parent.process;
      const ancestors = this.ancestors(parent);
      if (ancestors !== undefined) body.ancestors = ancestors;
    } else if (parentId !== undefined) {
      this.counters.parentMisses++;
    }
    const ev: ProcessExecEvent = { process_exec: body, node_name: this.nodeName, time: this.clock.ktimeToIso(raw.ktime) };
    out.push(ev);
    this.wake(entry.execId);
  }

  private clone(raw: RawClone, nowMs: number, forced: boolean): void {
    const b = this.builder;
    const id = b.execId(raw.key);
    if (this.cache.has(id)) {
      this.counters.duplicates++;
      return;
    }
    const parentId = b.parentExecId(raw.parent);
    const parent = this.cache.get(parentId);
    let process: Process;
    if (parent !== undefined) {
      process = b.fromClone(raw, id, parent.process, 0);
    } else {
      if (!forced && this.park(raw, parentId, id, nowMs)) return;
      process = b.unknown(raw.key, raw.key.pid, id, flagsString(raw.flags | ExecFlag.clone | ExecFlag.miss), parentId);
    }
    this.cache.insert(process, parent ?? null, nowMs);
    this.setImage(raw.key.pid, id, raw.key.ktime);
    this.wake(id);
  }

  private exit(raw: RawExit, nowMs: number, out: PeregrineEvent[], forced: boolean): void {
    const id = this.builder.execId(raw.key);
    const entry = this.cache.get(id);
    let process: Process;
    let parent: CacheEntry | null = null;
    if (entry !== undefined) {
      process = entry.process;
      parent = this.cache.parentOf(entry);
    } else {
      if (!forced && this.park(raw, id, undefined, nowMs)) return;
      this.counters.unknownExits++;
      process = this.builder.unknown(raw.key, raw.tid, id, 'unknown');
    }

    const time = this.clock.ktimeToIso(raw.ktime);
    const body = { process } as ProcessExit;
    if (parent !== null) {
      body.parent = parent.process;
      const ancestors = this.ancestors(parent);
      if (ancestors !== undefined) body.ancestors = ancestors;
    } else if (process.parent_exec_id !== undefined) {
      this.counters.parentMisses++;
    }
    if (raw.signal !== 0) body.signal = signalName(raw.signal);
    body.status = raw.status;
    body.time = time;
    const ev: ProcessExitEvent = { process_exit: body, node_name: this.nodeName, time };
    out.push(ev);
    if (this.byPid.get(raw.key.pid)?.id === id) {
      this.byPid.delete(raw.key.pid);
      this.exitedByPid.delete(raw.key.pid);
      this.exitedByPid.set(raw.key.pid, parent === null ? { process } : { process, parent: parent.process });
      if (this.exitedByPid.size > Enricher.EXITED_KEPT) this.exitedByPid.delete(this.exitedByPid.keys().next().value!);
    }
    if (entry !== undefined) this.cache.exited(entry, nowMs);
  }

  /** The parent's parent … up to the root or the first image no longer cached, nearest first. */
  private ancestors(parent: CacheEntry): Process[] | undefined {
    if (!this.enableAncestors) return undefined;
    let a = this.cache.parentOf(parent);
    if (a === null) return undefined;
    const list: Process[] = [];
    for (; a !== null; a = this.cache.parentOf(a)) list.push(a.process);
    return list;
  }

  private park(raw: RawEvent, waitFor: string, self: string | undefined, nowMs: number): boolean {
    if (this.pending.park(raw, waitFor, self, nowMs)) {
      this.counters.outOfOrder++;
      return true;
    }
    this.counters.pendingDropped++;
    return false;
  }

  /** Queues the events that waited for `execId`, now cached. */
  private wake(execId: string): void {
    const waiting = this.pending.takeWaitingFor(execId);
    if (waiting !== undefined) for (const p of waiting) this.ready.push(p);
  }

  /** Handles unblocked events, oldest arrival first (each may unblock more). */
  private drain(nowMs: number, out: PeregrineEvent[]): void {
    for (let p = this.ready.pop(); p !== undefined; p = this.ready.pop()) this.handle(p.raw, nowMs, out, false);
  }

  private chainRoot(p: Parked): Parked {
    let root = p;
    for (let steps = this.pending.size; steps > 0; steps--) {
      const up = this.pending.creating(root.waitFor);
      if (up === undefined || up === root) break;
      root = up;
    }
    return root;
  }
}

function sameKey(a: ProcessKey, b: ProcessKey | null): boolean {
  return b !== null && a.pid === b.pid && a.ktime === b.ktime;
}
