/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sched_process_fork: a new process (not a thread) is created as a copy of its parent. Recording it
 * makes the parent of its later exec — or its exit, if it never execs — known.
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "compiler.h"
#include "maps.h"
#include "process.h"

SEC("tp_btf/sched_process_fork")
int BPF_PROG(event_clone, struct task_struct *parent, struct task_struct *child)
{
	struct execve_map_value next = {};
	struct msg_clone m = {};
	bool known = false;
	__u32 tgid;

	if (BPF_CORE_READ(child, flags) & PF_KTHREAD)
		return 0;
	tgid = BPF_CORE_READ(child, tgid);
	if (tgid != BPF_CORE_READ(child, pid))
		return 0; /* a thread */

	m.common.op = MSG_OP_CLONE;
	m.common.size = sizeof(m);
	m.common.ktime = bpf_ktime_get_ns();
	m.key.pid = tgid;
	m.key.ktime = BPF_CORE_READ(child, start_time);
	task__key(parent, &m.parent, &known);
	m.tid = tgid;
	m.flags = EVENT_CLONE | (known ? 0 : EVENT_MISS);
	m.cgroup_id = task__cgroup_id(child);

	next.key = m.key;
	next.pkey = m.parent;
	next.flags = EVENT_CLONE;
	if (bpf_map_update_elem(&tg_execve_map, &tgid, &next, BPF_ANY))
		counter__inc(CNT_MAP_FULL);
	if (bpf_ringbuf_output(&tg_rb_events, &m, sizeof(m), BPF_RB_NO_WAKEUP))
		counter__inc(CNT_RB_FULL_CLONE);
	else
		counter__inc(CNT_CLONES);
	return 0;
}
