// What the policy compiler hands the syscall_tracepoint backend: one SyscallHook per TracingPolicy
// `kprobes:` entry with `syscall: true`. The shapes follow packages/policy's zod schema field for field
// (selectors → matchArgs/matchBinaries/matchPIDs/matchNamespaces/matchCapabilities/matchActions), with
// every value already parsed and resolved: integers as bigint, capability names as bits, `host_ns`
// as an inode number, executables as (dev, ino) where they exist. Nothing is left to parse later.

export const INT_ARG_TYPES = [
  'int', 'uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'int32', 'int64', 'sint8', 'sint16', 'sint32', 'sint64',
  'long', 'size_t', 'capability',
] as const;
export type IntArgType = (typeof INT_ARG_TYPES)[number];
/** `string`: a NUL-terminated user string; `char_buf`: user bytes whose length is argument sizeArgIndex - 1. */
export type StringArgType = 'string' | 'char_buf';
export type SyscallArgType = IntArgType | StringArgType;

export interface SyscallHookArg {
  /** Syscall argument 0..5. */
  index: number;
  type: SyscallArgType;
  label?: string;
  /** char_buf: 1-based index of the argument holding the length (Tetragon's convention). */
  sizeArgIndex?: number;
  /** char_buf or string read at sys_exit, after the syscall filled it (hooks with return: true; never filtered on). */
  returnCopy?: boolean;
}

export type StringOperator = 'Equal' | 'NotEqual' | 'Prefix' | 'NotPrefix' | 'Postfix' | 'NotPostfix';

/** matchArgs on a string or char_buf argument. */
export interface StringArgFilter {
  kind: 'string';
  /** The syscall argument (must be declared in args). */
  index: number;
  operator: StringOperator;
  values: string[];
  /**
   * Equal/NotEqual on a kernel path (BPF LSM and kernel-function file/path arguments): the (dev, ino)
   * each value names at apply, also matched, so a hard link or a renamed file is the same file.
   */
  inodes?: { dev: number; ino: bigint }[];
}

/** matchArgs on an integer argument; values already narrowed like the kernel narrows the register. */
export type IntArgFilter =
  | { kind: 'int'; index: number; operator: 'Equal' | 'NotEqual'; values: bigint[] }
  | { kind: 'int'; index: number; operator: 'GT' | 'LT'; value: bigint }
  /** Matches when (arg & mask) != 0; mask is the OR of the policy's values. */
  | { kind: 'int'; index: number; operator: 'Mask'; mask: bigint }
  | { kind: 'int'; index: number; operator: 'InRange' | 'NotInRange'; ranges: [bigint, bigint][] };

export type ArgFilter = StringArgFilter | IntArgFilter;

/** One executable named by matchBinaries: In/NotIn match its (dev, ino) when it existed at load, else its path. */
export interface BinaryValue {
  path: string;
  /** Kernel s_dev ((major << 20) | minor) and inode, when the path existed when the policy was compiled. */
  dev?: number;
  ino?: bigint;
}

export interface BinaryFilter {
  operator: 'In' | 'NotIn' | 'Prefix' | 'NotPrefix' | 'Postfix' | 'NotPostfix';
  values: BinaryValue[];
  /** In/NotIn: a process also matches when an ancestor ran one of the values (inherited across fork and exec). */
  followChildren?: boolean;
}

export interface PidFilter {
  operator: 'In' | 'NotIn';
  /**
   * Host pids: also every descendant forked after the backend started (or found under the pid in /proc
   * at apply). With namespacePid: the process or one of its 9 nearest real_parent ancestors (Tetragon).
   */
  followForks: boolean;
  /** isNamespacePID: the values are pids as each process's own pid namespace numbers it. */
  namespacePid?: boolean;
  values: number[];
}

export type NamespaceKind = 'Uts' | 'Ipc' | 'Mnt' | 'Pid' | 'PidForChildren' | 'Net' | 'Time' | 'TimeForChildren' | 'Cgroup' | 'User';

export interface NamespaceFilter {
  namespace: NamespaceKind;
  operator: 'In' | 'NotIn';
  /** Namespace inode numbers (`host_ns` resolved to the host's). */
  values: number[];
}

export interface CapabilityFilter {
  type: 'Effective' | 'Inheritable' | 'Permitted';
  /** In: the process holds at least one of them; NotIn: none of them. */
  operator: 'In' | 'NotIn';
  /** Bit i = capability number i. */
  mask: bigint;
}

export interface SelectorAction {
  /** Report the call (no NoPost action). */
  post: boolean;
  /** Signal sent to the calling process: 9 for Sigkill, argSig for Signal, 0 for none. */
  signal: number;
  /** rateLimit of the Post action in milliseconds, 0 for none. */
  rateLimitMs: number;
  rateLimitScope: 'thread' | 'process' | 'global';
  /** The policy's action names, for reports. */
  actions: string[];
}

export interface CompiledSelector {
  matchArgs: ArgFilter[];
  matchBinaries: BinaryFilter[];
  /** On the parent's executable; shares the SEL_MAX_BINF filters of a selector with matchBinaries. */
  matchParentBinaries?: BinaryFilter[];
  matchPIDs: PidFilter[];
  matchNamespaces: NamespaceFilter[];
  matchCapabilities: CapabilityFilter[];
  action: SelectorAction;
}

export interface SyscallHook {
  /** Unique among the hooks applied together; reported in every record (u32). */
  id: number;
  policy: string;
  /** Syscall name without prefix (openat) and its x86_64 number. */
  syscall: string;
  nr: number;
  /** Report at sys_exit, with the return value. */
  return?: boolean;
  args: SyscallHookArg[];
  /** Evaluated in order, the first that matches decides; none: every call is reported. */
  selectors: CompiledSelector[];
  /** Report what the actions would do, do nothing (policy-mode monitor). */
  monitor: boolean;
  message?: string;
  tags?: string[];
}
