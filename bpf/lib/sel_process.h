/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The process attributes a hook's selectors need, loaded into the selector heap once per evaluation:
 * the executable (matchBinaries), the parent's executable and followChildren lineage
 * (matchParentBinaries), capabilities, namespaces, the pid in the process's own pid namespace (of the
 * process, or of it and its ancestors with followForks) and the followForks lineage (matchPIDs). Shared by every backend on the selector engine (syscall, tracepoint,
 * kernel-function programs).
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "compiler.h"
#include "sel_filter.h"

/*
 * matchParentBinaries: the executable sel_exe_map holds for the current parent (real_parent's tgid,
 * read now: a process reparented to a subreaper is judged by its new parent), and that parent's
 * followChildren bits.
 */
FUNC_INLINE void sel__load_parent(struct sel_heap *h, struct task_struct *task, __u32 flags)
{
	__u32 ptgid = BPF_CORE_READ(task, real_parent, tgid);
	struct sel_exe *e = bpf_map_lookup_elem(&sel_exe_map, &ptgid);
	__u64 *l = bpf_map_lookup_elem(&sel_fc_lineage, &ptgid);

	h->pfc_lineage = l ? *l : 0;
	h->pexe_known = 0;
	if (!e)
		return;
	h->pexe_known = 1;
	h->pexe_dev = e->dev;
	h->pexe_ino = e->ino;
	h->pexe_flags = e->flags;
	h->pexe_len = e->len > SEL_STR_MAX - 1 ? SEL_STR_MAX - 1 : e->len;
	bpf_probe_read_kernel(h->pexe.s, SEL_STR_MAX, e->path);
	if (flags & SEL_HOOK_PEXE_REV)
		sel__reverse(SEL_MAX_ARGS + 1);
}

/*
 * The upid of `pid` at its own level: its number and namespace in the innermost pid namespace it lives
 * in (probe reads). False for a level of 32, the deepest nesting the kernel allows.
 */
FUNC_INLINE bool sel__upid(struct pid *pid, struct upid *out)
{
	unsigned int level = BPF_CORE_READ(pid, level);

	if (level >= 32)
		return false;
	return bpf_core_read(out, sizeof(*out), &pid->numbers[level]) == 0;
}

/*
 * isNamespacePID with followForks (Tetragon's pid filter walks the process and its ancestors, 10 in all):
 * the pid of the current process as its own pid namespace numbers it, then of its real_parent, and so on
 * up the current real_parent chain — a reparented orphan is judged by its new parent — stopping at the
 * idle task (pid 0, the parent of init and kthreadd, whose real_parent is itself). A global function
 * (verified once); `levels` is SEL_NSPID_LEVELS.
 */
__noinline int sel__load_nspid_chain(__u32 levels)
{
	struct sel_heap *h = sel__heap();
	struct task_struct *t, *p;
	struct upid upid;
	__u32 i;

	if (!h)
		return 0;
	h->nspid_chain_known = 0;
	t = (struct task_struct *)bpf_get_current_task();
	for (i = 0; i < SEL_NSPID_LEVELS; i++) {
		if (i >= levels)
			break;
		h->nspid_chain[i] = 0;
		upid.nr = 0;
		/* real_parent is the thread that forked: its group leader's number is the process id. */
		if (sel__upid(BPF_CORE_READ(t, group_leader, thread_pid), &upid)) {
			h->nspid_chain[i] = upid.nr;
			h->nspid_chain_known |= 1U << i;
		}
		p = BPF_CORE_READ(t, real_parent);
		if (!p || p == t)
			break;
		t = p;
	}
	return 0;
}

