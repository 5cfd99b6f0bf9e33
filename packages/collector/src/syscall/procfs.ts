// What the kernel side cannot know about processes older than the backend: their executables
// (sel_exe_map, for matchBinaries) and, for matchPIDs followForks, which of them descend from a
// followed pid (sel_lineage). Both are read from /proc.
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { kernelDev } from './compile.js';
import { ExeFlag, SEL, SEL_LAYOUTS as L } from './layout.js';

export interface ProcExe {
  pid: number;
  value: Buffer; // struct sel_exe
}

function pids(procRoot: string): number[] {
  return readdirSync(procRoot).filter((d) => /^\d+$/.test(d)).map(Number);
}

/** struct sel_exe for a path and its stat. */
export function encodeExe(path: string, dev: bigint, ino: bigint, flags: number): Buffer {
  const E = L.sel_exe.fields;
  const v = Buffer.alloc(L.sel_exe.size);
  let bytes = Buffer.from(path);
  if (bytes.length > SEL.STR_MAX - 1) {
    bytes = bytes.subarray(0, SEL.STR_MAX - 1);
    flags |= ExeFlag.TRUNC;
  }
  v.writeUInt32LE(kernelDev(dev), E.dev);
  v.writeUInt32LE(flags, E.flags);
  v.writeBigUInt64LE(ino, E.ino);
  v.writeUInt32LE(bytes.length, E.len);
  bytes.copy(v, E.path);
  return v;
}

/** Every user process's executable (kernel threads and processes that exit meanwhile are skipped). */
export function readExecutables(procRoot = '/proc'): ProcExe[] {
  const out: ProcExe[] = [];
  for (const pid of pids(procRoot)) {
    try {
      const path = readlinkSync(`${procRoot}/${pid}/exe`);
      const st = statSync(`${procRoot}/${pid}/exe`, { bigint: true });
      out.push({ pid, value: encodeExe(path, st.dev, st.ino, ExeFlag.PROCFS) });
    } catch {
      // kernel thread (no exe), or gone
    }
  }
  return out;
}

/** ppid of every process in /proc. */
export function readParents(procRoot = '/proc'): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids(procRoot)) {
    try {
      const stat = readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, Number(rest[1]));
    } catch {
      // gone
    }
  }
  return out;
}

/** Descendants (not including the roots) of each root → OR of the roots' bits. */
export function descendantBits(parents: Map<number, number>, roots: Map<number, number>): Map<number, bigint> {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents) {
    const l = children.get(ppid) ?? [];
    l.push(pid);
    children.set(ppid, l);
  }
  const out = new Map<number, bigint>();
  for (const [root, bit] of roots) {
    const stack = [...(children.get(root) ?? [])];
    while (stack.length > 0) {
      const pid = stack.pop()!;
      out.set(pid, (out.get(pid) ?? 0n) | (1n << BigInt(bit)));
      stack.push(...(children.get(pid) ?? []));
    }
  }
  return out;
}

/**
 * followChildren at apply: every process whose executable is one of a bit's values, and every
 * descendant of one, gets the bit (the kernel side does the same for processes exec'd from now on).
 */
export function followChildrenSeed(
  procRoot: string,
  lists: Map<number, { path: string; dev?: number; ino?: bigint }[]>,
): Map<number, bigint> {
  const roots = new Map<number, bigint>();
  for (const pid of pids(procRoot)) {
    let path: string;
    let dev: number;
    let ino: bigint;
    try {
      path = readlinkSync(`${procRoot}/${pid}/exe`);
      const st = statSync(`${procRoot}/${pid}/exe`, { bigint: true });
      dev = kernelDev(st.dev);
      ino = st.ino;
    } catch {
      continue;
    }
    for (const [bit, values] of lists) {
      if (values.some((v) => v.path === path || (v.dev === dev && v.ino === ino))) {
        roots.set(pid, (roots.get(pid) ?? 0n) | (1n << BigInt(bit)));
      }
    }
  }
  if (roots.size === 0) return roots;
  const parents = readParents(procRoot);
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const out = new Map(roots);
  for (const [root, bits] of roots) {
    const stack = [...(children.get(root) ?? [])];
    while (stack.length > 0) {
      const pid = stack.pop()!;
      out.set(pid, (out.get(pid) ?? 0n) | bits);
      stack.push(...(children.get(pid) ?? []));
    }
  }
  return out;
}
