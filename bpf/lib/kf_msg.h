/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire ABI and table layouts of the kfunc backend (programs/kfunc/): TracingPolicy `kprobes:` entries on
 * kernel functions (fentry, else kprobe; kretprobe for `return: true`), Override through fmod_ret
 * (error-injectable functions, security_* hooks, and syscalls through their __x64_sys_* entry), and
 * `tracepoints:` entries with `raw: true` (tp_btf: the tracepoint's TP_PROTO arguments, BTF-typed).
 * packages/collector/src/kfunc/layout.ts mirrors every struct here; layout.test.ts compares that mirror
 * with the BTF of kf_alignchecker.o and kfunc.o.
 *
 * Selectors are the syscall backend's (sel_msg.h, sel_filter.h, written by the same encoder), as in the
 * bpf_lsm backend: each policy hook is a struct sel_hook whose "arguments" are slots a kfunc program
 * fills from the function's arguments (an int, a string, the path of a struct file…). struct kf_hook
 * says, per slot, what to extract from which function argument, and per selector the Override errno.
 *
 * A "site" is one attached program: a kernel function (or raw tracepoint) with an attach kind. Programs exist as
 * KF_MAX_SITES copies per kind (kf_fentry_0 … kf_fentry_7): the copy's number is the site, since
 * attach cookies and bpf_get_func_ip need 5.15 and the backend must run on 5.10. User space loads one
 * copy per site in its own object instance, sharing every map of a base instance.
 *
 * MSG_OP_KFUNC belongs in enum msg_op (msg_types.h); it lives here until that header is merged.
 */
#pragma once
#include "sel_msg.h"

enum kf_msg_op {
	MSG_OP_KFUNC = 43,
};

#define KF_MAX_SITES 8  /* attached programs (function × kind) at once */
#define KF_MAX_CHAIN 8  /* policy hooks on one site */

/* What an argument slot holds (kf_hook.src): read from function argument kf_hook.idx. */
enum kf_src {
	KF_SRC_INT = 1,       /* the register, narrowed as sel_arg.size / is_signed say */
	KF_SRC_STR = 2,       /* char *: NUL-terminated string (kernel memory, else user memory) */
	KF_SRC_BUF = 3,       /* char_buf: bytes whose length is function argument kf_hook.len_idx */
	KF_SRC_FILE = 4,      /* struct file *: absolute path of f_path */
	KF_SRC_PATH = 5,      /* const struct path *: its absolute path */
	KF_SRC_BPRM = 6,      /* struct linux_binprm *: absolute path of bprm->file */
	KF_SRC_FILENAME = 7,  /* struct filename *: ->name (as the caller passed it) */
	KF_SRC_FD = 8,        /* int fd: absolute path of the caller's file at that fd */
	KF_SRC_SK_FAMILY = 9, /* struct sock *: skc_family */
	KF_SRC_SK_PROTO = 10, /* struct sock *: sk_protocol */
	KF_SRC_SK_SADDR = 11, /* struct sock *: {family, local address (4 or 16 bytes)} */
	KF_SRC_SK_DADDR = 12, /* struct sock *: {family, remote address} */
	KF_SRC_SK_SPORT = 13, /* struct sock *: local port, host order */
	KF_SRC_SK_DPORT = 14, /* struct sock *: remote port, host order */
	KF_SRC_SA_FAMILY = 15,/* struct sockaddr *: sa_family */
	KF_SRC_SA_PORT = 16,  /* struct sockaddr *: port, host order (0 unless AF_INET/AF_INET6) */
	KF_SRC_SA_ADDR = 17,  /* struct sockaddr *: {family, address}; unreadable for other families */
	KF_SRC_CRED = 18,     /* struct cred *: a struct kf_cred (reports only: no selector reads it) */
};

/* How a site's program finds the function's arguments (kf_site.kind). */
enum kf_kind {
	KF_KIND_FENTRY = 1,   /* BTF-typed: ctx[i] */
	KF_KIND_KPROBE = 2,   /* pt_regs of the call */
	KF_KIND_FMOD_RET = 3, /* BTF-typed, and the program's verdict replaces the call */
	KF_KIND_SYSCALL = 4,  /* fmod_ret on __x64_sys_*: ctx[0] is the user pt_regs (syscall convention) */
	KF_KIND_TP_BTF = 5,   /* raw tracepoint (tp_btf): ctx[i] is TP_PROTO argument i (after the hidden __data) */
};

/* Per policy hook, next to its struct sel_hook (kf_hooks, at SEL_HOOK_IDX(generation, slot)). */
struct kf_hook {
	__u32 site;                  /* the site this table belongs to */
	__u8 src[SEL_MAX_ARGS];      /* enum kf_src of each sel_hook.args slot */
	__u8 idx[SEL_MAX_ARGS];      /* function argument (0-based) each slot reads */
	__u8 len_idx[SEL_MAX_ARGS];  /* KF_SRC_BUF: function argument holding the length */
	__u8 pad[2];
	__s32 err[SEL_MAX_SELECTORS];/* Override: the negative errno the selector returns, 0 none */
};

/* kf_sites value: the attach kind and, per generation, the policy hooks on the site, SEL_NO_SLOT-terminated. */
struct kf_site {
	__u32 kind;   /* enum kf_kind */
	__u32 ret;    /* some hook reports at return: records park until the kretprobe */
	__u16 slots[2][KF_MAX_CHAIN];
};

struct kf_pending_key {
	__u32 tid;
	__u16 site;
	__u16 pos;    /* position of the hook in the site's chain */
};

/*
 * The payload of a KF_SRC_CRED slot (Tetragon's process_credentials_arg): the ids, securebits, the three
 * capability sets (kernel_cap_t: {u32 cap[2]} before 6.3, {u64 val} since, 8 bytes either way) and the
 * user namespace the ids and capabilities are relative to.
 */
struct kf_cred {
	__u32 uid;
	__u32 gid;
	__u32 suid;
	__u32 sgid;
	__u32 euid;
	__u32 egid;
	__u32 fsuid;
	__u32 fsgid;
	__u32 securebits;
	__u32 pad;
	__u64 cap_permitted;
	__u64 cap_effective;
	__u64 cap_inheritable;
	__s32 ns_level;  /* user_ns->level: 0 is the initial (host) user namespace */
	__u32 ns_uid;    /* user_ns->owner */
	__u32 ns_gid;    /* user_ns->group */
	__u32 ns_inum;   /* user_ns->ns.inum */
};

/* msg_kfunc.common.flags */
#define KF_MSG_MONITOR 0x1 /* monitor mode: the errno and signal were withheld */
#define KF_MSG_RETURN 0x2  /* ret holds the return value */
#define KF_MSG_FAULT 0x4   /* some argument could not be read (see fault) */
#define KF_MSG_TRUNC 0x8   /* some string was cut to SEL_STR_MAX - 1 bytes (see trunc) */

/* msg_kfunc.action: the strongest action of the selector */
enum kf_action_taken {
	KF_ACT_POST = 1,
	KF_ACT_SIGKILL = 2,
	KF_ACT_SIGNAL = 3,
	KF_ACT_OVERRIDE = 4,
};

/* Argument entry header in the data after msg_kfunc: then len bytes (ints: u64 LE). */
struct kf_msg_arg {
	__u8 src;   /* enum kf_src */
	__u8 index; /* function argument */
	__u16 len;
};

/*
 * One call a selector matched. Followed by args_len bytes: for each argument slot of the hook in order,
 * a struct kf_msg_arg and its payload (an int as u64; a string's or path's bytes, no NUL; a char_buf's
 * struct sel_msg_buf and bytes; an address as {family u8, 4 or 16 bytes}; a struct kf_cred).
 */
struct msg_kfunc {
	struct msg_common common;
	__u32 tgid;
	__u32 tid;
	__u32 uid;
	__u32 euid;
	__u32 hook_id;   /* the id user space gave the policy hook */
	__u16 slot;
	__u8 selector;   /* index of the first matching selector (0 when the hook has none) */
	__u8 action;     /* enum kf_action_taken */
	__u32 site;
	__s32 err;       /* errno returned (Override), or that monitor mode withheld; 0 none */
	__u8 sig;        /* signal sent, or that monitor mode withheld */
	__u8 nargs;
	__u8 fault;      /* bit i: slot i unreadable */
	__u8 trunc;      /* bit i: slot i truncated */
	__u32 gen;
	__s64 ret;       /* KF_MSG_RETURN only */
	__u16 args_len;
	__u16 pad;
	__u32 pad2;
	char comm[16];
	__u64 cgroup_id;
};

#define KF_DATA_MAX (SEL_MAX_ARGS * (sizeof(struct kf_msg_arg) + SEL_SLOT_MAX))

/* Per-CPU counters (kf_counters). Every record not submitted is counted. */
enum kf_counter {
	KF_CNT_EVALS = 0,        /* calls evaluated against a policy hook */
	KF_CNT_MATCHED = 1,      /* a selector matched */
	KF_CNT_POSTED = 2,       /* records submitted */
	KF_CNT_RB_FULL = 3,      /* record lost: ring buffer full (the action still applied) */
	KF_CNT_RATE_LIMITED = 4, /* record withheld by rateLimit */
	KF_CNT_NOPOST = 5,       /* matched, NoPost: no record by design */
	KF_CNT_SIGNALS = 6,      /* signals sent */
	KF_CNT_SIGNAL_FAIL = 7,  /* bpf_send_signal failed */
	KF_CNT_DENIED = 8,       /* calls overridden (Override) */
	KF_CNT_MONITOR = 9,      /* denials or signals withheld (monitor mode) */
	KF_CNT_NO_TABLE = 10,    /* a chain pointed at a missing or foreign table: never expected */
	KF_CNT_HEAP = 11,        /* per-CPU scratch unavailable */
	KF_CNT_PENDING_FULL = 12,/* record for the return could not be parked: lost */
	KF_CNT_NESTED = 13,      /* call not evaluated: another evaluation was in progress on this CPU (eval.h kf__enter) */
	KF_CNT_MAX = 14,
};
