/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire ABI and table layouts of the bpf_lsm backend (programs/lsm/): TracingPolicy `lsmhooks:` entries
 * as BPF LSM programs that can deny (Override → a negative errno returned before the operation happens).
 * packages/collector/src/lsm/layout.ts mirrors every struct here; layout.test.ts compares that mirror
 * with the BTF of lsm_alignchecker.o and lsm.o.
 *
 * Selectors are the syscall backend's: each hook of a policy is a struct sel_hook in sel_hooks (the same
 * encoder writes it, sel_filter.h evaluates it) whose "arguments" are values an LSM program extracts
 * from kernel objects (a path from a file, the port of a sockaddr…). struct lsm_hook says, per argument
 * slot of that sel_hook, what to extract and from which argument of the LSM hook, and per selector the
 * errno an Override returns.
 *
 * MSG_OP_LSM belongs in enum msg_op (msg_types.h); it lives here until that header is merged.
 */
#pragma once
#include "sel_msg.h"

enum lsm_msg_op {
	MSG_OP_LSM = 42,
};

#define LSM_MAX_CHAIN 8 /* policy hooks on one LSM hook */

/* The LSM hooks this backend has a program for (lsm_chains index). */
enum lsm_hook_id {
	LSM_HOOK_BPRM_CHECK_SECURITY = 1,
	LSM_HOOK_FILE_OPEN = 2,
	LSM_HOOK_SOCKET_CONNECT = 3,
	LSM_HOOK_FILE_PERMISSION = 4,
	LSM_HOOK_PATH_TRUNCATE = 5,
	LSM_HOOK_PATH_UNLINK = 6,
	LSM_HOOK_PATH_MKDIR = 7,
	LSM_HOOK_PATH_RMDIR = 8,
	LSM_HOOK_PATH_CHMOD = 9,
	LSM_HOOK_MAX = 10,
};

/* What an argument slot holds (lsm_hook.src): read from LSM argument lsm_hook.idx. */
enum lsm_src {
	LSM_SRC_INT = 1,       /* the argument itself, narrowed as sel_arg.size / is_signed say */
	LSM_SRC_BPRM = 2,      /* struct linux_binprm *: absolute path of bprm->file */
	LSM_SRC_FILE = 3,      /* struct file *: absolute path of file->f_path */
	LSM_SRC_PATH = 4,      /* const struct path *: its absolute path */
	LSM_SRC_DENTRY = 5,    /* struct dentry * below the directory of LSM argument 0 (path_unlink…): dir/name */
	LSM_SRC_SA_FAMILY = 6, /* struct sockaddr *: sa_family */
	LSM_SRC_SA_PORT = 7,   /* struct sockaddr *: port in host order (0 unless AF_INET/AF_INET6) */
	LSM_SRC_SA_ADDR = 8,   /* struct sockaddr *: bytes {family, address (4 or 16)}, for the LPM trie; unreadable otherwise */
};

/* Per policy hook, next to its struct sel_hook (lsm_hooks, at SEL_HOOK_IDX(generation, slot)). */
struct lsm_hook {
	__u32 hook;                  /* enum lsm_hook_id: the program this table belongs to */
	__u8 src[SEL_MAX_ARGS];      /* enum lsm_src of each sel_hook.args slot */
	__u8 idx[SEL_MAX_ARGS];      /* LSM argument (0-based) each slot reads */
	__s32 err[SEL_MAX_SELECTORS];/* Override: the negative errno the selector returns, 0 none */
};

/* lsm_chains value: per generation, the policy hooks on one LSM hook, SEL_NO_SLOT-terminated. */
struct lsm_chain {
	__u16 slots[2][LSM_MAX_CHAIN];
};

/* msg_lsm.common.flags */
#define LSM_MSG_MONITOR 0x1 /* monitor mode: the errno and signal were withheld */
#define LSM_MSG_FAULT 0x4   /* some argument could not be read (see fault) */
#define LSM_MSG_TRUNC 0x8   /* some path was cut to SEL_STR_MAX - 1 bytes (see trunc) */

/* msg_lsm.action: the strongest action of the selector */
enum lsm_action_taken {
	LSM_ACT_POST = 1,
	LSM_ACT_SIGKILL = 2,
	LSM_ACT_SIGNAL = 3,
	LSM_ACT_OVERRIDE = 4,
};

/* Argument entry header in the data after msg_lsm: then len bytes (LSM_SRC_INT, _SA_FAMILY, _SA_PORT: u64 LE). */
struct lsm_msg_arg {
	__u8 src;   /* enum lsm_src */
	__u8 index; /* LSM argument */
	__u16 len;
};

/*
 * One LSM hook call a selector matched. Followed by args_len bytes: for each argument slot of the hook
 * in order, a struct lsm_msg_arg and its payload (an int as u64; a path's bytes, no NUL; a sockaddr
 * address as {family u8, 4 or 16 bytes}).
 */
struct msg_lsm {
	struct msg_common common;
	__u32 tgid;
	__u32 tid;
	__u32 uid;
	__u32 euid;
	__u32 hook_id;   /* the id user space gave the policy hook */
	__u16 slot;
	__u8 selector;   /* index of the first matching selector (0 when the hook has none) */
	__u8 action;     /* enum lsm_action_taken */
	__u32 lsm_hook;  /* enum lsm_hook_id */
	__s32 err;       /* errno returned (Override), or that monitor mode withheld; 0 none */
	__u8 sig;        /* signal sent, or that monitor mode withheld */
	__u8 nargs;
	__u8 fault;      /* bit i: slot i unreadable */
	__u8 trunc;      /* bit i: slot i truncated */
	__u32 gen;
	__u16 args_len;
	__u16 pad;
	__u32 pad2;
	char comm[16];
	__u64 cgroup_id;
};

#define LSM_DATA_MAX (SEL_MAX_ARGS * (sizeof(struct lsm_msg_arg) + SEL_SLOT_MAX)) /* sel__put_slots' bound */

/* Per-CPU counters (lsm_counters). Every record not submitted is counted. */
enum lsm_counter {
	LSM_CNT_EVALS = 0,        /* calls evaluated against a policy hook */
	LSM_CNT_MATCHED = 1,      /* a selector matched */
	LSM_CNT_POSTED = 2,       /* records submitted */
	LSM_CNT_RB_FULL = 3,      /* record lost: ring buffer full (the action still applied) */
	LSM_CNT_RATE_LIMITED = 4, /* record withheld by rateLimit */
	LSM_CNT_NOPOST = 5,       /* matched, NoPost: no record by design */
	LSM_CNT_SIGNALS = 6,      /* signals sent */
	LSM_CNT_SIGNAL_FAIL = 7,  /* bpf_send_signal failed */
	LSM_CNT_DENIED = 8,       /* calls denied (Override) */
	LSM_CNT_MONITOR = 9,      /* denials or signals withheld (monitor mode) */
	LSM_CNT_NO_TABLE = 10,    /* a chain pointed at a missing or foreign table: never expected */
	LSM_CNT_HEAP = 11,        /* per-CPU scratch unavailable */
	LSM_CNT_MAX = 12,
};