FUNC_INLINE void sel__load_process(struct sel_heap *h, __u32 flags)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if (flags & SEL_HOOK_EXE) {
		struct sel_exe *e = bpf_map_lookup_elem(&sel_exe_map, &h->tgid);

		h->exe_known = 0;
		if (e) {
			h->exe_known = 1;
			h->exe_dev = e->dev;
			h->exe_ino = e->ino;
			h->exe_flags = e->flags;
			h->exe_len = e->len > SEL_STR_MAX - 1 ? SEL_STR_MAX - 1 : e->len;
			bpf_probe_read_kernel(h->exe.s, SEL_STR_MAX, e->path);
			if (flags & SEL_HOOK_EXE_REV)
				sel__reverse(SEL_MAX_ARGS);
		}
	}
	if (flags & SEL_HOOK_PEXE)
		sel__load_parent(h, task, flags);
	if (flags & SEL_HOOK_FC) {
		__u64 *l = bpf_map_lookup_elem(&sel_fc_lineage, &h->tgid);

		h->fc_lineage = l ? *l : 0;
	}
	if (flags & SEL_HOOK_CRED) {
		const struct cred *cred = BPF_CORE_READ(task, cred);

		/* kernel_cap_t is {u64 val} since 6.3 and {u32 cap[2]} before: 8 bytes either way. */
		BPF_CORE_READ_INTO(&h->caps[SEL_CAP_EFFECTIVE], cred, cap_effective);
		BPF_CORE_READ_INTO(&h->caps[SEL_CAP_INHERITABLE], cred, cap_inheritable);
		BPF_CORE_READ_INTO(&h->caps[SEL_CAP_PERMITTED], cred, cap_permitted);
	}
	if (flags & SEL_HOOK_NS) {
		struct nsproxy *nsp = BPF_CORE_READ(task, nsproxy);
		struct upid upid = {};

		h->ns[SEL_NS_UTS] = BPF_CORE_READ(nsp, uts_ns, ns.inum);
		h->ns[SEL_NS_IPC] = BPF_CORE_READ(nsp, ipc_ns, ns.inum);
		h->ns[SEL_NS_MNT] = BPF_CORE_READ(nsp, mnt_ns, ns.inum);
		h->ns[SEL_NS_PID_FOR_CHILDREN] = BPF_CORE_READ(nsp, pid_ns_for_children, ns.inum);
		h->ns[SEL_NS_NET] = BPF_CORE_READ(nsp, net_ns, ns.inum);
		h->ns[SEL_NS_CGROUP] = BPF_CORE_READ(nsp, cgroup_ns, ns.inum);
		h->ns[SEL_NS_TIME] = 0;
		h->ns[SEL_NS_TIME_FOR_CHILDREN] = 0;
		if (bpf_core_field_exists(nsp->time_ns)) {
			h->ns[SEL_NS_TIME] = BPF_CORE_READ(nsp, time_ns, ns.inum);
			h->ns[SEL_NS_TIME_FOR_CHILDREN] = BPF_CORE_READ(nsp, time_ns_for_children, ns.inum);
		}
		h->ns[SEL_NS_USER] = BPF_CORE_READ(task, cred, user_ns, ns.inum);
		h->ns[SEL_NS_PID] = 0;
		if (sel__upid(BPF_CORE_READ(task, thread_pid), &upid))
			h->ns[SEL_NS_PID] = BPF_CORE_READ(upid.ns, ns.inum);
	}
	if (flags & SEL_HOOK_NSPID) {
		/* The group leader's number: the process id (tgid) as its pid namespace sees it, as getpid() returns. */
		struct upid upid = {};

		h->nspid = sel__upid(BPF_CORE_READ(task, group_leader, thread_pid), &upid) ? upid.nr : 0;
	}
	if (flags & SEL_HOOK_NSPID_CHAIN)
		sel__load_nspid_chain(SEL_NSPID_LEVELS);
	if (flags & SEL_HOOK_FOLLOW) {
		__u64 *l = bpf_map_lookup_elem(&sel_lineage, &h->tgid);
		__u64 *r = bpf_map_lookup_elem(&sel_follow_roots, &h->tgid);

		h->lineage = (l ? *l : 0) | (r ? *r : 0);
	}
}
