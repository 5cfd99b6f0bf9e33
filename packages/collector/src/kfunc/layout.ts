// Mirror of bpf/lib/kf_msg.h: the record the kfunc programs submit and the tables user space writes next
// to the selector engine's (syscall/layout.ts). layout.test.ts compares every struct here with the BTF
// of kf_alignchecker.o (and kfunc.o), so a change made on one side only fails the tests.
import type { StructLayout } from '../abi/layout.js';

export const MSG_OP_KFUNC = 43;

export const KF = {
  /** Attached programs (function or raw tracepoint × kind) at once: the program copies kf_<kind>_0 … _7. */
  MAX_SITES: 8,
  /** Policy hooks on one site. */
  MAX_CHAIN: 8,
} as const;

/** enum kf_src: what an argument slot holds. */
export const KfSrc = {
  INT: 1, STR: 2, BUF: 3, FILE: 4, PATH: 5, BPRM: 6, FILENAME: 7, FD: 8,
  SK_FAMILY: 9, SK_PROTO: 10, SK_SADDR: 11, SK_DADDR: 12, SK_SPORT: 13, SK_DPORT: 14,
  SA_FAMILY: 15, SA_PORT: 16, SA_ADDR: 17, CRED: 18,
} as const;
export type KfSrcName = keyof typeof KfSrc;

/** enum kf_kind: how a site's program reads the arguments (tp_btf: a raw tracepoint's TP_PROTO arguments). */
export const KfKind = { fentry: 1, kprobe: 2, fmod_ret: 3, syscall: 4, tp_btf: 5 } as const;
export type KfKindName = keyof typeof KfKind;

export const KfMsgFlag = { MONITOR: 0x1, RETURN: 0x2, FAULT: 0x4, TRUNC: 0x8 } as const;
export const KfActionTaken = { POST: 1, SIGKILL: 2, SIGNAL: 3, OVERRIDE: 4 } as const;

export const KF_LAYOUTS = {
  msg_kfunc: {
    size: 96,
    fields: {
      common: 0, tgid: 16, tid: 20, uid: 24, euid: 28, hook_id: 32, slot: 36, selector: 38, action: 39, site: 40, err: 44,
      sig: 48, nargs: 49, fault: 50, trunc: 51, gen: 52, ret: 56, args_len: 64, pad: 66, pad2: 68, comm: 72, cgroup_id: 88,
    },
  },
  kf_msg_arg: { size: 4, fields: { src: 0, index: 1, len: 2 } },
  /** The payload of a CRED slot. */
  kf_cred: {
    size: 80,
    fields: {
      uid: 0, gid: 4, suid: 8, sgid: 12, euid: 16, egid: 20, fsuid: 24, fsgid: 28, securebits: 32, pad: 36,
      cap_permitted: 40, cap_effective: 48, cap_inheritable: 56, ns_level: 64, ns_uid: 68, ns_gid: 72, ns_inum: 76,
    },
  },
  kf_hook: { size: 44, fields: { site: 0, src: 4, idx: 10, len_idx: 16, pad: 22, err: 24 } },
  kf_site: { size: 40, fields: { kind: 0, ret: 4, slots: 8 } },
  kf_pending_key: { size: 8, fields: { tid: 0, site: 4, pos: 6 } },
} as const satisfies Record<string, StructLayout>;

/** Indexes of kf_counters (enum kf_counter). */
export const KfCounter = {
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
  pending_full: 12,
  /** Not evaluated: another evaluation was in progress on the CPU (a program nested in another's action or interrupt). */
  nested: 13,
} as const;
export const KF_COUNTER_COUNT = 14;
