/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sys_enter (the raw syscall tracepoint, typed): every syscall of every task passes here, so the first thing done is one
 * bit test of the syscall number in sel_conf.nr_mask (an inlined array lookup); a number no hook
 * watches returns at once, before the sel_syscalls hash lookup. For a
 * watched number, each hook of the live generation's chain is evaluated (sel__run_hook), and the
 * first matching selector's actions run: a signal (bpf_send_signal: delivered on the return to user
 * space, so the syscall itself completes), a report, or — for a `return: true` hook — a record
 * parked until sys_exit adds the return value.
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "compiler.h"
#include "sel_filter.h"
#include "sel_process.h"
#include "sel_act.h"
#include "rcopy.h"


/* Append the declared arguments to the record; returns the number of data bytes. */
FUNC_INLINE __u32 sel__put_args(struct sel_heap *h, struct sel_hook *hook)
{
	__u32 pos = 0, i, p, len;

	h->msg.fault = 0;
	h->msg.trunc = 0;
	for (i = 0; i < SEL_MAX_ARGS; i++) {
		struct sel_msg_arg *m;
		__s32 n;

		if (i >= hook->nargs)
			break;
		/* Offsets bounded where they are used (older verifiers lose bounds across spills). */
		p = sel__idx(pos, 2047);
		if (p > SEL_DATA_MAX - sizeof(*m) - SEL_SLOT_MAX)
			break;
		p = sel__idx(p, 2047);
		m = (struct sel_msg_arg *)&h->data[p];
		m->kind = hook->args[i].kind;
		m->index = hook->args[i].index;
		pos = p + sizeof(*m);
		if (m->kind == SEL_ARG_INT) {
			__builtin_memcpy(&h->data[pos], &h->ival[i], 8);
			m->len = 8;
			pos += 8;
			continue;
		}
		if (m->kind == SEL_ARG_RBUF || m->kind == SEL_ARG_RSTR) {
			m->len = sel__rcopy_park(h, &hook->args[i], pos); /* read at sys_exit (rcopy.h) */
			pos += m->len;
			continue;
		}
		n = h->slen[i];
		if (n < 0) {
			h->msg.fault |= 1 << i;
			n = 0;
		}
		if (n > SEL_STR_MAX - 1)
			n = SEL_STR_MAX - 1;
		len = sel__idx(n, SEL_STR_MAX - 1); /* n <= 255 already */
		if (m->kind == SEL_ARG_BUF || m->kind == SEL_ARG_PREBUF) {
			/* char_buf: its length first (struct sel_msg_buf); cut when that exceeds what was read. */
			struct sel_msg_buf b = { .size = h->olen[i] };

			if (h->slen[i] >= 0 && b.size > len)
				h->msg.trunc |= 1 << i;
			__builtin_memcpy(&h->data[pos], &b, sizeof(b));
			pos += sizeof(b);
			m->len = sizeof(b) + len;
		} else {
			if (n == SEL_STR_MAX - 1)
				h->msg.trunc |= 1 << i;
			m->len = len;
		}
		bpf_probe_read_kernel(&h->data[pos], len, h->str[i].s);
		pos += len;
	}
	return pos;
}

/* The first matching selector s (or s = SEL_MAX_SELECTORS: a hook without selectors) acts. */
__noinline int sel__act(__u32 s, __u32 pos)
{
	struct sel_heap *h = sel__heap();
	struct sel_action act;
	struct sel_pending_key pk;
	struct sel_hook *hook;
	__u32 len, monitor;
	__s32 err;
	__u64 now = bpf_ktime_get_ns(), pid_tgid = bpf_get_current_pid_tgid();
	struct msg_generic_syscall *m;

	if (!h)
		return 0;
	hook = sel__hook(h);
	if (!hook)
		return 0;
	monitor = hook->flags & SEL_HOOK_MONITOR;
	/* Observe-only: no errnos; SEL_CNT_MAX for denials, which cannot happen here. */
	if (!sel__decide(&sel_counters, SEL_CNT_MAX, SEL_CNT_MONITOR, hook, NULL, &s, &act, &err, now))
		return 0;

	m = &h->msg;
	SEL_MSG_HEAD(m, hook->flags & SEL_HOOK_TP ? MSG_OP_GENERIC_TRACEPOINT : MSG_OP_GENERIC_SYSCALL, monitor ? SEL_MSG_MONITOR : 0, now,
		     pid_tgid, hook, h, s);
	m->action = act.sig == 9 ? SEL_ACT_SIGKILL : act.sig ? SEL_ACT_SIGNAL : SEL_ACT_POST;
	m->nr = hook->nr;
	m->sig = act.sig;
	m->ret = 0;
	m->pad = 0;
	len = sel__put_args(h, hook);
	m->args_len = len;
	if (m->fault)
		m->common.flags |= SEL_MSG_FAULT;
	if (m->trunc)
		m->common.flags |= SEL_MSG_TRUNC;
	len += sizeof(*m);
	m->common.size = len;
	if (len > sizeof(struct sel_pending))
		return 0;
	if (hook->flags & SEL_HOOK_RETURN) {
		pk.tid = m->tid;
		pk.pos = pos;
		if (bpf_map_update_elem(&sel_pending_map, &pk, m, BPF_ANY))
			sel__count(SEL_CNT_PENDING_FULL);
		return 0;
	}
	if (bpf_ringbuf_output(&sel_rb_events, m, len, BPF_RB_NO_WAKEUP))
		sel__count(SEL_CNT_RB_FULL);
	else
		sel__count(SEL_CNT_POSTED);
	return 0;
}

