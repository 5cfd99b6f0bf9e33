/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Selector evaluation for the bpf_lsm backend: sel_filter.h's design and tables (struct sel_hook, the
 * sel_* value sets, the same ids and keys, written by the same encoder), with the global steps
 * hardened for older verifiers. sel_filter.h's sel__match_selector and sel__match_argf are refused by
 * the 6.1 verifier ("R7 unbounded memory access"): clang spills the selector index before its bounds
 * check, and that verifier does not carry the check over to the spilled copy. Here every index is
 * re-bounded where it is used (lsm__idx: an opaque copy, masked and checked next to the access).
 * The inline helpers (string/LPM/int comparisons, matchBinaries) are sel_filter.h's own.
 *
 * Filters AND within a selector, the values of one filter OR (one set lookup answers it), the first
 * selector that matches decides (eval.h). An unreadable argument (slen < 0) matches no filter,
 * NotEqual/NotPrefix/NotPostfix included.
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "compiler.h"
#include "sel_filter.h"

/*
 * An index the verifier sees bounded where it is used: opaque to the compiler, then masked. Used twice
 * around a bounds check (`i = lsm__idx(i, 7); if (i >= N) return; i = lsm__idx(i, 7);`) so that any
 * copy clang spills to the stack is taken after the check and carries its bounds.
 */
FUNC_INLINE __u32 lsm__idx(__u32 v, __u32 mask)
{
	asm volatile("" : "+r"(v));
	return v & mask;
}

/* Reverse the first bytes of argument slot `which` (or the executable: SEL_MAX_ARGS) for the Postfix trie. */
__noinline int lsm__reverse(__u32 which)
{
	struct sel_heap *h = sel__heap();
	struct sel_strbuf *src, *dst;
	__u32 len, i, w;

	if (!h)
		return 0;
	w = lsm__idx(which, 7);
	if (w < SEL_MAX_ARGS) {
		w = lsm__idx(w, 7);
		src = &h->str[w];
		dst = &h->rev[w];
		len = h->slen[w] < 0 ? 0 : h->slen[w];
	} else {
		src = &h->exe;
		dst = &h->exe_rev;
		len = h->exe_len;
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

/* One matchArgs filter (fi) of selector s of the current hook. */
__noinline int lsm__match_argf(__u32 s, __u32 fi)
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
	si = lsm__idx(s, 7);
	fx = lsm__idx(fi, 7);
	if (si >= SEL_MAX_SELECTORS || fx >= SEL_MAX_ARGF)
		return 0;
	si = lsm__idx(si, 7);
	fx = lsm__idx(fx, 7);
	f = &hook->sel[si].argf[fx];
	p = lsm__idx(f->arg, 7);
	if (p >= SEL_MAX_ARGS)
		return 0;
	p = lsm__idx(p, 7);
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

/* Whether selector s of the current hook matches (every filter it has). */
__noinline int lsm__match_selector(__u32 s)
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
	si = lsm__idx(s, 7);
	if (si >= SEL_MAX_SELECTORS)
		return 0;
	si = lsm__idx(si, 7);
	sel = &hook->sel[si];
	for (i = 0; i < SEL_MAX_ARGF; i++) {
		if (i >= sel->nargf)
			break;
		if (!lsm__match_argf(si, i))
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
		k.v = h->tgid;
		found = bpf_map_lookup_elem(&sel_u32_set, &k) != NULL;
		if (!found && f->follow)
			found = (h->lineage & f->follow_mask) != 0;
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
