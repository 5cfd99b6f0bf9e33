/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Evaluating the policy hooks on one LSM hook call. A program copies its arguments into the
 * selector engine's scratch (sel_heap.args) and calls lsm__run(its enum lsm_hook_id), which runs every
 * policy hook of the live generation's chain: fill the argument slots from kernel objects
 * (lsm__read_arg), then the selectors in order through lsm_filter.h — the syscall backend's engine
 * and tables (sel_filter.h), hardened for older verifiers: the first selector whose filters all match
 * acts (lsm__act). The call is denied with the errno of the first Override that matched in an
 * enforcing hook; every matching hook reports.
 *
 * Steps are global functions taking scalars (verified once each), as in sel_filter.h. Programs take
 * the raw context (u64 per LSM argument) and return long: see lsm__verdict.
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "compiler.h"
#include "lsm_maps.h"
#include "../syscall/path_slot.h" /* paths and inodes; sel_exec/sel_fork/sel_exit for matchBinaries */
#include "lsm_filter.h"
#include "sel_process.h"
#include "sel_act.h"

/* sel__decide counts into this backend's map at enum sel_counter's indices. */
_Static_assert((int)LSM_CNT_MATCHED == (int)SEL_CNT_MATCHED && (int)LSM_CNT_RATE_LIMITED == (int)SEL_CNT_RATE_LIMITED &&
	       (int)LSM_CNT_NOPOST == (int)SEL_CNT_NOPOST && (int)LSM_CNT_SIGNALS == (int)SEL_CNT_SIGNALS &&
	       (int)LSM_CNT_SIGNAL_FAIL == (int)SEL_CNT_SIGNAL_FAIL, "counter indices shared with enum sel_counter");
_Static_assert(sizeof(struct lsm_msg_arg) == sizeof(struct sel_slot_hdr), "slot header layout");

#define LSM_AF_INET 2
#define LSM_AF_INET6 10

FUNC_INLINE void lsm__count(__u32 idx)
{
	sel__count_in(&lsm_counters, idx);
}

FUNC_INLINE struct lsm_hook *lsm__ext(struct sel_heap *h)
{
	__u32 idx = SEL_HOOK_IDX(h->gen, h->slot);

	return bpf_map_lookup_elem(&lsm_hooks, &idx);
}

FUNC_INLINE bool lsm__v4_mapped(struct sockaddr_in6 *sa)
{
	__u32 *w = sa->sin6_addr.in6_u.u6_addr32;

	return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0x0000ffff);
}

