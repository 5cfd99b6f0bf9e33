// Mirror of bpf/lib/sel_msg.h: the record the programs submit and the tables user space writes.
// layout.test.ts compares every struct here with the BTF of sel_alignchecker.o (and generic.o), so a
// change made on one side only fails the tests.
import type { StructLayout } from '../abi/layout.js';

export const MSG_OP_GENERIC_SYSCALL = 41;
/** The same record from a `tracepoints:` hook (generic_tp.o, SEL_HOOK_TP). */
export const MSG_OP_GENERIC_TRACEPOINT = 42;

export const SEL = {
  MAX_HOOKS: 64,
  MAX_CHAIN: 4,
  MAX_ARGS: 6,
  MAX_SELECTORS: 5,
  MAX_ARGF: 5,
  MAX_RANGES: 4,
  MAX_BINF: 4,
  MAX_PIDF: 4,
  /** isNamespacePID + followForks: the process and its 9 nearest ancestors (SEL_NSPID_LEVELS). */
  NSPID_LEVELS: 10,
  MAX_NSF: 10,
  MAX_CAPF: 3,
  STR_MAX: 256,
  LPM_STR: 252,
  NO_SLOT: 0xffff,
  /** sel_conf.nr_mask covers syscall numbers below this. */
  NR_MASK_BITS: 512,
  /** Value sets of both generations share maps of this many entries. */
  SET_ENTRIES: 65536,
  BIN_INO_ENTRIES: 4096,
  FOLLOW_ROOTS: 64,
} as const;

/**
 * RBUF/RSTR: returnCopy arguments, read at sys_exit (bpf/programs/syscall/rcopy.h); records carry BUF/STR for them.
 * PRE/PREBUF: a string / char_buf the attach point's program read (tracepoint fields, kfunc slots).
 * BUF and PREBUF slots start with a struct sel_msg_buf (the buffer's length), then the bytes.
 */
export const ArgKind = { INT: 1, STR: 2, BUF: 3, PRE: 4, RBUF: 5, RSTR: 6, PREBUF: 7 } as const;

export const ArgOp = {
  Equal: 1, NotEqual: 2, Prefix: 3, NotPrefix: 4, Postfix: 5, NotPostfix: 6, GT: 7, LT: 8, Mask: 9, InRange: 10,
  NotInRange: 11,
} as const;

export const BinOp = { In: 1, NotIn: 2, Prefix: 3, NotPrefix: 4, Postfix: 5, NotPostfix: 6 } as const;
export const SetOp = { In: 1, NotIn: 2 } as const;
export const NsKind = {
  Uts: 0, Ipc: 1, Mnt: 2, Pid: 3, PidForChildren: 4, Net: 5, Time: 6, TimeForChildren: 7, Cgroup: 8, User: 9,
} as const;
export const CapType = { Effective: 0, Inheritable: 1, Permitted: 2 } as const;
export const RateScope = { thread: 0, process: 1, global: 2 } as const;

/** Low byte of a value-set id: which filter of the selector. */
export const Filt = { ARG: 0, BIN: 8, PID: 16, NS: 24 } as const;

/** Index of a hook table in sel_hooks (SEL_HOOK_IDX). */
export function hookIndex(gen: number, slot: number): number {
  return (gen & 1) * 64 + (slot & 63);
}

export function selId(gen: number, slot: number, sel: number, filt: number): number {
  return ((gen << 31) | (slot << 16) | (sel << 8) | filt) >>> 0;
}

export const HookFlag = {
  MONITOR: 0x1, RETURN: 0x2, EXE: 0x4, CRED: 0x8, NS: 0x10, EXE_REV: 0x20, FOLLOW: 0x40, PEXE: 0x80, PEXE_REV: 0x100, TP: 0x200, FC: 0x400,
  NSPID: 0x800, NSPID_CHAIN: 0x1000,
} as const;
/** RCOPY marks a parked record only (never submitted). */
export const MsgFlag = { MONITOR: 0x1, RETURN: 0x2, FAULT: 0x4, TRUNC: 0x8, RCOPY: 0x10 } as const;
export const ActionTaken = { POST: 1, SIGKILL: 2, SIGNAL: 3 } as const;
export const ExeFlag = { TRUNC: 0x1, PROCFS: 0x2 } as const;

