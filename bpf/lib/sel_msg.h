/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire ABI and table layouts of the syscall_tracepoint backend (programs/syscall/): TracingPolicy
 * `kprobes: [{syscall: true}]` hooks evaluated on the raw syscall tracepoints sys_enter (and sys_exit), typed (tp_btf).
 * packages/collector/src/syscall/layout.ts mirrors every struct here; layout.test.ts compares that
 * mirror with the BTF of sel_alignchecker.o and generic.o.
 *
 * MSG_OP_GENERIC_SYSCALL belongs in enum msg_op (msg_types.h); it lives here until that header is merged.
 *
 * Nothing here parses a policy: user space (compile.ts, encode.ts) compiles every selector into these
 * fixed-size tables and into the value sets of sel_maps.h; the programs only walk them.
 */
#pragma once
#include "msg_types.h"

enum sel_msg_op {
	MSG_OP_GENERIC_SYSCALL = 41,
	MSG_OP_GENERIC_TRACEPOINT = 42, /* the same record from a `tracepoints:` hook (SEL_HOOK_TP, nr = event id) */
};

#define SEL_MAX_HOOKS 64     /* hook slots per generation */
#define SEL_MAX_CHAIN 4      /* hooks on one syscall number */
#define SEL_MAX_ARGS 6
#define SEL_MAX_SELECTORS 5
#define SEL_MAX_ARGF 5       /* matchArgs filters per selector */
#define SEL_MAX_RANGES 4     /* InRange/NotInRange ranges per filter */
#define SEL_MAX_BINF 4       /* matchBinaries filters per selector */
#define SEL_MAX_PIDF 4
#define SEL_NSPID_LEVELS 10 /* isNamespacePID + followForks: the process and 9 ancestors (Tetragon's depth) */
#define SEL_MAX_NSF 10
#define SEL_MAX_CAPF 3
#define SEL_STR_MAX 256      /* bytes read per string argument, NUL included: strings keep ≤ 255 chars */
#define SEL_LPM_STR 252      /* string bytes an LPM key holds (LPM data is at most 256 bytes, 4 are the id) */
#define SEL_NO_SLOT 0xffff

/* sel_arg.kind */
enum sel_arg_kind {
	SEL_ARG_INT = 1,    /* the register value, narrowed to size bytes and sign- or zero-extended to 64 bits */
	SEL_ARG_STR = 2,    /* NUL-terminated user string (bpf_probe_read_user_str at sys_enter) */
	SEL_ARG_BUF = 3,    /* user buffer whose length is another argument (char_buf + sizeArgIndex) */
	SEL_ARG_PRE = 4,    /* string already read into the scratch by the attach point's program (tracepoint fields) */
	SEL_ARG_RBUF = 5,   /* char_buf with returnCopy: pointer and length bound parked at sys_enter, bytes read at sys_exit (rcopy.h) */
	SEL_ARG_RSTR = 6,   /* string with returnCopy: likewise, read as a NUL-terminated string at sys_exit */
	SEL_ARG_PREBUF = 7, /* char_buf already read into the scratch by the attach point's program (tracepoint fields, kfunc slots) */
};

/* sel_argf.op (matchArgs) */
enum sel_op {
	SEL_OP_EQ = 1,       /* ints: sel_int_set; strings: sel_str_eq */
	SEL_OP_NEQ = 2,
	SEL_OP_PREFIX = 3,   /* sel_str_prefix (LPM trie on the bytes) */
	SEL_OP_NOTPREFIX = 4,
	SEL_OP_POSTFIX = 5,  /* sel_str_postfix (LPM trie on the reversed bytes) */
	SEL_OP_NOTPOSTFIX = 6,
	SEL_OP_GT = 7,       /* a[0] */
	SEL_OP_LT = 8,
	SEL_OP_MASK = 9,     /* (v & a[0]) != 0, a[0] = OR of the values */
	SEL_OP_INRANGE = 10, /* a[i] <= v <= b[i] for some i < nranges */
	SEL_OP_NOTINRANGE = 11,
};

/* sel_binf.op (matchBinaries) */
enum sel_bin_op {
	SEL_BIN_IN = 1,      /* (dev, ino) in sel_bin_ino, or the exe path in sel_str_eq */
	SEL_BIN_NOTIN = 2,
	SEL_BIN_PREFIX = 3,
	SEL_BIN_NOTPREFIX = 4,
	SEL_BIN_POSTFIX = 5,
	SEL_BIN_NOTPOSTFIX = 6,
};

/* sel_pidf.op, sel_nsf.op, sel_capf.op */
#define SEL_IN 1
#define SEL_NOTIN 2

