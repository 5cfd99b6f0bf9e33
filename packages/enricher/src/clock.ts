// Kernel timestamps → wall-clock time.
//
// bpf_ktime_get_ns() reads CLOCK_MONOTONIC, the clock behind process.hrtime.bigint(). The clock samples
// wall time and monotonic time once and converts every ktime with that fixed offset, as Tetragon does
// (pkg/ktime); later wall-clock steps (NTP, settimeofday) do not move already-seen processes.
//
// Entries found in /proc at start have boot-time based start times instead: /proc/<pid>/stat starttime
// is in clock ticks (USER_HZ = 100, i.e. 10 ms resolution) of CLOCK_BOOTTIME, which keeps counting
// during suspend. boottimeToIso converts those using the boot time derived from /proc/uptime, itself
// truncated to 10 ms; when the system never suspended (uptime agrees with the monotonic clock within
// that 10 ms) the monotonic clock is used as boot time, so both conversions share one offset.

import { readFileSync } from 'node:fs';
import { createIsoFormatter } from './iso-time.js';

export interface Clock {
  /** CLOCK_MONOTONIC ns (bpf_ktime_get_ns) → RFC3339 UTC with nanoseconds. */
  ktimeToIso(ktime: bigint): string;
  /** CLOCK_BOOTTIME ns (ns since boot, e.g. /proc/<pid>/stat starttime × 10 ms) → RFC3339 UTC. */
  boottimeToIso(ns: bigint): string;
  /** Milliseconds on a monotonic scale: the time base of Enricher.process/tick `nowMs`. */
  nowMs(): number;
}

export interface ClockOptions {
  /** Wall-clock ns since the Unix epoch at the sampling instant (default: sampled). */
  wallNs?: bigint;
  /** CLOCK_MONOTONIC ns at the same instant (default: sampled). */
  monoNs?: bigint;
  /** CLOCK_BOOTTIME ns at the same instant (default: from /proc/uptime when sampling, else monoNs). */
  bootNs?: bigint;
  /** Source of nowMs() (default: performance.now()). */
  nowMs?: () => number;
}

const NS_PER_MS = 1_000_000n;
const UPTIME_RESOLUTION_NS = 10n * NS_PER_MS;

export function createClock(options: ClockOptions = {}): Clock {
  let { wallNs, monoNs, bootNs } = options;
  if (wallNs === undefined || monoNs === undefined) {
    const s = sampleWallAndMono();
    wallNs = s.wallNs;
    monoNs = s.monoNs;
    bootNs ??= readBoottime(monoNs);
  }
  bootNs ??= monoNs;
  const monoOffset = wallNs - monoNs;
  const bootOffset = wallNs - bootNs;
  const formatMono = createIsoFormatter();
  const formatBoot = createIsoFormatter();
  const nowMs = options.nowMs ?? (() => performance.now());
  return {
    ktimeToIso: (ktime) => formatMono(ktime + monoOffset),
    boottimeToIso: (ns) => formatBoot(ns + bootOffset),
    nowMs,
  };
}

/**
 * Samples the monotonic clock right at a Date.now() millisecond edge, so the ms-resolution wall clock is
 * exact to about a microsecond there (spins at most ~1 ms, once).
 */
function sampleWallAndMono(): { wallNs: bigint; monoNs: bigint } {
  const start = Date.now();
  const deadline = process.hrtime.bigint() + 2n * NS_PER_MS;
  for (;;) {
    const mono = process.hrtime.bigint();
    const wall = Date.now();
    if (wall !== start || mono > deadline) return { wallNs: BigInt(wall) * NS_PER_MS, monoNs: mono };
  }
}

/** CLOCK_BOOTTIME at the instant `monoNs` (≈ now), from /proc/uptime; undefined where that is unreadable. */
function readBoottime(monoNs: bigint): bigint | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/uptime', 'latin1');
  } catch {
    return undefined;
  }
  const uptime = parseUptimeNs(text);
  if (uptime === undefined) return undefined;
  const elapsed = process.hrtime.bigint() - monoNs; // time spent since sampling
  const low = uptime - elapsed; // /proc/uptime truncates: true boottime ∈ [low, low + 10 ms)
  if (monoNs >= low && monoNs < low + UPTIME_RESOLUTION_NS) return monoNs; // never suspended
  return low + UPTIME_RESOLUTION_NS / 2n;
}

/** "517.12 911.00\n" → 517_120_000_000n. */
export function parseUptimeNs(text: string): bigint | undefined {
  const m = /^(\d+)\.(\d{1,9})\s/.exec(text);
  if (!m || m[1] === undefined || m[2] === undefined) return undefined;
  return BigInt(m[1]) * 1_000_000_000n + BigInt(m[2].padEnd(9, '0'));
}
