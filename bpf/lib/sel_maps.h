/* SPDX-License-Identifier: GPL-2.0 */
/* Every map of the syscall_tracepoint backend (programs/syscall/). */
#pragma once
#include "sel_msg.h"

#define SEL_SET_ENTRIES 65536 /* two generations of value sets */

/** @brief Reports of matched syscalls (size set by user space before load; BPF_RB_NO_WAKEUP, drained on a timer). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} sel_rb_events SEC(".maps");

/** @brief Live generation and on/off switch (struct sel_conf at index 0). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sel_conf);
} sel_conf_map SEC(".maps");

/*
 * The first filter: syscall number → hook slots of each generation. A syscall no hook watches costs
 * this one lookup. Every table map below frees its elements through RCU (BPF_F_NO_PREALLOC, LPM tries
 * always do): a program holding a value keeps a consistent copy while user space replaces it, and
 * user space only ever writes the generation that is not live.
 */

/** @brief Syscall number → struct sel_nr (hook slots per generation). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct sel_nr);
} sel_syscalls SEC(".maps");

/*
 * An array, not a hash: its lookup is inlined, and every step of an evaluation looks the hook up
 * again (global functions take scalars only). It is rewritten in place, which is safe because user
 * space writes only the generation that is not live, and a program still reading that generation
 * (it loaded sel_conf_map.gen before the last flip) runs with preemption disabled (a tp_btf program
 * on the syscall tracepoints runs under the probe's preempt guard): it has finished long before the
 * next apply() writes again.
 */
/** @brief Compiled hook tables (struct sel_hook) at SEL_HOOK_IDX(generation, slot). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SEL_MAX_HOOKS);
	__type(key, __u32);
	__type(value, struct sel_hook);
} sel_hooks SEC(".maps");

/** @brief Equal/NotEqual string values and matchBinaries paths: (id, length, zero-padded bytes) → 1. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SEL_SET_ENTRIES);
	__uint(key_size, sizeof(struct sel_strbuf));
	__uint(value_size, sizeof(__u8));
} sel_str_eq SEC(".maps");

/** @brief Prefix/NotPrefix values: LPM trie keyed by (id, string bytes), prefix length 32 + 8 × length. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SEL_SET_ENTRIES);
	__uint(key_size, 8 + SEL_LPM_STR);
	__uint(value_size, sizeof(__u8));
} sel_str_prefix SEC(".maps");

/** @brief Postfix/NotPostfix values: the same trie over the reversed strings. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SEL_SET_ENTRIES);
	__uint(key_size, 8 + SEL_LPM_STR);
	__uint(value_size, sizeof(__u8));
} sel_str_postfix SEC(".maps");

/** @brief Equal/NotEqual integer values: (id, value) → 1. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SEL_SET_ENTRIES);
	__type(key, struct sel_int_key);
	__type(value, __u8);
} sel_int_set SEC(".maps");

/** @brief matchBinaries In/NotIn executables resolved at apply: (id, dev, ino) → 1. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, struct sel_ino_key);
	__type(value, __u8);
} sel_bin_ino SEC(".maps");

/** @brief matchPIDs and matchNamespaces values: (id, pid or inum) → 1. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SEL_SET_ENTRIES);
	__type(key, struct sel_u32_key);
	__type(value, __u8);
} sel_u32_set SEC(".maps");

/** @brief followForks roots: pid → its bit (user space assigns one of 64 bits per followed pid). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} sel_follow_roots SEC(".maps");

/** @brief Per tgid: bits of the followed pids it descends from (inherited at fork, seeded from /proc). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} sel_lineage SEC(".maps");

/*
 * followChildren: user space gives each distinct followChildren value list one of 64 bits and lists
 * its executables here; sched_process_exec ORs the bits of the file it runs into the process's
 * sel_fc_lineage, which fork copies to the child (an exec keeps them): "this process or an ancestor ran
 * one of these binaries".
 */