/* Evaluate hook `slot` (at position pos of the syscall's chain) against the current call. */
__noinline int sel__run_hook(__u32 slot, __u32 pos)
{
	struct sel_heap *h = sel__heap();
	struct sel_hook *hook;
	__u32 i, nargs, nsel;

	if (!h)
		return 0;
	h->slot = slot;
	hook = sel__hook(h);
	if (!hook || hook->nr != h->nr) {
		sel__count(SEL_CNT_NO_TABLE); /* a chain pointing at a slot not (yet) written: never expected */
		return 0;
	}
	sel__count(SEL_CNT_EVALS);
	nargs = hook->nargs;
	nsel = hook->nsel;
	sel__load_process(h, hook->flags);
	for (i = 0; i < SEL_MAX_ARGS; i++) {
		if (i >= nargs)
			break;
		sel__read_arg(i);
	}
	if (nsel == 0)
		return sel__act(SEL_MAX_SELECTORS, pos);
	for (i = 0; i < SEL_MAX_SELECTORS; i++) {
		if (i >= nsel)
			break;
		if (sel__match_selector(i))
			return sel__act(i, pos);
	}
	return 0;
}

/*
 * An ia32 syscall (x86 thread_info.status TS_COMPAT): its number and registers mean something else.
 * A direct load through the BTF task pointer where the kernel has bpf_get_current_task_btf (5.11+;
 * the call is dead code, removed at load, on 5.10), a probe read otherwise.
 */
FUNC_INLINE bool sel__in_compat_syscall(void)
{
	struct task_struct *task;

	if (!bpf_core_field_exists(struct task_struct, thread_info.status))
		return false;
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)) {
		task = bpf_get_current_task_btf();
		return task->thread_info.status & SEL_TS_COMPAT;
	}
	task = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(task, thread_info.status) & SEL_TS_COMPAT;
}

/*
 * tp_btf, not a `tracepoint` program: a classic tracepoint program runs behind perf's record copy for
 * every syscall of every task, a typed one is called directly with the registers (bench/openat-flood:
 * the dispatch alone cost ~175 ns per syscall the classic way).
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(sel_sys_enter, struct pt_regs *regs, long id)
{
	__u32 nr = (__u32)id, gen, i, tgid;
	struct sel_conf *conf;
	struct sel_heap *h;
	struct sel_nr *v;

	conf = sel__conf_if_watched(nr);
	if (!conf || !conf->enabled)
		return 0;
	v = bpf_map_lookup_elem(&sel_syscalls, &nr);
	if (!v)
		return 0;
	if (sel__in_compat_syscall()) {
		sel__count(SEL_CNT_COMPAT);
		return 0;
	}
	tgid = bpf_get_current_pid_tgid() >> 32;
	if (tgid == conf->self_tgid)
		return 0;
	h = sel__heap();
	if (!h) {
		sel__count(SEL_CNT_HEAP);
		return 0;
	}
	gen = conf->gen & 1;
	h->gen = gen;
	h->tgid = tgid;
	h->nr = nr;
	/* The x86-64 syscall ABI: arguments in di, si, dx, r10, r8, r9 (regs is a trusted BTF pointer). */
	h->args[0] = regs->di;
	h->args[1] = regs->si;
	h->args[2] = regs->dx;
	h->args[3] = regs->r10;
	h->args[4] = regs->r8;
	h->args[5] = regs->r9;
	for (i = 0; i < SEL_MAX_CHAIN; i++) {
		__u32 slot = v->slots[gen][i];

		if (slot == SEL_NO_SLOT)
			break;
		sel__run_hook(slot, i);
	}
	return 0;
}
