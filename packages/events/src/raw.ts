// Raw events: what the collector decodes from the kernel (or from procfs at start), before enrichment.
// They mirror the wire records in bpf/lib/msg_types.h but are plain typed objects.

/** Identity of one process image: its tgid and the monotonic ktime (ns) at which the image began. */
export interface ProcessKey {
  pid: number;
  ktime: bigint;
}

/** Bits of RawExec.flags / RawClone.flags; the same values as EVENT_* in bpf/lib/msg_types.h. */
export const ExecFlag = {
  execve: 0x1,
  procFS: 0x2,
  clone: 0x4,
  truncArgs: 0x8,
  miss: 0x10,
  errPath: 0x20,
  errCwd: 0x40,
  errArgs: 0x80,
  truncPath: 0x100,
  truncCwd: 0x200,
  rootcwd: 0x400,
  noParent: 0x800,
} as const;
export type ExecFlagName = keyof typeof ExecFlag;

export interface Capabilities {
  permitted: bigint;
  effective: bigint;
  inheritable: bigint;
}

/** Namespace inode numbers; 0 where the kernel has no such namespace. */
export interface NamespaceInums {
  uts: number;
  ipc: number;
  mnt: number;
  pid: number;
  pid_for_children: number;
  net: number;
  time: number;
  time_for_children: number;
  cgroup: number;
  user: number;
}

export interface Credentials {
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  suid: number;
  sgid: number;
  fsuid: number;
  fsgid: number;
}

export interface RawExec {
  kind: 'exec';
  /** Monotonic ns when the kernel saw the event. */
  ktime: bigint;
  key: ProcessKey;
  /** The image this one descends from (the forking process, or the previous image for exec without fork). */
  parent: ProcessKey | null;
  /** The image this exec replaces in the same pid (its clone or its previous exec); null when unknown. */
  replaces: ProcessKey | null;
  tid: number;
  /** ExecFlag bits. */
  flags: number;
  auid: number;
  creds: Credentials;
  caps: Capabilities;
  ns: NamespaceInums;
  cgroupId: bigint;
  cgroupName: string;
  binary: string;
  args: string[];
  cwd: string;
  /** Set when the executed file is setuid/setgid and the exec changed the effective id to its owner. */
  setuid: number | null;
  setgid: number | null;
}

export interface RawClone {
  kind: 'clone';
  ktime: bigint;
  key: ProcessKey;
  parent: ProcessKey;
  tid: number;
  flags: number;
  cgroupId: bigint;
}

export interface RawExit {
  kind: 'exit';
  ktime: bigint;
  key: ProcessKey;
  tid: number;
  /** Exit status (0..255) as the parent's wait() would see it in WEXITSTATUS. */
  status: number;
  /** Terminating signal number, 0 if the process exited normally. */
  signal: number;
}

export type RawEvent = RawExec | RawClone | RawExit;
