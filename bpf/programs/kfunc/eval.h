/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Evaluating the policy hooks of one site (an attached kernel function) on one call. A program copies
 * the function's arguments into the selector engine's scratch (sel_heap.args, kf__args_*) and calls
 * kf__run(site), which runs every policy hook of the live generation's chain: fill the argument slots
 * from kernel objects (kf__read_arg), then the selectors in order through the syscall backend's engine
 * (sel_filter.h; the LSM backend's hardening applies: global steps taking scalars, indexes bounded
 * twice around their checks). The first selector whose filters all match acts (kf__act). An fmod_ret
 * site fails the call with the errno of the first enforcing Override that matched; every matching hook
 * reports (or, for `return: true`, parks its record until the kretprobe adds the return value).
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "compiler.h"
#include "kf_maps.h"
#include "../syscall/path_slot.h" /* paths and inodes; sel_exec/sel_fork/sel_exit for matchBinaries */
#include "sel_process.h"
#include "sel_act.h"

/* sel__decide counts into this backend's map at enum sel_counter's indices. */
_Static_assert((int)KF_CNT_MATCHED == (int)SEL_CNT_MATCHED && (int)KF_CNT_RATE_LIMITED == (int)SEL_CNT_RATE_LIMITED &&
	       (int)KF_CNT_NOPOST == (int)SEL_CNT_NOPOST && (int)KF_CNT_SIGNALS == (int)SEL_CNT_SIGNALS &&
	       (int)KF_CNT_SIGNAL_FAIL == (int)SEL_CNT_SIGNAL_FAIL, "counter indices shared with enum sel_counter");
_Static_assert(sizeof(struct kf_msg_arg) == sizeof(struct sel_slot_hdr), "slot header layout");

#define KF_AF_INET 2
#define KF_AF_INET6 10
#define KF_EFAULT 14
#define KF_EBADF 9
#define KF_EINVAL 22

FUNC_INLINE void kf__count(__u32 idx)
{
	sel__count_in(&kf_counters, idx);
}

/*
 * One evaluation per CPU at a time. The scratch (sel_heap: arguments, slots, the current hook; kf_heap:
 * the record) is per CPU, and a program that starts while another is evaluating on the same CPU would
 * overwrite what the first is using: a raw tracepoint that the first one's own action fires
 * (bpf_send_signal → signal_generate), a tracepoint or fentry in an interrupt. The kernel keeps kprobe
 * programs from nesting (bpf_prog_active), not tp_btf or fentry programs of different sites: the nested
 * call is skipped and counted (KF_CNT_NESTED). kf__args() enters, kf__run() leaves.
 */
FUNC_INLINE bool kf__enter(void)
{
	__u32 zero = 0, *busy = bpf_map_lookup_elem(&kf_busy_map, &zero);

	if (!busy)
		return false;
	if (*busy) {
		kf__count(KF_CNT_NESTED);
		return false;
	}
	*busy = 1;
	return true;
}

FUNC_INLINE void kf__leave(void)
{
	__u32 zero = 0, *busy = bpf_map_lookup_elem(&kf_busy_map, &zero);

	if (busy)
		*busy = 0;
}

FUNC_INLINE struct kf_hook *kf__ext(struct sel_heap *h)
{
	__u32 idx = SEL_HOOK_IDX(h->gen, h->slot);

	return bpf_map_lookup_elem(&kf_hooks, &idx);
}


/* A NUL-terminated string: kernel memory first (most kernel functions), else user memory (syscalls). */
FUNC_INLINE void kf__str_to_slot(struct sel_heap *h, __u32 i, const void *p)
{
	long r;

	i = sel__idx(i, 7);
	if (i >= SEL_MAX_ARGS)
		return;
	i = sel__idx(i, 7);
	r = bpf_probe_read_kernel_str(h->str[i].s, SEL_STR_MAX, p);
	if (r < 0)
		r = bpf_probe_read_user_str(h->str[i].s, SEL_STR_MAX, p);
	if (r < 0) {
		h->slen[i] = -KF_EFAULT;
		sel__count(SEL_CNT_STR_FAULT);
		return;
	}
	h->slen[i] = r > 0 ? r - 1 : 0;
}