/* sel_nsf.kind: order of NAMESPACES in packages/policy/src/schema.ts */
enum sel_ns_kind {
	SEL_NS_UTS = 0, SEL_NS_IPC, SEL_NS_MNT, SEL_NS_PID, SEL_NS_PID_FOR_CHILDREN, SEL_NS_NET, SEL_NS_TIME,
	SEL_NS_TIME_FOR_CHILDREN, SEL_NS_CGROUP, SEL_NS_USER, SEL_NS_MAX,
};

/* sel_capf.type */
enum sel_cap_type { SEL_CAP_EFFECTIVE = 0, SEL_CAP_INHERITABLE = 1, SEL_CAP_PERMITTED = 2 };

/* sel_action.rl_scope */
enum sel_rl_scope { SEL_RL_THREAD = 0, SEL_RL_PROCESS = 1, SEL_RL_GLOBAL = 2 };

/* Filter ids inside a selector (the low byte of a set key's id, see SEL_ID). */
#define SEL_FILT_ARG 0   /* + matchArgs filter index */
#define SEL_FILT_BIN 8   /* + matchBinaries filter index */
#define SEL_FILT_PID 16  /* + matchPIDs filter index */
#define SEL_FILT_NS 24   /* + matchNamespaces filter index */
/* The id every value-set key starts with: one generation, hook slot, selector and filter. */
#define SEL_ID(gen, slot, sel, filt) (((__u32)(gen) << 31) | ((__u32)(slot) << 16) | ((__u32)(sel) << 8) | (__u32)(filt))

/* sel_hook.flags */
#define SEL_HOOK_MONITOR 0x1   /* report what the actions would do, do nothing */
#define SEL_HOOK_RETURN 0x2    /* report at sys_exit, with the return value */
#define SEL_HOOK_EXE 0x4       /* some selector needs the executable (sel_exe) */
#define SEL_HOOK_CRED 0x8      /* some selector needs the capabilities */
#define SEL_HOOK_NS 0x10       /* some selector needs namespaces */
#define SEL_HOOK_EXE_REV 0x20  /* some selector matches the executable's path with Postfix */
#define SEL_HOOK_FOLLOW 0x40   /* some matchPIDs filter follows forks (sel_lineage) */
#define SEL_HOOK_PEXE 0x80     /* some selector needs the parent's executable (matchParentBinaries) */
#define SEL_HOOK_PEXE_REV 0x100 /* ... with Postfix */
#define SEL_HOOK_TP 0x200      /* a `tracepoints:` hook: records carry MSG_OP_GENERIC_TRACEPOINT */
#define SEL_HOOK_FC 0x400      /* some binaries filter has followChildren (sel_fc_lineage) */
#define SEL_HOOK_NSPID 0x800   /* some matchPIDs filter has isNamespacePID (sel_heap.nspid) */
#define SEL_HOOK_NSPID_CHAIN 0x1000 /* ... with followForks (sel_heap.nspid_chain) */

struct sel_arg {
	__u8 index;    /* syscall argument 0..5 */
	__u8 kind;     /* enum sel_arg_kind */
	__u8 size;     /* SEL_ARG_INT: 1, 2, 4 or 8 */
	__u8 is_signed;
	__u8 size_arg; /* SEL_ARG_BUF, SEL_ARG_RBUF: syscall argument holding the length (RBUF: 0xff none, the return value bounds it) */
	__u8 reverse;  /* a Postfix filter reads this string reversed */
	__u8 exact;    /* an Equal/NotEqual filter hashes this string: zero its buffer before the read */
	__u8 pad;
};

struct sel_argf {
	__u8 arg;     /* position in sel_hook.args */
	__u8 op;      /* enum sel_op */
	__u8 nranges;
	__u8 is_signed; /* GT/LT/InRange compare as signed */
	__u32 pad;
	__u64 a[SEL_MAX_RANGES];
	__u64 b[SEL_MAX_RANGES];
};

struct sel_binf {
	__u8 op;     /* enum sel_bin_op */
	__u8 parent; /* matchParentBinaries: the parent's executable (sel_exe_map of real_parent's tgid) */
	__u8 follow; /* followChildren: 1 + the sel_fc_lineage bit of this filter's values, 0 none */
	__u8 pad;
};

struct sel_pidf {
	__u8 op;     /* SEL_IN / SEL_NOTIN on the tgid */
	__u8 follow; /* followForks: also the descendants of the listed pids (follow_mask bits of sel_lineage) */
	/*
	 * isNamespacePID: compare the tgid as the process's own pid namespace numbers it; with follow, that
	 * of the process and of its real_parent ancestors, SEL_NSPID_LEVELS in all (sel_heap.nspid_chain;
	 * follow_mask unused).
	 */
	__u8 ns;
	__u8 pad;
	__u32 pad2;
	__u64 follow_mask;
};

