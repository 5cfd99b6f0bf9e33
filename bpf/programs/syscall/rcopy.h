/* SPDX-License-Identifier: GPL-2.0 */
/*
 * returnCopy (`args: [{type: char_buf, returnCopy: true}]` on a `return: true` syscall hook): the
 * buffer is what the syscall writes (read, recvfrom, getcwd…), so it is read at sys_exit. At sys_enter
 * sel__put_args parks a 16-byte placeholder in the argument's slot — the user pointer and the length
 * bound (the sizeArgIndex argument, or none) — and marks the record SEL_MSG_RCOPY. At sys_exit
 * sel__rcopy_submit rebuilds the parked record in the per-CPU scratch, slot by slot, with each
 * placeholder replaced by what the buffer now holds: for a char_buf, struct sel_msg_buf with
 * min(return value, length bound) and that many bytes, at most SEL_STR_MAX - 1 (a negative return:
 * size 0, no bytes, the argument's fault bit); the string for a string. The submitted slot has the
 * kind a sys_enter read would have (SEL_ARG_BUF / SEL_ARG_STR), so the record is the same as for an
 * argument read at sys_enter. Selectors never see these arguments (user space refuses matchArgs on
 * them): they run at sys_enter.
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "compiler.h"
#include "sel_filter.h"

#define SEL_RCOPY_SLOT 16 /* placeholder payload: u64 user pointer, u64 length bound */

/* sys_enter: the placeholder of declared argument a at data offset pos (bounded by the caller); returns its length. */
FUNC_INLINE __u32 sel__rcopy_park(struct sel_heap *h, struct sel_arg *a, __u32 pos)
{
	__u64 v[2] = { 0, ~0ULL };
	__u32 ai = sel__idx(a->index, 7), si = sel__idx(a->size_arg, 7);

	if (ai < SEL_MAX_ARGS) {
		ai = sel__idx(ai, 7);
		v[0] = h->args[ai];
	}
	if (a->kind == SEL_ARG_RBUF && a->size_arg < SEL_MAX_ARGS && si < SEL_MAX_ARGS) {
		si = sel__idx(si, 7);
		v[1] = h->args[si];
	}
	__builtin_memcpy(&h->data[pos], v, sizeof(v));
	h->msg.common.flags |= SEL_MSG_RCOPY;
	return sizeof(v);
}

/*
 * sys_exit: the record parked at chain position pos for this thread, with its returnCopy arguments
 * read now, submitted. A global function (scalars only): verified once, on its own.
 */
__noinline int sel__rcopy_submit(__u32 pos, __s64 ret)
{
	struct sel_pending_key pk = { .tid = (__u32)bpf_get_current_pid_tgid(), .pos = pos };
	struct sel_heap *h = sel__heap();
	struct sel_pending *p;
	__u32 i, src = 0, dst = 0, nargs, len;

	if (!h)
		return 0;
	p = bpf_map_lookup_elem(&sel_pending_map, &pk);
	if (!p)
		return 0;
	h->msg = p->msg;
	h->msg.ret = ret;
	h->msg.common.flags = (p->msg.common.flags & ~SEL_MSG_RCOPY) | SEL_MSG_RETURN;
	nargs = p->msg.nargs;
	for (i = 0; i < SEL_MAX_ARGS; i++) {
		struct sel_msg_arg a;
		__u32 s, d, n;
		__u64 v[2];
		long r;

		if (i >= nargs)
			break;
		s = sel__idx(src, 2047);
		d = sel__idx(dst, 2047);
		if (s > SEL_DATA_MAX - sizeof(a) - SEL_SLOT_MAX || d > SEL_DATA_MAX - sizeof(a) - SEL_SLOT_MAX)
			break;
		s = sel__idx(s, 2047);
		d = sel__idx(d, 2047);
		__builtin_memcpy(&a, &p->data[s], sizeof(a));
		n = a.len;
		src = s + sizeof(a) + n;
		if (a.kind != SEL_ARG_RBUF && a.kind != SEL_ARG_RSTR) {
			/* Every slot's payload is at most SEL_SLOT_MAX - 1 bytes (a char_buf's struct sel_msg_buf and 255 bytes). */
			if (n > SEL_SLOT_MAX - 1)
				n = SEL_SLOT_MAX - 1;
			n = sel__idx(n, 511);
			bpf_probe_read_kernel(&h->data[d + sizeof(a)], n, &p->data[s + sizeof(a)]);
			__builtin_memcpy(&h->data[d], &a, sizeof(a));
			dst = d + sizeof(a) + n;
			continue;
		}
		__builtin_memcpy(v, &p->data[s + sizeof(a)], sizeof(v));
		if (a.kind == SEL_ARG_RSTR) {
			a.kind = SEL_ARG_STR;
			r = ret < 0 ? -1 : bpf_probe_read_user_str(&h->data[d + sizeof(a)], SEL_STR_MAX, (const void *)v[0]);
			n = r > 0 ? r - 1 : 0;
			if (r < 0) {
				h->msg.fault |= 1 << i;
				n = 0;
			} else if (n >= SEL_STR_MAX - 1) {
				h->msg.trunc |= 1 << i;
			}
			n = sel__idx(n, SEL_STR_MAX - 1);
			a.len = n;
		} else {
			/* The length the syscall gave the buffer (struct sel_msg_buf), then at most 255 of its bytes. */
			struct sel_msg_buf b = { .size = ret < 0 ? 0 : (__u64)ret };

			a.kind = SEL_ARG_BUF;
			if (b.size > v[1])
				b.size = v[1];
			n = b.size > SEL_STR_MAX - 1 ? SEL_STR_MAX - 1 : b.size;
			n = sel__idx(n, SEL_STR_MAX - 1);
			r = ret < 0 ? -1 : bpf_probe_read_user(&h->data[d + sizeof(a) + sizeof(b)], n, (const void *)v[0]);
			if (r < 0) {
				h->msg.fault |= 1 << i;
				n = 0;
			} else if (b.size > n) {
				h->msg.trunc |= 1 << i;
			}
			__builtin_memcpy(&h->data[d + sizeof(a)], &b, sizeof(b));
			n = sel__idx(n, SEL_STR_MAX - 1);
			a.len = sizeof(b) + n;
		}
		__builtin_memcpy(&h->data[d], &a, sizeof(a));
		dst = d + sizeof(a) + a.len;
	}
	if (h->msg.fault)
		h->msg.common.flags |= SEL_MSG_FAULT;
	if (h->msg.trunc)
		h->msg.common.flags |= SEL_MSG_TRUNC;
	len = sel__idx(dst, 2047);
	if (len > SEL_DATA_MAX)
		return 0;
	h->msg.args_len = len;
	len += sizeof(h->msg);
	h->msg.common.size = len;
	if (bpf_ringbuf_output(&sel_rb_events, &h->msg, len, BPF_RB_NO_WAKEUP))
		sel__count(SEL_CNT_RB_FULL);
	else
		sel__count(SEL_CNT_POSTED);
	return 0;
}
