/* SPDX-License-Identifier: GPL-2.0 */
/* Every map of the process sensor. */
#pragma once
#include "msg_types.h"

#define PATH_BUF 4096
#define ARGS_MAX 16384
#define CGROUP_NAME_MAX 256
#define EXEC_DATA_MAX (PATH_BUF + PATH_BUF + ARGS_MAX + CGROUP_NAME_MAX)

/** @brief The one ring buffer all records go through (size set by user space before load). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} tg_rb_events SEC(".maps");

/** @brief Live processes by tgid: the key of their current image and of its parent. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct execve_map_value);
} tg_execve_map SEC(".maps");

/** @brief Counters of records and failures (enum tg_counter), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tg_counters SEC(".maps");

/** @brief User-space knobs (struct tg_conf at index 0). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_conf);
} tg_conf_map SEC(".maps");

struct exec_heap {
	struct msg_exec msg;
	char data[EXEC_DATA_MAX];
};

/** @brief Scratch space to build an exec record (too big for the 512-byte stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_heap);
} tg_exec_heap SEC(".maps");

/* The walk keeps its cursor in map memory, not on the stack: a value the verifier reads back from a map
 * is an unknown scalar, so the states of successive iterations compare equal and prune, instead of
 * multiplying with every distinct offset. */
struct path_heap {
	char buf[PATH_BUF * 2];
	__u32 off;
	__u32 truncated;
};

/** @brief Scratch space for walking dentries backwards into a path. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_heap);
} tg_path_heap SEC(".maps");
