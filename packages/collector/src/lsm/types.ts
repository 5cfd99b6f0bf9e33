// What the policy compiler hands the bpf_lsm backend: one LsmHook per TracingPolicy `lsmhooks:` entry.
// Selectors are the syscall backend's compiled shapes (syscall/types.ts), evaluated by the same kernel
// engine over "argument slots": values an LSM program extracts from the hook's kernel objects.
import type { CompiledSelector, IntArgType } from '../syscall/types.js';
import type { LsmHookName, LsmSrcName } from './layout.js';

/** One argument slot: what the program extracts, from which LSM argument, and how selectors see it. */
export interface LsmSlot {
  src: LsmSrcName;
  /** LSM hook argument (0-based) it is read from. */
  index: number;
  /** 'string' for paths and sockaddr addresses; an int type otherwise. */
  type: 'string' | IntArgType;
  /** The policy's declared type (linux_binprm, file, path, sockaddr, int…) and label, for reports. */
  declared: string;
  label?: string;
}

/** A DAddr/SAddr filter: CIDRs as {family byte, prefix of the address} LPM keys. */
export interface AddrFilter {
  selector: number;
  /** Position of the filter in the selector's matchArgs. */
  filter: number;
  cidrs: { family: 4 | 6; addr: Buffer; prefix: number }[];
}

export interface LsmHook {
  /** Unique among the hooks applied together; reported in every record (u32). */
  id: number;
  policy: string;
  hook: LsmHookName;
  slots: LsmSlot[];
  /** Evaluated in order, the first that matches decides; none: every call is reported. */
  selectors: CompiledSelector[];
  /** Per selector: the errno an Override returns (negative), 0 for none. */
  errors: number[];
  addrFilters: AddrFilter[];
  /** Report what the actions would do, do nothing (policy-mode monitor). */
  monitor: boolean;
  message?: string;
  tags?: string[];
}
