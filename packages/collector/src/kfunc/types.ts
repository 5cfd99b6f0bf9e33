// What the policy compiler hands the kfunc backend: one KfuncHook per TracingPolicy `kprobes:` entry on a
// kernel function (or a syscall with Override). Selectors are the syscall backend's compiled shapes,
// evaluated by the same kernel engine over "argument slots" the programs fill from the function's
// arguments (an int, a string, the path behind a struct file, a field of a struct sock…).
import type { CompiledSelector, IntArgType } from '../syscall/types.js';
import type { KfKindName, KfSrcName } from './layout.js';

/** One argument slot: what the program extracts, from which function argument, and how selectors see it. */
export interface KfuncSlot {
  src: KfSrcName;
  /** Function argument (0-based) it is read from; for a raw tracepoint, TP_PROTO argument (after __data). */
  index: number;
  /** 'string' for strings, paths and addresses; an int type otherwise. */
  type: 'string' | IntArgType;
  /** KF_SRC_BUF: function argument holding the length. */
  lenIndex?: number;
  /** The policy's declared type (file, sock, int…) and label, for reports. */
  declared: string;
  label?: string;
}

/** A DAddr/SAddr filter: CIDRs as {family byte, prefix of the address} LPM keys. */
export interface KfuncAddrFilter {
  selector: number;
  /** Position of the filter in the selector's matchArgs. */
  filter: number;
  cidrs: { family: 4 | 6; addr: Buffer; prefix: number }[];
}

export interface KfuncHook {
  /** Unique among the hooks applied together; reported in every record (u32). */
  id: number;
  policy: string;
  /** The policy's `call` (sys_openat, security_file_open); `subsystem/event` for a raw tracepoint. */
  call: string;
  /** The kernel function the program attaches to (__x64_sys_openat for a syscall); the event of a raw tracepoint. */
  func: string;
  /**
   * How to attach: fentry (falls back to kprobe where fentry does not load), kprobe, fmod_ret (may
   * Override), syscall (fmod_ret on the syscall's __x64_sys_* entry, arguments from its user pt_regs),
   * tp_btf (a raw tracepoint: its TP_PROTO arguments; observes only).
   */
  kind: KfKindName;
  /** Report at return, with the return value (a kretprobe on the function). */
  return: boolean;
  slots: KfuncSlot[];
  /** Evaluated in order, the first that matches decides; none: every call is reported. */
  selectors: CompiledSelector[];
  /** Per selector: the errno an Override returns (negative), 0 for none. */
  errors: number[];
  addrFilters: KfuncAddrFilter[];
  /** Report what the actions would do, do nothing (policy-mode monitor). */
  monitor: boolean;
  message?: string;
  tags?: string[];
}
