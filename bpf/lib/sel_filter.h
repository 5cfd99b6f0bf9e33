/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Evaluating a compiled hook (struct sel_hook) against one syscall: read the declared arguments,
 * the process attributes the selectors need, then the selectors in order — the first that matches
 * decides (filters within a selector AND, the values of one filter OR).
 *
 * Verifier budget: each step is a global function (verified once, on its own, whatever the number of
 * call sites), taking only scalars and finding the per-CPU scratch and the hook table itself. The
 * selector loop therefore costs the verifier one call per iteration instead of five copies of every
 * filter, and the string reversal loop is verified once rather than per argument.
 *
 * Unreadable strings: bpf_probe_read_user_str at sys_enter fails with -EFAULT when the page holding
 * the string is not resident (the program cannot fault it in). The record then carries the fault bit
 * of that argument, and every filter on it — NotEqual/NotPrefix/NotPostfix included — does not match,
 * so its selector does not match: a Sigkill rule fails open on such a call, and the miss is counted
 * (SEL_CNT_STR_FAULT).
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "compiler.h"
#include "sel_maps.h"

#define SEL_TS_COMPAT 0x0002 /* x86 thread_info.status: an ia32 syscall is in progress */

/* Counter idx of a backend's per-CPU counters map, plus one. */
FUNC_INLINE void sel__count_in(void *counters, __u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(counters, &idx);

	if (v)
		*v += 1;
}

FUNC_INLINE void sel__count(__u32 idx)
{
	sel__count_in(&sel_counters, idx);
}

/*
 * The conf if sel_conf.nr_mask lets syscall nr through, else NULL: one inlined array lookup and a bit
 * test, before any hash lookup, for every syscall of every task (sys_enter and sys_exit).
 */
FUNC_INLINE struct sel_conf *sel__conf_if_watched(__u32 nr)
{
	__u32 zero = 0;
	struct sel_conf *conf = bpf_map_lookup_elem(&sel_conf_map, &zero);

	if (!conf || nr >= SEL_NR_MASK_WORDS * 64 || !((conf->nr_mask[nr >> 6] >> (nr & 63)) & 1))
		return NULL;
	return conf;
}

FUNC_INLINE struct sel_heap *sel__heap(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sel_heap_map, &zero);
}

FUNC_INLINE struct sel_hook *sel__hook(struct sel_heap *h)
{
	__u32 idx = SEL_HOOK_IDX(h->gen, h->slot);

	return bpf_map_lookup_elem(&sel_hooks, &idx);
}

/*
 * An index the verifier sees bounded where it is used: opaque to the compiler, then masked. Used twice
 * around a bounds check (`i = sel__idx(i, 7); if (i >= N) return; i = sel__idx(i, 7);`) so that any
 * copy clang spills to the stack is taken after the check and carries its bounds (the 6.1 verifier
 * does not carry a check over to a spilled copy: "unbounded memory access").
 */
FUNC_INLINE __u32 sel__idx(__u32 v, __u32 mask)
{
	asm volatile("" : "+r"(v));
	return v & mask;
}

/* Reverse the first bytes of argument slot `which` (or the executable: SEL_MAX_ARGS, its parent's: + 1) for the Postfix trie. */
__noinline int sel__reverse(__u32 which)
{
	struct sel_heap *h = sel__heap();
	struct sel_strbuf *src, *dst;
	__u32 len, i, w;

	if (!h)
		return 0;
	w = sel__idx(which, 7);
	if (w < SEL_MAX_ARGS) {
		w = sel__idx(w, 7);
		src = &h->str[w];
		dst = &h->rev[w];
		len = h->slen[w] < 0 ? 0 : h->slen[w];
	} else if (w == SEL_MAX_ARGS) {
		src = &h->exe;
		dst = &h->exe_rev;
		len = h->exe_len;
	} else {
		src = &h->pexe; /* SEL_MAX_ARGS + 1: the parent's executable */
		dst = &h->pexe_rev;
		len = h->pexe_len;
	}
	if (len > SEL_STR_MAX - 1)
		len = SEL_STR_MAX - 1;
	for (i = 0; i < SEL_LPM_STR; i++) {
		if (i >= len)
			break;
		dst->s[i] = src->s[(len - 1 - i) & (SEL_STR_MAX - 1)];
	}
	return 0;
}

FUNC_INLINE __u64 sel__narrow(__u64 v, __u8 size, __u8 is_signed)
{
	switch (size) {
	case 1:
		return is_signed ? (__u64)(__s64)(__s8)v : (__u8)v;
	case 2:
		return is_signed ? (__u64)(__s64)(__s16)v : (__u16)v;
	case 4:
		return is_signed ? (__u64)(__s64)(__s32)v : (__u32)v;
	default:
		return v;
	}
}

