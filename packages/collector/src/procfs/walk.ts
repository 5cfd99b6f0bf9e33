import { readdirSync } from 'node:fs';
import type { ProcessKey, RawExec } from '@peregrine/events';
import { isKernelThread, readProcess, readStat, type ProcStat } from './read-process.js';

/**
 * Every user-space process alive now, as procFS RawExecs, parents before children where both are
 * known. Kernel threads are skipped (they never exec and have no binary).
 */
export function walkProcfs(opts: { cgroup2Root: string | null; proc?: string }): RawExec[] {
  const proc = opts.proc ?? '/proc';
  const stats = new Map<number, ProcStat>();
  for (const name of readdirSync(proc)) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const st = readStat(pid, proc);
    if (st) stats.set(pid, st);
  }
  const out: RawExec[] = [];
  const depth = (pid: number): number => {
    let d = 0;
    for (let p = stats.get(pid); p && p.ppid > 0 && d < 4096; p = stats.get(p.ppid)) d++;
    return d;
  };
  const order = [...stats.values()].sort((a, b) => depth(a.pid) - depth(b.pid));
  for (const st of order) {
    const p = stats.get(st.ppid);
    const parent: ProcessKey | null = p && !isKernelThread(p) ? { pid: p.pid, ktime: p.startKtime } : null;
    const ev = readProcess(st, parent, opts.cgroup2Root, proc);
    if (ev) out.push(ev);
  }
  return out;
}