/* Fill argument slot i of the current policy hook from the LSM arguments in h->args. */
__noinline int lsm__read_arg(__u32 i)
{
	struct sel_heap *h = sel__heap();
	struct sel_hook *hook;
	struct lsm_hook *ext;
	struct sel_arg *a;
	__u32 zero = 0, idx;
	__u64 raw;

	if (!h)
		return 0;
	hook = sel__hook(h);
	ext = lsm__ext(h);
	if (!hook || !ext)
		return 0;
	i = lsm__idx(i, 7);
	if (i >= SEL_MAX_ARGS)
		return 0;
	i = lsm__idx(i, 7);
	a = &hook->args[i];
	idx = lsm__idx(ext->idx[i], 7);
	if (idx >= SEL_MAX_ARGS)
		return 0;
	idx = lsm__idx(idx, 7);
	raw = h->args[idx];
	h->ival[i] = 0;
	h->slen[i] = 0;
	h->fino[i] = 0;
	h->fdev[i] = 0;
	__builtin_memset(h->str[i].s, 0, SEL_STR_MAX);
	switch (ext->src[i]) {
	case LSM_SRC_INT:
		h->ival[i] = sel__narrow(raw, a->size, a->is_signed);
		return 0;
	case LSM_SRC_BPRM: {
		struct file *f = BPF_CORE_READ((struct linux_binprm *)raw, file);

		sel__path_to_slot(h, i, &f->f_path);
		break;
	}
	case LSM_SRC_FILE:
		sel__path_to_slot(h, i, &((struct file *)raw)->f_path);
		break;
	case LSM_SRC_PATH:
		sel__path_to_slot(h, i, (const struct path *)raw);
		break;
	case LSM_SRC_DENTRY: {
		struct lsm_heap *lh = bpf_map_lookup_elem(&lsm_heap_map, &zero);
		struct path *dir = (struct path *)h->args[0];

		if (!lh)
			return 0;
		lh->path.mnt = BPF_CORE_READ(dir, mnt);
		lh->path.dentry = (struct dentry *)raw;
		sel__path_to_slot(h, i, &lh->path);
		break;
	}
	case LSM_SRC_SA_FAMILY:
	case LSM_SRC_SA_PORT:
	case LSM_SRC_SA_ADDR: {
		struct sockaddr_in6 sa = {};
		__u32 li = idx + 1; /* socket_connect, socket_bind: the length follows the address */
		__s32 addrlen = 0;
		__u16 fam = 0;

		if (li < SEL_MAX_ARGS)
			addrlen = (__s32)h->args[li];

		bpf_probe_read_kernel(&fam, sizeof(fam), (void *)raw);
		if (fam == LSM_AF_INET && addrlen >= (__s32)sizeof(struct sockaddr_in))
			bpf_probe_read_kernel(&sa, sizeof(struct sockaddr_in), (void *)raw);
		else if (fam == LSM_AF_INET6 && addrlen >= (__s32)sizeof(struct sockaddr_in6))
			bpf_probe_read_kernel(&sa, sizeof(sa), (void *)raw);
		if (ext->src[i] == LSM_SRC_SA_FAMILY) {
			h->ival[i] = fam;
			return 0;
		}
		if (ext->src[i] == LSM_SRC_SA_PORT) {
			h->ival[i] = bpf_ntohs(sa.sin6_port); /* sin_port is at the same offset */
			return 0;
		}
		if (sa.sin6_family == LSM_AF_INET) {
			h->str[i].s[0] = LSM_AF_INET;
			__builtin_memcpy(&h->str[i].s[1], &((struct sockaddr_in *)&sa)->sin_addr, 4);
			h->slen[i] = 5;
		} else if (sa.sin6_family == LSM_AF_INET6 && lsm__v4_mapped(&sa)) {
			/* ::ffff:a.b.c.d is an IPv4 destination (as the cgroup connect backend matches it) */
			h->str[i].s[0] = LSM_AF_INET;
			__builtin_memcpy(&h->str[i].s[1], &sa.sin6_addr.in6_u.u6_addr8[12], 4);
			h->slen[i] = 5;
		} else if (sa.sin6_family == LSM_AF_INET6) {
			h->str[i].s[0] = LSM_AF_INET6;
			__builtin_memcpy(&h->str[i].s[1], &sa.sin6_addr, 16);
			h->slen[i] = 17;
		} else {
			h->slen[i] = -22; /* no address this backend can match: no address filter matches */
		}
		return 0;
	}
	default:
		h->slen[i] = -22;
		return 0;
	}
	if (a->reverse)
		lsm__reverse(i);
	return 0;
}


/*
 * The first matching selector s (or SEL_MAX_SELECTORS: a hook without selectors) acts. Returns the
 * errno the call must fail with (Override, enforcing), else 0.
 */
__noinline int lsm__act(__u32 s, __u32 hid)
{
	struct sel_heap *h = sel__heap();
	struct sel_action act;
	struct sel_hook *hook;
	struct lsm_hook *ext;
	struct lsm_heap *lh;
	struct msg_lsm *m;
	__u32 zero = 0, len, monitor;
	__s32 err = 0;
	__u64 now = bpf_ktime_get_ns(), pid_tgid = bpf_get_current_pid_tgid();

	if (!h)
		return 0;
	hook = sel__hook(h);
	ext = lsm__ext(h);
	if (!hook || !ext)
		return 0;
	monitor = hook->flags & SEL_HOOK_MONITOR;
	if (!sel__decide(&lsm_counters, LSM_CNT_DENIED, LSM_CNT_MONITOR, hook, ext->err, &s, &act, &err, now))
		goto out;
	lh = bpf_map_lookup_elem(&lsm_heap_map, &zero);
	if (!lh) {
		lsm__count(LSM_CNT_HEAP);
		goto out;
	}
	m = &lh->msg;
	SEL_MSG_HEAD(m, MSG_OP_LSM, monitor ? LSM_MSG_MONITOR : 0, now, pid_tgid, hook, h, s);
	m->action = err ? LSM_ACT_OVERRIDE : act.sig == 9 ? LSM_ACT_SIGKILL : act.sig ? LSM_ACT_SIGNAL : LSM_ACT_POST;
	m->lsm_hook = hid;
	m->err = err;
	m->sig = act.sig;
	m->pad = 0;
	m->pad2 = 0;
	len = sel__put_slots(h, hook, ext->src, ext->idx, lh->data, LSM_DATA_MAX, &m->fault, &m->trunc);
	m->args_len = len;
	if (m->fault)
		m->common.flags |= LSM_MSG_FAULT;
	if (m->trunc)
		m->common.flags |= LSM_MSG_TRUNC;
	len += sizeof(*m);
	m->common.size = len;
	if (len > sizeof(struct msg_lsm) + LSM_DATA_MAX)
		goto out;
	if (bpf_ringbuf_output(&lsm_rb_events, m, len, BPF_RB_NO_WAKEUP))
		lsm__count(LSM_CNT_RB_FULL);
	else
		lsm__count(LSM_CNT_POSTED);
out:
	return monitor ? 0 : err;
}