FUNC_INLINE bool kf__v4_mapped(const __u32 *w)
{
	return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0x0000ffff);
}

/* An address as the LPM trie keys it: {family, 4 or 16 bytes}; a v4-mapped IPv6 address is IPv4. */
FUNC_INLINE void kf__addr_to_slot(struct sel_heap *h, __u32 i, __u16 fam, const void *a4, const struct in6_addr *a6)
{
	i = sel__idx(i, 7);
	if (i >= SEL_MAX_ARGS)
		return;
	i = sel__idx(i, 7);
	if (fam == KF_AF_INET) {
		h->str[i].s[0] = KF_AF_INET;
		__builtin_memcpy(&h->str[i].s[1], a4, 4);
		h->slen[i] = 5;
	} else if (fam == KF_AF_INET6 && kf__v4_mapped(a6->in6_u.u6_addr32)) {
		h->str[i].s[0] = KF_AF_INET;
		__builtin_memcpy(&h->str[i].s[1], &a6->in6_u.u6_addr8[12], 4);
		h->slen[i] = 5;
	} else if (fam == KF_AF_INET6) {
		h->str[i].s[0] = KF_AF_INET6;
		__builtin_memcpy(&h->str[i].s[1], a6, 16);
		h->slen[i] = 17;
	} else {
		h->slen[i] = -KF_EINVAL; /* no address this backend can match: no address filter matches */
	}
}