struct sel_nsf {
	__u8 kind; /* enum sel_ns_kind */
	__u8 op;
	__u16 pad;
};

struct sel_capf {
	__u8 type; /* enum sel_cap_type */
	__u8 op;   /* In: some listed capability is held; NotIn: none is */
	__u16 pad;
	__u32 pad2;
	__u64 mask;
};

struct sel_action {
	__u8 post;     /* report (Post, or no NoPost) */
	__u8 sig;      /* signal to send (Sigkill: 9, Signal: argSig), 0 none */
	__u8 rl_scope; /* enum sel_rl_scope */
	__u8 pad;
	__u32 pad2;
	__u64 rl_ns;   /* rateLimit: at most one report per key per rl_ns (0: none) */
};

struct sel_selector {
	__u8 nargf, nbinf, npidf, nnsf, ncapf;
	__u8 pad[3];
	struct sel_argf argf[SEL_MAX_ARGF];
	struct sel_binf binf[SEL_MAX_BINF];
	struct sel_pidf pidf[SEL_MAX_PIDF];
	struct sel_nsf nsf[SEL_MAX_NSF];
	struct sel_capf capf[SEL_MAX_CAPF];
	struct sel_action action;
};

/* One hook's compiled table (sel_hooks, keyed by generation and slot). */
struct sel_hook {
	__u32 id;    /* the id user space gave the hook (reported) */
	__u32 flags; /* SEL_HOOK_* */
	__u32 nr;
	__u8 nargs;
	__u8 nsel;   /* 0: every call matches, reported (Post) */
	__u16 pad;
	struct sel_arg args[SEL_MAX_ARGS];
	struct sel_selector sel[SEL_MAX_SELECTORS];
};

/* sel_syscalls value: per generation, the hook slots of one syscall number, SEL_NO_SLOT-terminated. */
struct sel_nr {
	__u16 slots[2][SEL_MAX_CHAIN];
	__u8 exit[2]; /* some hook of that generation reports at sys_exit */
	__u16 pad;
	__u32 pad2;
};

#define SEL_NR_MASK_WORDS 8 /* syscall numbers 0..511 */

struct sel_conf {
	__u32 gen;       /* live generation: 0 or 1 */
	__u32 enabled;
	__u32 self_tgid; /* the agent: never evaluated (a Sigkill rule must not kill the agent), 0 none */
	__u32 pad;
	/*
	 * syscall backend: bit nr set if sel_syscalls may hold nr (a superset of both generations while
	 * an apply is in flight). Every syscall of every task is tested against it before any hash
	 * lookup: the array lookup of sel_conf_map is inlined, a hash lookup is a helper call and a jhash.
	 */
	__u64 nr_mask[SEL_NR_MASK_WORDS];
};

/* Index of a hook table in sel_hooks. */
#define SEL_HOOK_IDX(gen, slot) (((gen) & 1) * SEL_MAX_HOOKS + ((slot) & (SEL_MAX_HOOKS - 1)))

/*
 * A string as the maps want it: one buffer serves as the key of sel_str_eq (hdr = length, s
 * zero-padded) and, with hdr rewritten to a bit length, as the key of the LPM tries (which read only
 * their first 4 + 4 + SEL_LPM_STR bytes).
 */
struct sel_strbuf {
	__u32 hdr;
	__u32 id;
	char s[SEL_STR_MAX];
};

struct sel_int_key {
	__u32 id;
	__u32 pad;
	__u64 v;
};

struct sel_ino_key {
	__u32 id;
	__u32 dev; /* kernel s_dev: major << 20 | minor */
	__u64 ino;
};

struct sel_u32_key {
	__u32 id;
	__u32 v; /* pid or namespace inum */
};

/* sel_exe value: the executable of a process (by tgid), from sched_process_exec or the procfs walk. */
struct sel_exe {
	__u32 dev;
	__u32 flags; /* SEL_EXE_* */
	__u64 ino;
	__u32 len;   /* of path, NUL excluded */
	__u32 pad;
	char path[SEL_STR_MAX]; /* zero-padded; the first 255 bytes of a longer path (SEL_EXE_TRUNC) */
};
#define SEL_EXE_TRUNC 0x1
#define SEL_EXE_PROCFS 0x2

struct sel_rl_key {
	__u32 hook_id;
	__u32 sel;
	__u32 scope_id; /* tid, tgid or 0 */
	__u32 pad;
};

struct sel_pending_key {
	__u32 tid;
	__u32 pos; /* position of the hook in the syscall's chain */
};