/** @brief followChildren executables by (id 0, dev, ino) → bits. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, struct sel_ino_key);
	__type(value, __u64);
} sel_fc_ino SEC(".maps");

/** @brief followChildren executables by path (struct sel_strbuf, id 0) → bits. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__uint(key_size, sizeof(struct sel_strbuf));
	__uint(value_size, sizeof(__u64));
} sel_fc_path SEC(".maps");

/** @brief Per tgid: followChildren bits of itself and its ancestors (set at exec, inherited at fork, seeded from /proc). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} sel_fc_lineage SEC(".maps");

/** @brief Per tgid: the executable (struct sel_exe), from sched_process_exec, fork and the procfs walk. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct sel_exe);
} sel_exe_map SEC(".maps");

/** @brief rateLimit: (hook, selector, thread/process/0) → ktime of the last report. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sel_rl_key);
	__type(value, __u64);
} sel_ratelimit SEC(".maps");

/* The scratch space of one evaluation: the record being built and the arguments as the maps want them. */
struct sel_heap {
	struct msg_generic_syscall msg;
	char data[SEL_DATA_MAX];
	/* Everything below is scratch, never submitted. */
	__u64 ival[SEL_MAX_ARGS];
	__s32 slen[SEL_MAX_ARGS]; /* string length (NUL excluded), or -errno */
	__u64 olen[SEL_MAX_ARGS]; /* char_buf: the buffer's length (struct sel_msg_buf.size); slen is what was read */
	struct sel_strbuf str[SEL_MAX_ARGS];
	struct sel_strbuf rev[SEL_MAX_ARGS];
	struct sel_strbuf exe;
	struct sel_strbuf exe_rev;
	__u64 args[SEL_MAX_ARGS]; /* raw syscall arguments */
	__u32 gen;
	__u32 slot;
	__u32 nr;
	__u32 tgid;
	__u32 exe_known;
	__u32 exe_dev;
	__u32 exe_flags;
	__u32 exe_len;   /* exe.hdr is rewritten by every lookup: the length lives here */
	__u64 exe_ino;
	__u64 lineage;
	__u64 caps[3];       /* enum sel_cap_type order */
	__u32 ns[SEL_NS_MAX];
	__u32 cursor;        /* map-resident loop cursor (see sel_filter.h) */
	/* matchParentBinaries: the parent's executable, like exe_* above. */
	struct sel_strbuf pexe;
	struct sel_strbuf pexe_rev;
	__u32 pexe_known;
	__u32 pexe_dev;
	__u32 pexe_flags;
	__u32 pexe_len;
	__u64 pexe_ino;
	__u64 fc_lineage;    /* sel_fc_lineage of the process */
	__u64 pfc_lineage;   /* ... and of its parent */
	/* A path slot's inode (path_slot.h; 0: none, or not a path), matched by Equal/NotEqual in sel_bin_ino. */
	__u64 fino[SEL_MAX_ARGS];
	__u32 fdev[SEL_MAX_ARGS];
	__u32 nspid;         /* isNamespacePID: the tgid in the process's own (innermost) pid namespace, 0 unknown */
	/* isNamespacePID + followForks: nspid of the process (0), its real_parent (1), ... and which are known (bits). */
	__u32 nspid_chain[SEL_NSPID_LEVELS];
	__u32 nspid_chain_known;
};

/** @brief Per-CPU scratch for one evaluation (too big for the 512-byte stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sel_heap);
} sel_heap_map SEC(".maps");

/* A record parked at sys_enter for a hook that reports at sys_exit. */
struct sel_pending {
	struct msg_generic_syscall msg;
	char data[SEL_DATA_MAX];
};

/** @brief Records of `return: true` hooks between sys_enter and sys_exit, by (thread, chain position). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2048);
	__type(key, struct sel_pending_key);
	__type(value, struct sel_pending);
} sel_pending_map SEC(".maps");

/* Walking a dentry chain into a path (like d_path.h, with this backend's own scratch). */
struct sel_path_heap {
	char buf[2 * SEL_STR_MAX * 4];
	__u32 off;
	__u32 truncated;
	struct sel_exe exe;
	struct sel_strbuf key; /* sel_fc_path lookup */
};

/** @brief Per-CPU scratch to resolve an executable's path at exec. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sel_path_heap);
} sel_path_heap_map SEC(".maps");

/** @brief Counters (enum sel_counter), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SEL_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sel_counters SEC(".maps");
