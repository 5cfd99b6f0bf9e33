/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a matching selector does, shared by every backend on the selector engine (syscall/tracepoint,
 * BPF LSM, kernel functions): pick the selector's action and Override errno, send its signal (unless
 * the hook is in monitor mode), count, and say whether a record is due (Post, or monitor mode withholding
 * an action; within rateLimit). Each backend keeps its own counters map with the first eight counters at
 * the same indices as enum sel_counter; it passes its own indices for denials and withheld actions.
 * Then SEL_MSG_HEAD fills the header fields the three record structs share by name.
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "compiler.h"
#include "sel_filter.h"

/*
 * Selector *sp of hook matched (*sp = SEL_MAX_SELECTORS: a hook without selectors, which reports). errs:
 * the backend's per-selector Override errnos, NULL where nothing can be denied. On return *sp is the
 * selector to report, *act its action, *errp the errno the call fails with (0: none).
 */
FUNC_INLINE bool sel__decide(void *counters, __u32 cnt_denied, __u32 cnt_monitor, struct sel_hook *hook, const __s32 *errs,
			     __u32 *sp, struct sel_action *act, __s32 *errp, __u64 now)
{
	__u32 s = sel__idx(*sp, 7);
	__u32 monitor = hook->flags & SEL_HOOK_MONITOR;
	__s32 err = 0;

	*act = (struct sel_action){ .post = 1 };
	if (s < SEL_MAX_SELECTORS) {
		s = sel__idx(s, 7);
		*act = hook->sel[s].action;
		if (errs)
			err = errs[s];
	} else {
		s = 0;
	}
	if (err > 0 || err < -4095)
		err = 0;
	*sp = s;
	*errp = err;
	sel__count_in(counters, SEL_CNT_MATCHED);
	if (monitor && (act->sig || err)) {
		sel__count_in(counters, cnt_monitor);
	} else {
		if (err)
			sel__count_in(counters, cnt_denied);
		if (act->sig) {
			if (bpf_send_signal(act->sig))
				sel__count_in(counters, SEL_CNT_SIGNAL_FAIL);
			else
				sel__count_in(counters, SEL_CNT_SIGNALS);
		}
	}
	/* Monitor mode always reports what it withheld. */
	if (!act->post && !(monitor && (act->sig || err))) {
		sel__count_in(counters, SEL_CNT_NOPOST);
		return false;
	}
	if (!sel__rate_ok(hook, s, act, now)) {
		sel__count_in(counters, SEL_CNT_RATE_LIMITED);
		return false;
	}
	return true;
}

/* The header of a record (msg_generic_syscall, msg_lsm, msg_kfunc): who acted, which hook and selector. */
#define SEL_MSG_HEAD(m, opcode, msg_flags, now, pid_tgid, hook, h, s)                                          \
	do {                                                                                               \
		(m)->common.op = (opcode);                                                                 \
		(m)->common.flags = (msg_flags);                                                           \
		(m)->common.pad = 0;                                                                       \
		(m)->common.ktime = (now);                                                                 \
		(m)->tgid = (pid_tgid) >> 32;                                                              \
		(m)->tid = (__u32)(pid_tgid);                                                              \
		(m)->uid = (__u32)bpf_get_current_uid_gid();                                               \
		(m)->euid = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), cred, euid.val);   \
		(m)->hook_id = (hook)->id;                                                                 \
		(m)->slot = (h)->slot;                                                                     \
		(m)->selector = (s);                                                                       \
		(m)->nargs = (hook)->nargs;                                                                \
		(m)->gen = (h)->gen;                                                                       \
		bpf_get_current_comm((m)->comm, sizeof((m)->comm));                                        \
		(m)->cgroup_id = bpf_get_current_cgroup_id();                                              \
	} while (0)

/* The header of one argument slot in a record (struct lsm_msg_arg and struct kf_msg_arg have this layout). */
struct sel_slot_hdr {
	__u8 src;
	__u8 index;
	__u16 len;
};

/*
 * Append the hook's argument slots to a record's data (at most data_max bytes): per slot the header
 * (src and idx: the backend's slot kind and source argument) and the payload — an int as u64 from
 * ival, else the first slen bytes of str (no NUL), after a struct sel_msg_buf for a char_buf (sel_arg
 * kind SEL_ARG_PREBUF). Sets bit i of *fault (unreadable) or *trunc (cut at SEL_STR_MAX - 1). Returns
 * the bytes written.
 */
FUNC_INLINE __u32 sel__put_slots(struct sel_heap *h, struct sel_hook *hook, const __u8 *src, const __u8 *idx, char *data,
				 const __u32 data_max, __u8 *fault, __u8 *trunc)
{
	__u32 pos = 0, i, len, p;

	*fault = 0;
	*trunc = 0;
	for (i = 0; i < SEL_MAX_ARGS; i++) {
		struct sel_slot_hdr *m;
		__s32 n;

		if (i >= hook->nargs)
			break;
		/* Offsets bounded where they are used (older verifiers lose bounds across spills). */
		p = sel__idx(pos, 2047);
		if (p > data_max - sizeof(*m) - SEL_SLOT_MAX)
			break;
		p = sel__idx(p, 2047);
		m = (struct sel_slot_hdr *)&data[p];
		m->src = src[i];
		m->index = idx[i];
		if (hook->args[i].kind == SEL_ARG_INT) {
			__builtin_memcpy(&data[p + sizeof(*m)], &h->ival[i], 8);
			m->len = 8;
			pos = p + sizeof(*m) + 8;
			continue;
		}
		n = h->slen[i];
		if (n < 0) {
			*fault |= 1 << i;
			n = 0;
		}
		if (n > SEL_STR_MAX - 1)
			n = SEL_STR_MAX - 1;
		len = sel__idx(n, SEL_STR_MAX - 1); /* n <= 255 already */
		pos = p + sizeof(*m);
		if (hook->args[i].kind == SEL_ARG_PREBUF) {
			/* char_buf: its length first (struct sel_msg_buf); cut when that exceeds what was read. */
			struct sel_msg_buf b = { .size = h->olen[i] };

			if (h->slen[i] >= 0 && b.size > len)
				*trunc |= 1 << i;
			__builtin_memcpy(&data[pos], &b, sizeof(b));
			pos += sizeof(b);
			m->len = sizeof(b) + len;
		} else {
			if (n == SEL_STR_MAX - 1)
				*trunc |= 1 << i;
			m->len = len;
		}
		bpf_probe_read_kernel(&data[pos], len, h->str[i].s);
		pos += len;
	}
	return pos;
}