export const SEL_LAYOUTS = {
  msg_generic_syscall: {
    size: 88,
    fields: {
      common: 0, tgid: 16, tid: 20, uid: 24, euid: 28, hook_id: 32, slot: 36, selector: 38, action: 39, nr: 40, sig: 44,
      nargs: 45, fault: 46, trunc: 47, ret: 48, gen: 56, args_len: 60, pad: 62, comm: 64, cgroup_id: 80,
    },
  },
  sel_msg_arg: { size: 4, fields: { kind: 0, index: 1, len: 2 } },
  sel_msg_buf: { size: 8, fields: { size: 0 } },
  sel_arg: { size: 8, fields: { index: 0, kind: 1, size: 2, is_signed: 3, size_arg: 4, reverse: 5, exact: 6, pad: 7 } },
  sel_argf: { size: 72, fields: { arg: 0, op: 1, nranges: 2, is_signed: 3, pad: 4, a: 8, b: 40 } },
  sel_binf: { size: 4, fields: { op: 0, parent: 1, follow: 2, pad: 3 } },
  sel_pidf: { size: 16, fields: { op: 0, follow: 1, ns: 2, pad: 3, pad2: 4, follow_mask: 8 } },
  sel_nsf: { size: 4, fields: { kind: 0, op: 1, pad: 2 } },
  sel_capf: { size: 16, fields: { type: 0, op: 1, pad: 2, pad2: 4, mask: 8 } },
  sel_action: { size: 16, fields: { post: 0, sig: 1, rl_scope: 2, pad: 3, pad2: 4, rl_ns: 8 } },
  sel_selector: {
    size: 552,
    fields: { nargf: 0, nbinf: 1, npidf: 2, nnsf: 3, ncapf: 4, pad: 5, argf: 8, binf: 368, pidf: 384, nsf: 448, capf: 488, action: 536 },
  },
  sel_hook: { size: 2824, fields: { id: 0, flags: 4, nr: 8, nargs: 12, nsel: 13, pad: 14, args: 16, sel: 64 } },
  sel_nr: { size: 24, fields: { slots: 0, exit: 16, pad: 18, pad2: 20 } },
  sel_conf: { size: 80, fields: { gen: 0, enabled: 4, self_tgid: 8, pad: 12, nr_mask: 16 } },
  sel_strbuf: { size: 264, fields: { hdr: 0, id: 4, s: 8 } },
  sel_int_key: { size: 16, fields: { id: 0, pad: 4, v: 8 } },
  sel_ino_key: { size: 16, fields: { id: 0, dev: 4, ino: 8 } },
  sel_u32_key: { size: 8, fields: { id: 0, v: 4 } },
  sel_exe: { size: 280, fields: { dev: 0, flags: 4, ino: 8, len: 16, pad: 20, path: 24 } },
  sel_rl_key: { size: 16, fields: { hook_id: 0, sel: 4, scope_id: 8, pad: 12 } },
  sel_pending_key: { size: 8, fields: { tid: 0, pos: 4 } },
} as const satisfies Record<string, StructLayout>;

/** Key size of the LPM tries (sel_str_prefix, sel_str_postfix): prefix length, id, SEL_LPM_STR bytes. */
export const LPM_KEY_SIZE = 8 + SEL.LPM_STR;

/** Indexes of sel_counters (enum sel_counter). */
export const SelCounter = {
  evals: 0,
  matched: 1,
  posted: 2,
  ringbuf_full: 3,
  rate_limited: 4,
  nopost: 5,
  signals: 6,
  signal_failed: 7,
  monitor_withheld: 8,
  string_fault: 9,
  no_table: 10,
  heap_unavailable: 11,
  pending_full: 12,
  exe_unknown: 13,
  compat_skipped: 14,
  exe_map_full: 15,
} as const;
export const SEL_COUNTER_COUNT = 16;
