// Mirror of bpf/lib/lsm_msg.h: the record the LSM programs submit and the tables user space writes next
// to the selector engine's (syscall/layout.ts). layout.test.ts compares every struct here with the BTF
// of lsm_alignchecker.o (and lsm.o), so a change made on one side only fails the tests.
import type { StructLayout } from '../abi/layout.js';

export const MSG_OP_LSM = 42;

export const LSM = {
  /** Policy hooks on one LSM hook. */
  MAX_CHAIN: 8,
} as const;

/** enum lsm_hook_id: the LSM hooks this backend has a program for. */
export const LsmHookId = {
  bprm_check_security: 1,
  file_open: 2,
  socket_connect: 3,
  file_permission: 4,
  path_truncate: 5,
  path_unlink: 6,
  path_mkdir: 7,
  path_rmdir: 8,
  path_chmod: 9,
} as const;
export type LsmHookName = keyof typeof LsmHookId;
export const LSM_HOOK_MAX = 10;

/** enum lsm_src: what an argument slot holds. */
export const LsmSrc = { INT: 1, BPRM: 2, FILE: 3, PATH: 4, DENTRY: 5, SA_FAMILY: 6, SA_PORT: 7, SA_ADDR: 8 } as const;
export type LsmSrcName = keyof typeof LsmSrc;

export const LsmMsgFlag = { MONITOR: 0x1, FAULT: 0x4, TRUNC: 0x8 } as const;
export const LsmActionTaken = { POST: 1, SIGKILL: 2, SIGNAL: 3, OVERRIDE: 4 } as const;

export const LSM_LAYOUTS = {
  msg_lsm: {
    size: 88,
    fields: {
      common: 0, tgid: 16, tid: 20, uid: 24, euid: 28, hook_id: 32, slot: 36, selector: 38, action: 39, lsm_hook: 40, err: 44,
      sig: 48, nargs: 49, fault: 50, trunc: 51, gen: 52, args_len: 56, pad: 58, pad2: 60, comm: 64, cgroup_id: 80,
    },
  },
  lsm_msg_arg: { size: 4, fields: { src: 0, index: 1, len: 2 } },
  lsm_hook: { size: 36, fields: { hook: 0, src: 4, idx: 10, err: 16 } },
  lsm_chain: { size: 32, fields: { slots: 0 } },
} as const satisfies Record<string, StructLayout>;

/** Indexes of lsm_counters (enum lsm_counter). */
export const LsmCounter = {
  evals: 0,
  matched: 1,
  posted: 2,
  ringbuf_full: 3,
  rate_limited: 4,
  nopost: 5,
  signals: 6,
  signal_failed: 7,
  denied: 8,
  monitor_withheld: 9,
  no_table: 10,
  heap_unavailable: 11,
} as const;
export const LSM_COUNTER_COUNT = 12;
