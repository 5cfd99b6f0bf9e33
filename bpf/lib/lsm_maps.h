/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The maps of the bpf_lsm backend (programs/lsm/) besides the selector engine's (sel_maps.h, whose
 * sel_hooks, value sets, sel_exe_map, sel_lineage, sel_conf_map and sel_heap_map it uses as the
 * syscall backend does; its own instances: the two objects share nothing).
 */
#pragma once
#include "lsm_msg.h"
#include "sel_maps.h"

/** @brief Reports of matched LSM hook calls (BPF_RB_NO_WAKEUP, drained on a timer). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} lsm_rb_events SEC(".maps");

/*
 * Written like sel_hooks (only the generation that is not live). A BPF LSM program runs under
 * rcu_read_lock with migration disabled; it is not preempted on the non-preemptible (voluntary) kernels
 * this targets, and even where it could be, a stale read needs two applies during one program run.
 */
/** @brief Per policy hook: what each argument slot extracts and the Override errnos (struct lsm_hook). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SEL_MAX_HOOKS);
	__type(key, __u32);
	__type(value, struct lsm_hook);
} lsm_hooks SEC(".maps");

/** @brief enum lsm_hook_id → the policy hook slots on it, per generation (struct lsm_chain). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LSM_HOOK_MAX);
	__type(key, __u32);
	__type(value, struct lsm_chain);
} lsm_chains SEC(".maps");

/* A record being built (too big for the stack). */
struct lsm_heap {
	struct msg_lsm msg;
	char data[LSM_DATA_MAX];
	struct path path; /* LSM_SRC_DENTRY: the directory's mount with the entry's dentry */
};

/** @brief Per-CPU scratch for the record. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lsm_heap);
} lsm_heap_map SEC(".maps");

/** @brief Counters (enum lsm_counter), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LSM_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lsm_counters SEC(".maps");