/* msg_generic_syscall.common.flags */
#define SEL_MSG_MONITOR 0x1 /* the hook is in monitor mode: `action` was not carried out */
#define SEL_MSG_RETURN 0x2  /* ret holds the return value (reported at sys_exit) */
#define SEL_MSG_FAULT 0x4   /* some string argument could not be read (see fault) */
#define SEL_MSG_TRUNC 0x8   /* some string or char_buf argument was cut to SEL_STR_MAX - 1 bytes (see trunc) */
#define SEL_MSG_RCOPY 0x10  /* parked only: some slot is a returnCopy placeholder (sys_exit reads it; never submitted) */

/* msg_generic_syscall.action */
enum sel_action_taken {
	SEL_ACT_POST = 1,   /* reported only */
	SEL_ACT_SIGKILL = 2,
	SEL_ACT_SIGNAL = 3,
};

/* Argument entry header in the data after msg_generic_syscall: then len bytes (int: 8, LE). */
struct sel_msg_arg {
	__u8 kind;  /* enum sel_arg_kind */
	__u8 index; /* syscall argument */
	__u16 len;
};

/*
 * The payload of a char_buf slot (sel_arg kinds SEL_ARG_BUF and SEL_ARG_PREBUF: in syscall and
 * tracepoint records, and the KF_SRC_BUF slots of kfunc records) starts with this, then the bytes
 * read: min(size, SEL_STR_MAX - 1) of them. size is the buffer's length as the kernel knew it (the
 * sizeArgIndex argument or field; for returnCopy, min(return value, that argument), 0 for an error
 * return), so size > the bytes that follow means the buffer was cut: Tetragon's truncated_bytes_arg
 * and its orig_size. With the slot's fault bit set no bytes follow (the buffer was unreadable).
 */
struct sel_msg_buf {
	__u64 size;
};

/* The largest slot payload: a char_buf's struct sel_msg_buf and SEL_STR_MAX - 1 bytes (a string has no header). */
#define SEL_SLOT_MAX (sizeof(struct sel_msg_buf) + SEL_STR_MAX)

/*
 * One syscall a selector matched. Followed by args_len bytes: for each declared argument in
 * declaration order, a struct sel_msg_arg and its payload (an int as u64; a string's bytes, no NUL; a
 * char_buf's struct sel_msg_buf and bytes).
 */
struct msg_generic_syscall {
	struct msg_common common;
	__u32 tgid;
	__u32 tid;
	__u32 uid;
	__u32 euid;
	__u32 hook_id;
	__u16 slot;
	__u8 selector;  /* index of the first matching selector (0 when the hook has none) */
	__u8 action;    /* enum sel_action_taken */
	__u32 nr;       /* syscall number (x86_64) */
	__u8 sig;       /* signal sent, or that monitor mode withheld */
	__u8 nargs;
	__u8 fault;     /* bit i: declared argument i unreadable (EFAULT) */
	__u8 trunc;     /* bit i: declared argument i truncated */
	__s64 ret;      /* SEL_MSG_RETURN only */
	__u32 gen;
	__u16 args_len;
	__u16 pad;
	char comm[16];
	__u64 cgroup_id; /* cgroup v2 id of the caller (pod association) */
};

#define SEL_DATA_MAX (SEL_MAX_ARGS * (sizeof(struct sel_msg_arg) + SEL_SLOT_MAX))

/* Per-CPU counters (index into sel_counters). Every record not submitted is counted. */
enum sel_counter {
	SEL_CNT_EVALS = 0,        /* calls of a watched syscall evaluated against a hook */
	SEL_CNT_MATCHED = 1,      /* a selector matched */
	SEL_CNT_POSTED = 2,       /* records submitted */
	SEL_CNT_RB_FULL = 3,      /* record lost: ring buffer full (the action still applied) */
	SEL_CNT_RATE_LIMITED = 4, /* record withheld by rateLimit */
	SEL_CNT_NOPOST = 5,       /* matched, NoPost: no record by design */
	SEL_CNT_SIGNALS = 6,      /* signals sent */
	SEL_CNT_SIGNAL_FAIL = 7,  /* bpf_send_signal failed */
	SEL_CNT_MONITOR = 8,      /* signals withheld (monitor mode) */
	SEL_CNT_STR_FAULT = 9,    /* string argument unreadable (EFAULT): filters on it do not match */
	SEL_CNT_NO_TABLE = 10,    /* the generation's hook table was missing */
	SEL_CNT_HEAP = 11,        /* per-CPU scratch unavailable */
	SEL_CNT_PENDING_FULL = 12,/* record for sys_exit could not be parked: lost */
	SEL_CNT_EXE_UNKNOWN = 13, /* matchBinaries on a process without a sel_exe entry: no match */
	SEL_CNT_COMPAT = 14,      /* ia32 syscalls skipped (their numbers are not x86_64's) */
	SEL_CNT_EXE_MAP_FULL = 15,
	SEL_CNT_MAX = 16,
};