/* The caller's struct file at fd (current->files->fdt->fd[fd]), or NULL. */
FUNC_INLINE struct file *kf__fd_file(__s64 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	__u32 max = BPF_CORE_READ(fdt, max_fds);
	struct file *f = NULL;

	if (fd < 0 || fd >= max)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* struct sock fields (src KF_SRC_SK_*) into slot i. */
FUNC_INLINE void kf__sock_to_slot(struct sel_heap *h, __u32 i, __u8 src, struct sock *sk)
{
	__u16 fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	struct in6_addr a6 = {};
	__u32 a4 = 0;

	i = sel__idx(i, 7);
	if (i >= SEL_MAX_ARGS)
		return;
	i = sel__idx(i, 7);
	switch (src) {
	case KF_SRC_SK_FAMILY:
		h->ival[i] = fam;
		return;
	case KF_SRC_SK_PROTO:
		h->ival[i] = BPF_CORE_READ(sk, sk_protocol);
		return;
	case KF_SRC_SK_SPORT:
		h->ival[i] = BPF_CORE_READ(sk, __sk_common.skc_num);
		return;
	case KF_SRC_SK_DPORT:
		h->ival[i] = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		return;
	case KF_SRC_SK_SADDR:
		a4 = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		if (fam == KF_AF_INET6)
			BPF_CORE_READ_INTO(&a6, sk, __sk_common.skc_v6_rcv_saddr);
		kf__addr_to_slot(h, i, fam, &a4, &a6);
		return;
	case KF_SRC_SK_DADDR:
		a4 = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		if (fam == KF_AF_INET6)
			BPF_CORE_READ_INTO(&a6, sk, __sk_common.skc_v6_daddr);
		kf__addr_to_slot(h, i, fam, &a4, &a6);
		return;
	}
}

/* struct sockaddr fields (src KF_SRC_SA_*) into slot i: kernel memory, else user memory. */
FUNC_INLINE void kf__sockaddr_to_slot(struct sel_heap *h, __u32 i, __u8 src, const void *p)
{
	struct sockaddr_in6 sa = {};
	__u16 fam = 0;

	i = sel__idx(i, 7);
	if (i >= SEL_MAX_ARGS)
		return;
	i = sel__idx(i, 7);
	if (bpf_probe_read_kernel(&fam, sizeof(fam), p) == 0) {
		if (fam == KF_AF_INET)
			bpf_probe_read_kernel(&sa, sizeof(struct sockaddr_in), p);
		else if (fam == KF_AF_INET6)
			bpf_probe_read_kernel(&sa, sizeof(sa), p);
	} else if (bpf_probe_read_user(&fam, sizeof(fam), p) == 0) {
		if (fam == KF_AF_INET)
			bpf_probe_read_user(&sa, sizeof(struct sockaddr_in), p);
		else if (fam == KF_AF_INET6)
			bpf_probe_read_user(&sa, sizeof(sa), p);
	}
	if (src == KF_SRC_SA_FAMILY) {
		h->ival[i] = fam;
		return;
	}
	if (src == KF_SRC_SA_PORT) {
		h->ival[i] = (fam == KF_AF_INET || fam == KF_AF_INET6) ? bpf_ntohs(sa.sin6_port) : 0; /* sin_port: same offset */
		return;
	}
	kf__addr_to_slot(h, i, sa.sin6_family, &((struct sockaddr_in *)&sa)->sin_addr, &sa.sin6_addr);
}

/*
 * struct cred * (KF_SRC_CRED) into slot i as a struct kf_cred. A global step taking scalars (its own
 * stack frame: the struct is built on the stack, then copied into the slot in one read).
 */
__noinline int kf__cred_to_slot(__u32 i, __u64 raw)
{
	struct sel_heap *h = sel__heap();
	struct cred *cr = (struct cred *)raw;
	struct user_namespace *ns;
	struct kf_cred c = {};

	if (!h)
		return 0;
	i = sel__idx(i, 7);
	if (i >= SEL_MAX_ARGS)
		return 0;
	i = sel__idx(i, 7);
	if (!cr || BPF_CORE_READ_INTO(&c.uid, cr, uid.val) < 0) {
		h->slen[i] = -KF_EFAULT;
		return 0;
	}
	c.gid = BPF_CORE_READ(cr, gid.val);
	c.suid = BPF_CORE_READ(cr, suid.val);
	c.sgid = BPF_CORE_READ(cr, sgid.val);
	c.euid = BPF_CORE_READ(cr, euid.val);
	c.egid = BPF_CORE_READ(cr, egid.val);
	c.fsuid = BPF_CORE_READ(cr, fsuid.val);
	c.fsgid = BPF_CORE_READ(cr, fsgid.val);
	c.securebits = BPF_CORE_READ(cr, securebits);
	/* kernel_cap_t is {u64 val} since 6.3 and {u32 cap[2]} before: 8 bytes either way. */
	BPF_CORE_READ_INTO(&c.cap_permitted, cr, cap_permitted);
	BPF_CORE_READ_INTO(&c.cap_effective, cr, cap_effective);
	BPF_CORE_READ_INTO(&c.cap_inheritable, cr, cap_inheritable);
	ns = BPF_CORE_READ(cr, user_ns);
	if (ns) {
		c.ns_level = BPF_CORE_READ(ns, level);
		c.ns_uid = BPF_CORE_READ(ns, owner.val);
		c.ns_gid = BPF_CORE_READ(ns, group.val);
		c.ns_inum = BPF_CORE_READ(ns, ns.inum);
	}
	bpf_probe_read_kernel(h->str[i].s, sizeof(c), &c);
	h->slen[i] = sizeof(c);
	return 0;
}

/* Fill argument slot i of the current policy hook from the function's arguments in h->args. */
__noinline int kf__read_arg(__u32 i)
{
	struct sel_heap *h = sel__heap();
	struct sel_hook *hook;
	struct kf_hook *ext;
	struct sel_arg *a;
	__u32 idx, li;
	__u64 raw, n;
	__u8 src;
	long r;

	if (!h)
		return 0;
	hook = sel__hook(h);
	ext = kf__ext(h);
	if (!hook || !ext)
		return 0;
	i = sel__idx(i, 7);
	if (i >= SEL_MAX_ARGS)
		return 0;
	i = sel__idx(i, 7);
	a = &hook->args[i];
	idx = sel__idx(ext->idx[i], 7);
	if (idx >= SEL_MAX_ARGS)
		return 0;
	idx = sel__idx(idx, 7);
	raw = h->args[idx];
	src = ext->src[i];
	h->ival[i] = 0;
	h->slen[i] = 0;
	h->fino[i] = 0;
	h->fdev[i] = 0;
	__builtin_memset(h->str[i].s, 0, SEL_STR_MAX);
	switch (src) {
	case KF_SRC_INT:
		h->ival[i] = sel__narrow(raw, a->size, a->is_signed);
		return 0;
	case KF_SRC_STR:
		kf__str_to_slot(h, i, (const void *)raw);
		break;
	case KF_SRC_FILENAME:
		kf__str_to_slot(h, i, BPF_CORE_READ((struct filename *)raw, name));
		break;
	case KF_SRC_BUF:
		li = sel__idx(ext->len_idx[i], 7);
		if (li >= SEL_MAX_ARGS)
			return 0;
		li = sel__idx(li, 7);
		n = h->args[li];
		h->olen[i] = n;
		if (n > SEL_STR_MAX - 1)
			n = SEL_STR_MAX - 1;
		r = bpf_probe_read_kernel(h->str[i].s, n, (const void *)raw);
		if (r < 0)
			r = bpf_probe_read_user(h->str[i].s, n, (const void *)raw);
		if (r < 0) {
			h->slen[i] = -KF_EFAULT;
			sel__count(SEL_CNT_STR_FAULT);
			return 0;
		}
		h->slen[i] = n;
		break;
	case KF_SRC_FILE:
		sel__path_to_slot(h, i, &((struct file *)raw)->f_path);
		break;
	case KF_SRC_PATH:
		sel__path_to_slot(h, i, (const struct path *)raw);
		break;
	case KF_SRC_BPRM: {
		struct file *f = BPF_CORE_READ((struct linux_binprm *)raw, file);

		sel__path_to_slot(h, i, &f->f_path);
		break;
	}
	case KF_SRC_FD: {
		struct file *f = kf__fd_file((__s64)(__s32)raw);

		if (!f) {
			h->slen[i] = -KF_EBADF;
			return 0;
		}
		sel__path_to_slot(h, i, &f->f_path);
		break;
	}
	case KF_SRC_SK_FAMILY:
	case KF_SRC_SK_PROTO:
	case KF_SRC_SK_SADDR:
	case KF_SRC_SK_DADDR:
	case KF_SRC_SK_SPORT:
	case KF_SRC_SK_DPORT:
		kf__sock_to_slot(h, i, src, (struct sock *)raw);
		return 0;
	case KF_SRC_SA_FAMILY:
	case KF_SRC_SA_PORT:
	case KF_SRC_SA_ADDR:
		kf__sockaddr_to_slot(h, i, src, (const void *)raw);
		return 0;
	case KF_SRC_CRED:
		kf__cred_to_slot(i, raw);
		return 0;
	default:
		h->slen[i] = -KF_EINVAL;
		return 0;
	}
	if (a->reverse)
		sel__reverse(i);
	return 0;
}

FUNC_INLINE bool kf__int_src(__u8 src)
{
	return src == KF_SRC_INT || src == KF_SRC_SK_FAMILY || src == KF_SRC_SK_PROTO || src == KF_SRC_SK_SPORT ||
	       src == KF_SRC_SK_DPORT || src == KF_SRC_SA_FAMILY || src == KF_SRC_SA_PORT;
}


/*
 * The first matching selector s (or SEL_MAX_SELECTORS: a hook without selectors) of the hook at chain
 * position pos acts. Returns the errno the call must fail with (Override, enforcing), else 0.
 */
__noinline int kf__act(__u32 s, __u32 site, __u32 pos)
{
	struct sel_heap *h = sel__heap();
	struct sel_action act;
	struct kf_pending_key pk = {};
	struct sel_hook *hook;
	struct kf_hook *ext;
	struct kf_heap *kh;
	struct msg_kfunc *m;
	__u32 zero = 0, len, monitor;
	__s32 err = 0;
	__u64 now = bpf_ktime_get_ns(), pid_tgid = bpf_get_current_pid_tgid();

	if (!h)
		return 0;
	hook = sel__hook(h);
	ext = kf__ext(h);
	if (!hook || !ext)
		return 0;
	monitor = hook->flags & SEL_HOOK_MONITOR;
	if (!sel__decide(&kf_counters, KF_CNT_DENIED, KF_CNT_MONITOR, hook, ext->err, &s, &act, &err, now))
		goto out;
	kh = bpf_map_lookup_elem(&kf_heap_map, &zero);
	if (!kh) {
		kf__count(KF_CNT_HEAP);
		goto out;
	}
	m = &kh->msg;
	SEL_MSG_HEAD(m, MSG_OP_KFUNC, monitor ? KF_MSG_MONITOR : 0, now, pid_tgid, hook, h, s);
	m->action = err ? KF_ACT_OVERRIDE : act.sig == 9 ? KF_ACT_SIGKILL : act.sig ? KF_ACT_SIGNAL : KF_ACT_POST;
	m->site = site;
	m->err = err;
	m->sig = act.sig;
	m->ret = 0;
	m->pad = 0;
	m->pad2 = 0;
	len = sel__put_slots(h, hook, ext->src, ext->idx, kh->data, KF_DATA_MAX, &m->fault, &m->trunc);
	m->args_len = len;
	if (m->fault)
		m->common.flags |= KF_MSG_FAULT;
	if (m->trunc)
		m->common.flags |= KF_MSG_TRUNC;
	len += sizeof(*m);
	m->common.size = len;
	if (len > sizeof(struct kf_heap))
		goto out;
	if (hook->flags & SEL_HOOK_RETURN) {
		pk.tid = m->tid;
		pk.site = site;
		pk.pos = pos;
		if (bpf_map_update_elem(&kf_pending_map, &pk, kh, BPF_ANY))
			kf__count(KF_CNT_PENDING_FULL);
		goto out;
	}
	if (bpf_ringbuf_output(&kf_rb_events, m, len, BPF_RB_NO_WAKEUP))
		kf__count(KF_CNT_RB_FULL);
	else
		kf__count(KF_CNT_POSTED);
out:
	return monitor ? 0 : err;
}

/* Evaluate policy hook `slot` (chain position pos) against the current call at site; returns its verdict. */
__noinline int kf__run_hook(__u32 slot, __u32 site, __u32 pos)
{
	struct sel_heap *h = sel__heap();
	struct sel_hook *hook;
	struct kf_hook *ext;
	__u32 i, nargs, nsel;

	if (!h)
		return 0;
	h->slot = slot;
	hook = sel__hook(h);
	ext = kf__ext(h);
	if (!hook || !ext || ext->site != site) {
		kf__count(KF_CNT_NO_TABLE);
		return 0;
	}
	kf__count(KF_CNT_EVALS);
	nargs = hook->nargs;
	nsel = hook->nsel;
	sel__load_process(h, hook->flags);
	for (i = 0; i < SEL_MAX_ARGS; i++) {
		if (i >= nargs)
			break;
		kf__read_arg(i);
	}
	if (nsel == 0)
		return kf__act(SEL_MAX_SELECTORS, site, pos);
	for (i = 0; i < SEL_MAX_SELECTORS; i++) {
		if (i >= nsel)
			break;
		if (sel__match_selector(i))
			return kf__act(i, site, pos);
	}
	return 0;
}

/* Every policy hook on a site, in order (kf__run without the leave). */
__noinline int kf__run_chain(__u32 site)
{
	__u32 zero = 0, gen, i, tgid;
	struct kf_site *c;
	struct sel_conf *conf;
	struct sel_heap *h;
	int verdict = 0, r;

	if (site >= KF_MAX_SITES)
		return 0;
	c = bpf_map_lookup_elem(&kf_sites, &site);
	conf = bpf_map_lookup_elem(&sel_conf_map, &zero);
	if (!c || !conf || !conf->enabled)
		return 0;
	tgid = bpf_get_current_pid_tgid() >> 32;
	if (tgid == conf->self_tgid)
		return 0;
	h = sel__heap();
	if (!h) {
		kf__count(KF_CNT_HEAP);
		return 0;
	}
	gen = conf->gen & 1;
	h->gen = gen;
	h->tgid = tgid;
	h->nr = site;
	for (i = 0; i < KF_MAX_CHAIN; i++) {
		__u32 slot = c->slots[gen][i];

		if (slot == SEL_NO_SLOT)
			break;
		r = kf__run_hook(slot, site, i);
		if (r < 0 && verdict == 0)
			verdict = r;
	}
	return verdict;
}

/*
 * Every policy hook on a site, in order; the caller has put the function's arguments in sel_heap.args
 * (kf__args_*, which entered: this leaves). Returns 0 or the errno of the first enforcing Override that
 * matched (acted on by fmod_ret sites only).
 */
__noinline int kf__run(__u32 site)
{
	int r = kf__run_chain(site);

	kf__leave();
	return r;
}

/* The return of a site's function: the records its hooks parked for this thread get the value, and go. */
__noinline int kf__ret(__u32 site, __s64 rc)
{
	struct kf_pending_key pk = {};
	__u32 i;

	pk.tid = (__u32)bpf_get_current_pid_tgid();
	pk.site = site;
	for (i = 0; i < KF_MAX_CHAIN; i++) {
		struct kf_heap *p;
		__u32 len;

		pk.pos = i;
		p = bpf_map_lookup_elem(&kf_pending_map, &pk);
		if (!p)
			continue;
		p->msg.ret = rc;
		p->msg.common.flags |= KF_MSG_RETURN;
		len = p->msg.common.size;
		if (len > sizeof(*p))
			len = sizeof(*p);
		if (bpf_ringbuf_output(&kf_rb_events, p, len, BPF_RB_NO_WAKEUP))
			kf__count(KF_CNT_RB_FULL);
		else
			kf__count(KF_CNT_POSTED);
		bpf_map_delete_elem(&kf_pending_map, &pk);
	}
	return 0;
}

/*
 * The scratch a program fills before kf__run, its argument slots cleared; NULL when unavailable or in use
 * on this CPU (counted). Non-NULL: entered, and kf__run must follow (it leaves).
 */
FUNC_INLINE struct sel_heap *kf__args(void)
{
	struct sel_heap *h;

	if (!kf__enter())
		return NULL;
	h = sel__heap();
	if (!h) {
		kf__count(KF_CNT_HEAP);
		kf__leave();
		return NULL;
	}
	__builtin_memset(h->args, 0, sizeof(h->args));
	return h;
}

/*
 * BTF-typed programs (fentry, fmod_ret): the arguments are the u64 array ctx points to. It is copied
 * with one probe read rather than ctx[i] loads, because the verifier refuses a load past the attached
 * function's argument count, which a program shared by every function cannot know (bpf_get_func_arg
 * needs 5.17). Words past the last argument are the trampoline's own stack: read, never used.
 */
FUNC_INLINE bool kf__args_btf(void *ctx)
{
	struct sel_heap *h = kf__args();

	if (!h)
		return false;
	bpf_probe_read_kernel(h->args, sizeof(h->args), ctx);
	return true;
}

/* kprobes: the x86-64 calling convention's argument registers. */
FUNC_INLINE bool kf__args_regs(struct pt_regs *ctx)
{
	struct sel_heap *h = kf__args();

	if (!h)
		return false;
	h->args[0] = ctx->di;
	h->args[1] = ctx->si;
	h->args[2] = ctx->dx;
	h->args[3] = ctx->cx;
	h->args[4] = ctx->r8;
	h->args[5] = ctx->r9;
	return true;
}

/* __x64_sys_<name>(const struct pt_regs *regs): the syscall's arguments are the user registers (r10, not rcx). */
FUNC_INLINE bool kf__args_syscall(unsigned long long *ctx)
{
	struct sel_heap *h = kf__args();
	struct pt_regs *regs = (struct pt_regs *)ctx[0];

	if (!h)
		return false;
	h->args[0] = BPF_CORE_READ(regs, di);
	h->args[1] = BPF_CORE_READ(regs, si);
	h->args[2] = BPF_CORE_READ(regs, dx);
	h->args[3] = BPF_CORE_READ(regs, r10);
	h->args[4] = BPF_CORE_READ(regs, r8);
	h->args[5] = BPF_CORE_READ(regs, r9);
	return true;
}

/*
 * What an fmod_ret program returns: 0 (the function runs) or a negative errno (it does not, and the
 * caller gets that value). Returned as a sign-extended long: the trampoline takes the whole register
 * as the function's return value, and a syscall returns a long.
 */
FUNC_INLINE long kf__verdict(int r32)
{
	long r = r32;

	asm volatile("" : "+r"(r));
	if (r > 0 || r < -4095)
		r = 0;
	return r;
}