/* Read declared argument i of the current hook into the scratch: ival[i], or str[i] and slen[i]. */
__noinline int sel__read_arg(__u32 i)
{
	struct sel_heap *h = sel__heap();
	struct sel_hook *hook;
	struct sel_arg *a;
	__u64 raw, n;
	long r;

	if (!h || i >= SEL_MAX_ARGS)
		return 0;
	hook = sel__hook(h);
	if (!hook)
		return 0;
	a = &hook->args[i];
	if (a->index >= SEL_MAX_ARGS)
		return 0;
	if (a->kind == SEL_ARG_PRE || a->kind == SEL_ARG_PREBUF) {
		/* str[i] and slen[i] (olen[i]) were filled by the attach point's program (tracepoint fields). */
		if (a->reverse)
			sel__reverse(i);
		return 0;
	}
	raw = h->args[a->index];
	h->ival[i] = 0;
	h->slen[i] = 0;
	if (a->kind == SEL_ARG_INT) {
		h->ival[i] = sel__narrow(raw, a->size, a->is_signed);
		return 0;
	}
	/* The sel_str_eq key is the whole zero-padded buffer; LPM keys and reports stop at slen. */
	if (a->exact)
		__builtin_memset(h->str[i].s, 0, SEL_STR_MAX);
	if (a->kind == SEL_ARG_STR) {
		r = bpf_probe_read_user_str(h->str[i].s, SEL_STR_MAX, (const void *)raw);
		if (r < 0) {
			h->slen[i] = r;
			sel__count(SEL_CNT_STR_FAULT);
			return 0;
		}
		h->slen[i] = r > 0 ? r - 1 : 0;
	} else if (a->kind == SEL_ARG_BUF) {
		if (a->size_arg >= SEL_MAX_ARGS)
			return 0;
		n = h->args[a->size_arg];
		h->olen[i] = n;
		if (n > SEL_STR_MAX - 1)
			n = SEL_STR_MAX - 1;
		r = bpf_probe_read_user(h->str[i].s, n, (const void *)raw);
		if (r < 0) {
			h->slen[i] = r;
			sel__count(SEL_CNT_STR_FAULT);
			return 0;
		}
		h->slen[i] = n;
	}
	if (a->reverse)
		sel__reverse(i);
	return 0;
}

/* A string that filled its buffer may be longer than what was read. */
FUNC_INLINE bool sel__truncated(__s32 len)
{
	return len >= SEL_STR_MAX - 1;
}

FUNC_INLINE bool sel__str_eq(struct sel_strbuf *b, __u32 len, __u32 id)
{
	b->hdr = len;
	b->id = id;
	return bpf_map_lookup_elem(&sel_str_eq, b) != NULL;
}

FUNC_INLINE bool sel__str_lpm(void *map, struct sel_strbuf *b, __u32 len, __u32 id)
{
	if (len > SEL_LPM_STR)
		len = SEL_LPM_STR;
	b->hdr = 32 + 8 * len;
	b->id = id;
	return bpf_map_lookup_elem(map, b) != NULL;
}

FUNC_INLINE bool sel__int_cmp(__u64 v, __u64 a, bool is_signed, bool gt)
{
	if (is_signed)
		return gt ? (__s64)v > (__s64)a : (__s64)v < (__s64)a;
	return gt ? v > a : v < a;
}

FUNC_INLINE bool sel__in_range(struct sel_argf *f, __u64 v)
{
	bool in = false;
	int i;

#pragma unroll
	for (i = 0; i < SEL_MAX_RANGES; i++) {
		if (i >= f->nranges)
			break;
		if (f->is_signed)
			in |= (__s64)v >= (__s64)f->a[i] && (__s64)v <= (__s64)f->b[i];
		else
			in |= v >= f->a[i] && v <= f->b[i];
	}
	return in;
}

/* rateLimit: whether a report for this key is due now (and if so, remember it). */
FUNC_INLINE bool sel__rate_ok(struct sel_hook *hook, __u32 s, struct sel_action *act, __u64 now)
{
	struct sel_rl_key k = { .hook_id = hook->id, .sel = s };
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 *last;

	if (!act->rl_ns)
		return true;
	if (act->rl_scope == SEL_RL_THREAD)
		k.scope_id = (__u32)pid_tgid;
	else if (act->rl_scope == SEL_RL_PROCESS)
		k.scope_id = pid_tgid >> 32;
	last = bpf_map_lookup_elem(&sel_ratelimit, &k);
	if (last && now - *last < act->rl_ns)
		return false;
	bpf_map_update_elem(&sel_ratelimit, &k, &now, BPF_ANY);
	return true;
}

