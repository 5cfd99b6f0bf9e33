/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `tracepoints:` hooks: programs attached by user space to the subsystem/events policies name
 * (bpf_program__attach_tracepoint; no attach cookie, so it also runs on 5.10). sel_syscalls, keyed by
 * the program copy's number in this object (generic_tp.o has its own maps), gives the hook chain; per hook the declared fields are copied out of the record by the
 * sel_tp_hooks table, then the syscall backend's evaluation (sel__run_hook) and actions run unchanged.
 * Tracepoints only observe: Post, NoPost and signals, never Override.
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "compiler.h"
#include "enter.h"
#include "sel_tp.h"

/** @brief Per hook slot and generation: where its fields sit in the record (struct sel_tp_hook). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SEL_MAX_HOOKS);
	__type(key, __u32);
	__type(value, struct sel_tp_hook);
} sel_tp_hooks SEC(".maps");

FUNC_INLINE void tp__str_done(struct sel_heap *h, __u32 w, long r)
{
	if (r < 0) {
		h->slen[w] = r;
		sel__count(SEL_CNT_STR_FAULT);
		return;
	}
	h->slen[w] = r > 0 ? r - 1 : 0;
}

/* char_buf: the length field (sizeArgIndex) of the record (a negative signed length: 0). */
FUNC_INLINE __u64 tp__buf_len(void *ctx, struct sel_tp_field *f)
{
	__u32 n = f->len_size & 15;
	__u64 v = 0;

	if (n > 8)
		n = 8;
	bpf_probe_read_kernel(&v, n, ctx + f->len_off);
	if (f->len_size & SEL_TP_LEN_SIGNED) {
		v = sel__narrow(v, n, 1);
		if ((__s64)v < 0)
			v = 0;
	}
	return v;
}

/* Fill the scratch with hook `slot`'s fields: ints into args[j], strings and buffers into str[j]/slen[j] (buffers: olen[j]). */
static __noinline int tp__fill(void *ctx, __u32 slot)
{
	struct sel_heap *h = sel__heap();
	struct sel_tp_hook *t;
	__u32 idx, j;

	if (!h)
		return 0;
	idx = SEL_HOOK_IDX(h->gen, slot);
	t = bpf_map_lookup_elem(&sel_tp_hooks, &idx);
	if (!t)
		return 0;
	for (j = 0; j < SEL_MAX_ARGS; j++) {
		struct sel_tp_field *f = &t->f[j];
		__u64 v = 0, p = 0;
		__u32 w, off, n, loc = 0;
		long r;

		if (j >= t->nfields)
			break;
		w = sel__idx(j, 7);
		if (w >= SEL_MAX_ARGS)
			break;
		w = sel__idx(w, 7);
		off = f->off;
		if (f->how == SEL_TP_INT) {
			n = f->size & 15;
			if (n > 8)
				n = 8;
			bpf_probe_read_kernel(&v, n, ctx + off);
			h->args[w] = v;
			continue;
		}
		__builtin_memset(h->str[w].s, 0, SEL_STR_MAX);
		switch (f->how) {
		case SEL_TP_USTR:
			bpf_probe_read_kernel(&p, sizeof(p), ctx + off);
			r = bpf_probe_read_user_str(h->str[w].s, SEL_STR_MAX, (const void *)p);
			break;
		case SEL_TP_KSTR:
			bpf_probe_read_kernel(&p, sizeof(p), ctx + off);
			r = bpf_probe_read_kernel_str(h->str[w].s, SEL_STR_MAX, (const void *)p);
			break;
		case SEL_TP_DLOC:
			bpf_probe_read_kernel(&loc, sizeof(loc), ctx + off);
			r = bpf_probe_read_kernel_str(h->str[w].s, SEL_STR_MAX, ctx + (loc & 0xffff));
			break;
		case SEL_TP_ARRAY:
			n = f->size & 0x1ff;
			if (n > SEL_STR_MAX)
				n = SEL_STR_MAX;
			r = bpf_probe_read_kernel_str(h->str[w].s, n, ctx + off);
			break;
		case SEL_TP_UBUF:
		case SEL_TP_KBUF:
			bpf_probe_read_kernel(&p, sizeof(p), ctx + off);
			v = tp__buf_len(ctx, f);
			h->olen[w] = v;
			n = v > SEL_STR_MAX - 1 ? SEL_STR_MAX - 1 : v;
			n = sel__idx(n, SEL_STR_MAX - 1);
			if (f->how == SEL_TP_UBUF)
				r = bpf_probe_read_user(h->str[w].s, n, (const void *)p);
			else
				r = bpf_probe_read_kernel(h->str[w].s, n, (const void *)p);
			/* As tp__str_done counts: n + 1 for the bytes read, the error otherwise. */
			r = r < 0 ? r : (long)n + 1;
			break;
		default:
			r = 0;
		}
		tp__str_done(h, w, r);
	}
	return 0;
}

/*
 * The event cannot be read from the record: for BPF the kernel overwrites its first 8 bytes
 * (common_type included) with the pt_regs pointer (perf_trace_run_bpf_submit), and attach cookies
 * need 5.15. So the object carries SEL_TP_PROGS copies of the program, each with its own number:
 * user space attaches copy n to one subsystem/event and keys that event's hook chain by n.
 */
FUNC_INLINE int tp__run(void *ctx, __u32 n)
{
	__u32 zero = 0, gen, i, tgid;
	struct sel_conf *conf;
	struct sel_heap *h;
	struct sel_nr *v;

	v = bpf_map_lookup_elem(&sel_syscalls, &n);
	if (!v)
		return 0;
	conf = bpf_map_lookup_elem(&sel_conf_map, &zero);
	if (!conf || !conf->enabled)
		return 0;
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
	h->nr = n;
	for (i = 0; i < SEL_MAX_CHAIN; i++) {
		__u32 slot = v->slots[gen][i];

		if (slot == SEL_NO_SLOT)
			break;
		tp__fill(ctx, slot);
		sel__run_hook(slot, i);
	}
	return 0;
}

#define SEL_TP_PROG(n)                         \
	SEC("tracepoint")                      \
	int sel_tp##n(void *ctx)               \
	{                                      \
		return tp__run(ctx, n);        \
	}

SEL_TP_PROG(0)
SEL_TP_PROG(1)
SEL_TP_PROG(2)
SEL_TP_PROG(3)
SEL_TP_PROG(4)
SEL_TP_PROG(5)
SEL_TP_PROG(6)
SEL_TP_PROG(7)
