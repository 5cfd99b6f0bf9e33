/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sys_exit (typed), attached only while some hook reports at sys_exit (`return: true`): the
 * records sys_enter parked for this thread get the return value and are submitted (those with returnCopy
 * arguments after reading them: rcopy.h). A parked record
 * whose syscall never returns (exit, a successful execve of another number) stays until the LRU
 * evicts it or the thread's next call of that hook replaces it.
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "compiler.h"
#include "sel_filter.h"
#include "rcopy.h"

/* Typed like sys_enter (enter.h): the syscall number is read back from the registers. */
SEC("tp_btf/sys_exit")
int BPF_PROG(sel_sys_exit, struct pt_regs *regs, long ret)
{
	__u32 nr = (__u32)regs->orig_ax, i;
	struct sel_pending_key pk;
	struct sel_nr *v;

	if (!sel__conf_if_watched(nr))
		return 0;
	v = bpf_map_lookup_elem(&sel_syscalls, &nr);
	if (!v)
		return 0;
	/* Either generation: a record parked just before a flip is still delivered. */
	if (!v->exit[0] && !v->exit[1])
		return 0;
	pk.tid = (__u32)bpf_get_current_pid_tgid();
	for (i = 0; i < SEL_MAX_CHAIN; i++) {
		struct sel_pending *p;
		__u32 len;

		pk.pos = i;
		p = bpf_map_lookup_elem(&sel_pending_map, &pk);
		if (!p)
			continue;
		if (p->msg.nr == nr && (p->msg.common.flags & SEL_MSG_RCOPY)) {
			sel__rcopy_submit(i, ret);
		} else if (p->msg.nr == nr) {
			p->msg.ret = ret;
			p->msg.common.flags |= SEL_MSG_RETURN;
			len = p->msg.common.size;
			if (len > sizeof(*p))
				len = sizeof(*p);
			if (bpf_ringbuf_output(&sel_rb_events, p, len, BPF_RB_NO_WAKEUP))
				sel__count(SEL_CNT_RB_FULL);
			else
				sel__count(SEL_CNT_POSTED);
		}
		bpf_map_delete_elem(&sel_pending_map, &pk);
	}
	return 0;
}