/* One matchArgs filter (fi) of selector s of the current hook. */
__noinline int sel__match_argf(__u32 s, __u32 fi)
{
	struct sel_heap *h = sel__heap();
	struct sel_hook *hook;
	struct sel_argf *f;
	struct sel_int_key ik = {};
	__u32 p, id, si, fx;
	__s32 len;
	bool found;

	if (!h)
		return 0;
	hook = sel__hook(h);
	if (!hook)
		return 0;
	si = sel__idx(s, 7);
	fx = sel__idx(fi, 7);
	if (si >= SEL_MAX_SELECTORS || fx >= SEL_MAX_ARGF)
		return 0;
	si = sel__idx(si, 7);
	fx = sel__idx(fx, 7);
	f = &hook->sel[si].argf[fx];
	p = sel__idx(f->arg, 7);
	if (p >= SEL_MAX_ARGS)
		return 0;
	p = sel__idx(p, 7);
	id = SEL_ID(h->gen, h->slot, si, SEL_FILT_ARG + fx);
	if (hook->args[p].kind == SEL_ARG_INT) {
		__u64 v = h->ival[p];

		switch (f->op) {
		case SEL_OP_EQ:
		case SEL_OP_NEQ:
			ik.id = id;
			ik.v = v;
			found = bpf_map_lookup_elem(&sel_int_set, &ik) != NULL;
			return f->op == SEL_OP_EQ ? found : !found;
		case SEL_OP_GT:
			return sel__int_cmp(v, f->a[0], f->is_signed, true);
		case SEL_OP_LT:
			return sel__int_cmp(v, f->a[0], f->is_signed, false);
		case SEL_OP_MASK:
			return (v & f->a[0]) != 0;
		case SEL_OP_INRANGE:
			return sel__in_range(f, v);
		case SEL_OP_NOTINRANGE:
			return !sel__in_range(f, v);
		}
		return 0;
	}
	len = h->slen[p];
	if (len < 0)
		return 0; /* unreadable: no filter on it matches */
	switch (f->op) {
	case SEL_OP_EQ:
	case SEL_OP_NEQ:
		found = !sel__truncated(len) && sel__str_eq(&h->str[p], len, id);
		if (!found && h->fino[p]) { /* a path: the listed file under another name (hard link, rename) */
			struct sel_ino_key fk = { .id = id, .dev = h->fdev[p], .ino = h->fino[p] };

			found = bpf_map_lookup_elem(&sel_bin_ino, &fk) != NULL;
		}
		return f->op == SEL_OP_EQ ? found : !found;
	case SEL_OP_PREFIX:
	case SEL_OP_NOTPREFIX:
		found = sel__str_lpm(&sel_str_prefix, &h->str[p], len, id);
		return f->op == SEL_OP_PREFIX ? found : !found;
	case SEL_OP_POSTFIX:
	case SEL_OP_NOTPOSTFIX:
		if (sel__truncated(len))
			return 0; /* the end of the string was not read */
		found = sel__str_lpm(&sel_str_postfix, &h->rev[p], len, id);
		return f->op == SEL_OP_POSTFIX ? found : !found;
	}
	return 0;
}

/*
 * One binaries filter on one executable (the process's, or its parent's for matchParentBinaries).
 * follow: followChildren, and this process (or the parent) or one of its ancestors ran a listed binary.
 */
FUNC_INLINE bool sel__bin_match(__u8 op, __u32 id, __u32 known, __u32 dev, __u64 ino, __u32 flags, __u32 len,
				struct sel_strbuf *s, struct sel_strbuf *rev, bool follow)
{
	struct sel_ino_key ik = {};
	bool found, trunc = flags & SEL_EXE_TRUNC;

	if (!known) {
		if (follow)
			return op == SEL_BIN_IN;
		sel__count(SEL_CNT_EXE_UNKNOWN);
		return false; /* fail closed for the selector: neither In nor NotIn holds */
	}
	switch (op) {
	case SEL_BIN_IN:
	case SEL_BIN_NOTIN:
		found = follow;
		if (!found) {
			ik.id = id;
			ik.dev = dev;
			ik.ino = ino;
			found = bpf_map_lookup_elem(&sel_bin_ino, &ik) != NULL;
		}
		if (!found && !trunc)
			found = sel__str_eq(s, len, id);
		return op == SEL_BIN_IN ? found : !found;
	case SEL_BIN_PREFIX:
	case SEL_BIN_NOTPREFIX:
		found = sel__str_lpm(&sel_str_prefix, s, len, id);
		return op == SEL_BIN_PREFIX ? found : !found;
	case SEL_BIN_POSTFIX:
	case SEL_BIN_NOTPOSTFIX:
		if (trunc)
			return false;
		found = sel__str_lpm(&sel_str_postfix, rev, len, id);
		return op == SEL_BIN_POSTFIX ? found : !found;
	}
	return false;
}

