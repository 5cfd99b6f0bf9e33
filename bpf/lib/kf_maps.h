/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The maps of the kfunc backend (programs/kfunc/) besides the selector engine's (sel_maps.h: sel_hooks,
 * value sets, sel_exe_map, sel_lineage, sel_conf_map, sel_heap_map, used as the syscall backend uses
 * them). Every per-site object instance reuses the base instance's maps (bpf_map__reuse_fd), so there is
 * one copy of each, whatever the number of attached functions.
 */
#pragma once
#include "kf_msg.h"
#include "sel_maps.h"

/** @brief Reports of matched kernel function calls (BPF_RB_NO_WAKEUP, drained on a timer). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} kf_rb_events SEC(".maps");

/* Written like sel_hooks: only the generation that is not live. */
/** @brief Per policy hook: what each argument slot extracts and the Override errnos (struct kf_hook). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SEL_MAX_HOOKS);
	__type(key, __u32);
	__type(value, struct kf_hook);
} kf_hooks SEC(".maps");

/** @brief Site (the program copy's number) → attach kind and policy hook slots per generation (struct kf_site). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KF_MAX_SITES);
	__type(key, __u32);
	__type(value, struct kf_site);
} kf_sites SEC(".maps");

/* A record being built (too big for the stack). */
struct kf_heap {
	struct msg_kfunc msg;
	char data[KF_DATA_MAX];
};

/** @brief Per-CPU scratch for the record. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kf_heap);
} kf_heap_map SEC(".maps");

/** @brief Per-CPU: 1 while a program evaluates on this CPU (its scratch, sel_heap and kf_heap, is in use). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} kf_busy_map SEC(".maps");

/** @brief Records of `return: true` hooks between the call and its return, by (thread, site, chain position). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2048);
	__type(key, struct kf_pending_key);
	__type(value, struct kf_heap);
} kf_pending_map SEC(".maps");

/** @brief Counters (enum kf_counter), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KF_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} kf_counters SEC(".maps");
