// Mirror of bpf/lib/msg_types.h: the byte offsets every decoder reads. abi.test.ts compares this table
// with the BTF of the compiled object, so a change on either side that is not made on both fails.

export const MsgOp = {
  EXECVE: 5,
  EXIT: 7,
  CLONE: 23,
} as const;

export interface StructLayout {
  size: number;
  fields: Record<string, number>;
}

export const LAYOUTS = {
  msg_common: { size: 16, fields: { op: 0, flags: 1, pad: 2, size: 4, ktime: 8 } },
  msg_key: { size: 16, fields: { pid: 0, pad: 4, ktime: 8 } },
  msg_cred: {
    size: 56,
    fields: {
      uid: 0, gid: 4, suid: 8, sgid: 12, euid: 16, egid: 20, fsuid: 24, fsgid: 28,
      cap_permitted: 32, cap_effective: 40, cap_inheritable: 48,
    },
  },
  msg_ns: {
    size: 40,
    fields: {
      uts: 0, ipc: 4, mnt: 8, pid: 12, pid_for_children: 16, net: 20, time: 24, time_for_children: 28, cgroup: 32,
      user: 36,
    },
  },
  msg_exec: {
    size: 200,
    fields: {
      common: 0, key: 16, parent: 32, replaces: 48, tid: 64, flags: 68, auid: 72, setuid: 76, setgid: 80, pad: 84,
      cred: 88, ns: 144, cgroup_id: 184, path_len: 192, cwd_len: 194, args_len: 196, cgroup_name_len: 198,
    },
  },
  msg_clone: { size: 64, fields: { common: 0, key: 16, parent: 32, tid: 48, flags: 52, cgroup_id: 56 } },
  msg_exit: { size: 40, fields: { common: 0, key: 16, tid: 32, code: 36 } },
  execve_map_value: { size: 40, fields: { key: 0, pkey: 16, flags: 32, pad: 36 } },
  tg_conf: { size: 8, fields: { max_args_bytes: 0, pad: 4 } },
} as const satisfies Record<string, StructLayout>;

/** Indexes of tg_counters (enum tg_counter). */
export const KernelCounter = {
  ringbuf_full_exec: 0,
  ringbuf_full_clone: 1,
  ringbuf_full_exit: 2,
  execve_map_full: 3,
  heap_unavailable: 4,
  execs: 5,
  clones: 6,
  exits: 7,
} as const;
export const KERNEL_COUNTER_COUNT = 8;

/** Header of each record in a batch the native reader hands over: u32 length, u32 zero, then the record, padded to 8. */
export const BATCH_RECORD_HEADER = 8;

export const NO_ID = 0xffffffff;