/* One matchBinaries / matchParentBinaries filter, on the executables recorded for the tgid and its parent. */
FUNC_INLINE bool sel__match_binf(struct sel_heap *h, struct sel_binf *f, __u32 id)
{
	__u64 bit = f->follow ? 1ULL << ((f->follow - 1) & 63) : 0;

	if (f->parent)
		return sel__bin_match(f->op, id, h->pexe_known, h->pexe_dev, h->pexe_ino, h->pexe_flags, h->pexe_len,
				      &h->pexe, &h->pexe_rev, (h->pfc_lineage & bit) != 0);
	return sel__bin_match(f->op, id, h->exe_known, h->exe_dev, h->exe_ino, h->exe_flags, h->exe_len, &h->exe,
			      &h->exe_rev, (h->fc_lineage & bit) != 0);
}

/*
 * isNamespacePID + followForks filter `id`: 1 when one of sel_heap.nspid_chain (the process, then its
 * ancestors) is listed, 0 when none is, -1 when the process's own is unknown (the filter then fails
 * closed: neither In nor NotIn holds).
 */
__noinline int sel__nspid_chain_has(__u32 id)
{
	struct sel_heap *h = sel__heap();
	struct sel_u32_key k = { .id = id };
	__u32 i, known;

	if (!h)
		return -1;
	known = h->nspid_chain_known;
	if (!(known & 1))
		return -1;
	for (i = 0; i < SEL_NSPID_LEVELS; i++) {
		if (!(known & (1U << i)))
			continue;
		k.v = h->nspid_chain[i];
		if (bpf_map_lookup_elem(&sel_u32_set, &k))
			return 1;
	}
	return 0;
}

/* Whether selector s of the current hook matches (every filter it has). */
__noinline int sel__match_selector(__u32 s)
{
	struct sel_heap *h = sel__heap();
	struct sel_hook *hook;
	struct sel_selector *sel;
	__u32 i, si;

	if (!h)
		return 0;
	hook = sel__hook(h);
	if (!hook)
		return 0;
	si = sel__idx(s, 7);
	if (si >= SEL_MAX_SELECTORS)
		return 0;
	si = sel__idx(si, 7);
	sel = &hook->sel[si];
	for (i = 0; i < SEL_MAX_ARGF; i++) {
		if (i >= sel->nargf)
			break;
		if (!sel__match_argf(si, i))
			return 0;
	}
	for (i = 0; i < SEL_MAX_BINF; i++) {
		if (i >= sel->nbinf)
			break;
		if (!sel__match_binf(h, &sel->binf[i], SEL_ID(h->gen, h->slot, si, SEL_FILT_BIN + i)))
			return 0;
	}
	for (i = 0; i < SEL_MAX_PIDF; i++) {
		struct sel_pidf *f = &sel->pidf[i];
		struct sel_u32_key k;
		bool found;

		if (i >= sel->npidf)
			break;
		k.id = SEL_ID(h->gen, h->slot, si, SEL_FILT_PID + i);
		if (f->ns && f->follow) {
			int r = sel__nspid_chain_has(k.id);

			if (r < 0)
				return 0;
			found = r;
		} else {
			if (f->ns && !h->nspid)
				return 0; /* the namespace pid could not be read: neither In nor NotIn holds */
			k.v = f->ns ? h->nspid : h->tgid;
			found = bpf_map_lookup_elem(&sel_u32_set, &k) != NULL;
			if (!found && f->follow)
				found = (h->lineage & f->follow_mask) != 0;
		}
		if ((f->op == SEL_IN) != found)
			return 0;
	}
	for (i = 0; i < SEL_MAX_NSF; i++) {
		struct sel_nsf *f = &sel->nsf[i];
		struct sel_u32_key k;
		bool found;

		if (i >= sel->nnsf)
			break;
		k.id = SEL_ID(h->gen, h->slot, si, SEL_FILT_NS + i);
		k.v = h->ns[f->kind < SEL_NS_MAX ? f->kind : 0];
		found = bpf_map_lookup_elem(&sel_u32_set, &k) != NULL;
		if ((f->op == SEL_IN) != found)
			return 0;
	}
	for (i = 0; i < SEL_MAX_CAPF; i++) {
		struct sel_capf *f = &sel->capf[i];
		bool held;

		if (i >= sel->ncapf)
			break;
		held = (h->caps[f->type < 3 ? f->type : 0] & f->mask) != 0;
		if ((f->op == SEL_IN) != held)
			return 0;
	}
	return 1;
}
