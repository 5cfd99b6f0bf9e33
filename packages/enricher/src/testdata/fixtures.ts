// Builders for raw records in tests.

import { ExecFlag } from '@peregrine/events';
import type { NamespaceInums, ProcessKey, RawClone, RawExec, RawExit } from '@peregrine/events';
import { createClock } from '../clock.js';
import type { Clock } from '../clock.js';

export const NODE = 'node-a';

export const HOST_NS: NamespaceInums = {
  uts: 4026531838,
  ipc: 4026531839,
  mnt: 4026531841,
  pid: 4026531836,
  pid_for_children: 4026531836,
  net: 4026531840,
  time: 4026531834,
  time_for_children: 4026531834,
  cgroup: 4026531835,
  user: 4026531837,
};

/** Wall time at monotonic 0 and at boot: 2023-10-06T00:00:00Z. */
export const EPOCH_NS = BigInt(Date.UTC(2023, 9, 6)) * 1_000_000n;

export function testClock(): Clock {
  return createClock({ wallNs: EPOCH_NS, monoNs: 0n, bootNs: 0n, nowMs: () => 0 });
}

export function key(pid: number, ktime: bigint | number): ProcessKey {
  return { pid, ktime: BigInt(ktime) };
}

export interface ExecSpec {
  parent?: ProcessKey | null;
  replaces?: ProcessKey | null;
  binary?: string;
  args?: string[];
  cwd?: string;
  flags?: number;
  ktime?: bigint;
  euid?: number;
  ns?: Partial<NamespaceInums>;
  setuid?: number | null;
}

export function exec(k: ProcessKey, spec: ExecSpec = {}): RawExec {
  const binary = spec.binary ?? '/usr/bin/true';
  const euid = spec.euid ?? 0;
  return {
    kind: 'exec',
    ktime: spec.ktime ?? k.ktime,
    key: k,
    parent: spec.parent ?? null,
    replaces: spec.replaces ?? null,
    tid: k.pid,
    flags: spec.flags ?? ExecFlag.execve,
    auid: 4294967295,
    creds: { uid: euid, gid: 0, euid, egid: 0, suid: euid, sgid: 0, fsuid: euid, fsgid: 0 },
    caps: { permitted: 0x1ffffffffffn, effective: 0x1ffffffffffn, inheritable: 0n },
    ns: { ...HOST_NS, ...spec.ns },
    cgroupId: 1234n,
    cgroupName: 'session-1.scope',
    binary,
    args: spec.args ?? [binary],
    cwd: spec.cwd ?? '/',
    setuid: spec.setuid ?? null,
    setgid: null,
  };
}

export function clone(k: ProcessKey, parent: ProcessKey, ktime: bigint = k.ktime): RawClone {
  return { kind: 'clone', ktime, key: k, parent, tid: k.pid, flags: ExecFlag.clone, cgroupId: 1234n };
}

export function exit(k: ProcessKey, ktime: bigint, status = 0, signal = 0): RawExit {
  return { kind: 'exit', ktime, key: k, tid: k.pid, status, signal };
}
