/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sched_process_exit fires for every exiting thread; a process has exited when the last thread of
 * its group goes (signal->live has dropped to 0 before this tracepoint in do_exit).
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "compiler.h"
#include "maps.h"
#include "process.h"

SEC("tp_btf/sched_process_exit")
int BPF_PROG(event_exit, struct task_struct *task)
{
	struct signal_struct *signal = BPF_CORE_READ(task, signal);
	struct msg_exit m = {};
	bool known = false;
	__u32 tgid;

	if (BPF_CORE_READ(task, flags) & PF_KTHREAD)
		return 0;
	if (BPF_CORE_READ(signal, live.counter) != 0)
		return 0;
	tgid = BPF_CORE_READ(task, tgid);

	m.common.op = MSG_OP_EXIT;
	m.common.size = sizeof(m);
	m.common.ktime = bpf_ktime_get_ns();
	task__key(task, &m.key, &known);
	m.tid = BPF_CORE_READ(task, pid);
	/* A group exit (exit_group, fatal signal) carries the group's code, whichever thread goes last. */
	if (BPF_CORE_READ(signal, flags) & SIGNAL_GROUP_EXIT)
		m.code = BPF_CORE_READ(signal, group_exit_code);
	else
		m.code = BPF_CORE_READ(task, exit_code);

	bpf_map_delete_elem(&tg_execve_map, &tgid);
	if (bpf_ringbuf_output(&tg_rb_events, &m, sizeof(m), BPF_RB_NO_WAKEUP))
		counter__inc(CNT_RB_FULL_EXIT);
	else
		counter__inc(CNT_EXITS);
	return 0;
}
