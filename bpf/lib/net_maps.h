/* SPDX-License-Identifier: GPL-2.0 */
/* Every map of the network enforcement sensor (programs/net/). */
#pragma once
#include "net_msg.h"
#include "net_tables.h"

/** @brief Reports of matching connects (size set by user space before load). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} net_rb_events SEC(".maps");

/** @brief Live generation and the global on/off switch (struct net_conf at index 0). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct net_conf);
} net_conf_map SEC(".maps");

/*
 * Tables are written while programs read them, so every table map frees its elements through RCU
 * (BPF_F_NO_PREALLOC): a program that looked a value up keeps a consistent copy even if user space
 * deletes it meanwhile. User space keeps the previous generation until the next apply.
 */

/** @brief Per-generation rule sets (struct net_table keyed by generation). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct net_table);
} net_tables SEC(".maps");

/** @brief IPv4 destination prefixes → rules whose list contains them (two generations' worth). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct net_lpm4_key);
	__type(value, __u64);
} net_lpm4 SEC(".maps");

/** @brief IPv6 destination prefixes → rules (v4-mapped destinations are looked up in net_lpm4). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct net_lpm6_key);
	__type(value, __u64);
} net_lpm6 SEC(".maps");

/** @brief Destination ports → rules whose DPort/NotDPort list holds them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct net_port_key);
	__type(value, __u64);
} net_ports SEC(".maps");

/** @brief Counters (enum net_counter), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NET_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} net_counters SEC(".maps");
