/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one event ABI between the kernel side and user space. Every ring-buffer record starts with
 * struct msg_common; its op selects the layout. packages/collector/src/abi/ mirrors these structs
 * field by field, and a test compares that mirror with the BTF of the compiled object (bump
 * bpf/API_VERSION when a layout changes).
 */
#pragma once

enum msg_op {
	MSG_OP_EXECVE = 5,
	MSG_OP_EXIT = 7,
	MSG_OP_CLONE = 23,
};

/* Flags of an exec/clone record (ExecFlag in packages/events/src/raw.ts). */
#define EVENT_EXECVE 0x1
#define EVENT_PROCFS 0x2
#define EVENT_CLONE 0x4
#define EVENT_TRUNC_ARGS 0x8
#define EVENT_MISS 0x10
#define EVENT_ERR_PATH 0x20
#define EVENT_ERR_CWD 0x40
#define EVENT_ERR_ARGS 0x80
#define EVENT_TRUNC_PATH 0x100
#define EVENT_TRUNC_CWD 0x200
#define EVENT_ROOTCWD 0x400
#define EVENT_NO_PARENT 0x800

#define NO_ID 0xffffffff

struct msg_common {
	__u8 op;
	__u8 flags;
	__u16 pad;
	__u32 size; /* whole record, header included */
	__u64 ktime;
};

/* A process image: tgid + monotonic ns when it began (exec_id = base64(node:ktime:pid)). */
struct msg_key {
	__u32 pid;
	__u32 pad;
	__u64 ktime;
};

struct msg_cred {
	__u32 uid, gid, suid, sgid, euid, egid, fsuid, fsgid;
	__u64 cap_permitted;
	__u64 cap_effective;
	__u64 cap_inheritable;
};

struct msg_ns {
	__u32 uts, ipc, mnt, pid, pid_for_children, net, time, time_for_children, cgroup, user;
};

/* Followed by path[path_len] cwd[cwd_len] args[args_len] (NUL-separated argv) cgroup_name[cgroup_name_len]. */
struct msg_exec {
	struct msg_common common;
	struct msg_key key;
	struct msg_key parent;
	struct msg_key replaces; /* pid 0: none */
	__u32 tid;
	__u32 flags;
	__u32 auid;
	__u32 setuid; /* NO_ID unless the exec changed euid through a setuid file */
	__u32 setgid;
	__u32 pad;
	struct msg_cred cred;
	struct msg_ns ns;
	__u64 cgroup_id;
	__u16 path_len;
	__u16 cwd_len;
	__u16 args_len;
	__u16 cgroup_name_len;
};

struct msg_clone {
	struct msg_common common;
	struct msg_key key;
	struct msg_key parent;
	__u32 tid;
	__u32 flags;
	__u64 cgroup_id;
};

struct msg_exit {
	struct msg_common common;
	struct msg_key key;
	__u32 tid;
	__u32 code; /* wait status: exit status << 8 | terminating signal */
};

/* Per-CPU counters of what the kernel side could not do (index into tg_counters). */
enum tg_counter {
	CNT_RB_FULL_EXEC = 0,
	CNT_RB_FULL_CLONE = 1,
	CNT_RB_FULL_EXIT = 2,
	CNT_MAP_FULL = 3,   /* tg_execve_map refused an entry */
	CNT_HEAP = 4,       /* per-CPU scratch unavailable */
	CNT_EXECS = 5,      /* exec records submitted */
	CNT_CLONES = 6,
	CNT_EXITS = 7,
	CNT_MAX = 8,
};

/* tg_conf_map value: knobs user space sets after load. */
struct tg_conf {
	__u32 max_args_bytes;
	__u32 pad;
};

/* tg_execve_map value: what the kernel knows of each live process (keyed by tgid). */
struct execve_map_value {
	struct msg_key key;
	struct msg_key pkey;
	__u32 flags; /* EVENT_EXECVE (image came from exec or procfs) or EVENT_CLONE */
	__u32 pad;
};