/* Evaluate policy hook `slot` against the current call of LSM hook hid; returns its verdict. */
__noinline int lsm__run_hook(__u32 slot, __u32 hid)
{
	struct sel_heap *h = sel__heap();
	struct sel_hook *hook;
	struct lsm_hook *ext;
	__u32 i, nargs, nsel;

	if (!h)
		return 0;
	h->slot = slot;
	hook = sel__hook(h);
	ext = lsm__ext(h);
	if (!hook || !ext || ext->hook != hid) {
		lsm__count(LSM_CNT_NO_TABLE);
		return 0;
	}
	lsm__count(LSM_CNT_EVALS);
	nargs = hook->nargs;
	nsel = hook->nsel;
	sel__load_process(h, hook->flags);
	for (i = 0; i < SEL_MAX_ARGS; i++) {
		if (i >= nargs)
			break;
		lsm__read_arg(i);
	}
	if (nsel == 0)
		return lsm__act(SEL_MAX_SELECTORS, hid);
	for (i = 0; i < SEL_MAX_SELECTORS; i++) {
		if (i >= nsel)
			break;
		if (lsm__match_selector(i))
			return lsm__act(i, hid);
	}
	return 0;
}

/*
 * Every policy hook on LSM hook hid, in order; the caller has put its arguments in sel_heap.args.
 * Returns 0 (allow) or the errno of the first enforcing Override that matched.
 */
__noinline int lsm__run(__u32 hid)
{
	__u32 zero = 0, gen, i, tgid;
	struct lsm_chain *c;
	struct sel_conf *conf;
	struct sel_heap *h;
	int verdict = 0, r;

	if (hid >= LSM_HOOK_MAX)
		return 0;
	c = bpf_map_lookup_elem(&lsm_chains, &hid);
	conf = bpf_map_lookup_elem(&sel_conf_map, &zero);
	if (!c || !conf || !conf->enabled)
		return 0;
	tgid = bpf_get_current_pid_tgid() >> 32;
	if (tgid == conf->self_tgid)
		return 0;
	h = sel__heap();
	if (!h) {
		lsm__count(LSM_CNT_HEAP);
		return 0;
	}
	gen = conf->gen & 1;
	h->gen = gen;
	h->tgid = tgid;
	h->nr = hid;
	for (i = 0; i < LSM_MAX_CHAIN; i++) {
		__u32 slot = c->slots[gen][i];

		if (slot == SEL_NO_SLOT)
			break;
		r = lsm__run_hook(slot, hid);
		if (r < 0 && verdict == 0)
			verdict = r;
	}
	return verdict;
}

/*
 * The scratch a program fills before lsm__run, its argument slots cleared; NULL when unavailable (the
 * call is then allowed, and counted).
 */
FUNC_INLINE struct sel_heap *lsm__args(void)
{
	struct sel_heap *h = sel__heap();

	if (!h) {
		lsm__count(LSM_CNT_HEAP);
		return NULL;
	}
	__builtin_memset(h->args, 0, sizeof(h->args));
	return h;
}

/*
 * What a program returns: 0 or a negative errno, as a 64-bit value the verifier can bound. Kernels
 * from 6.12 check that R0 of an LSM program lies in [-4095, 0] as a 64-bit register: an `int` result
 * moved through a 32-bit register reads as 0..2^32-1 there. So programs return long, and the bounds are
 * checked after the sign extension, on a value the compiler cannot narrow back.
 */
FUNC_INLINE long lsm__verdict(int r32)
{
	long r = r32;

	asm volatile("" : "+r"(r));
	if (r > 0 || r < -4095)
		r = 0;
	return r;
}
