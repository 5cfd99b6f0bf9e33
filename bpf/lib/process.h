/* SPDX-License-Identifier: GPL-2.0 */
/* Reading a task's identity: credentials, namespaces, keys of process images. */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "compiler.h"
#include "maps.h"

#define PF_KTHREAD 0x00200000
#define SIGNAL_GROUP_EXIT 0x00000004
/* /proc/<pid>/stat reports start times in USER_HZ (100) ticks of boot time. */
#define PROCFS_TICK_NS 10000000ULL

FUNC_INLINE void counter__inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&tg_counters, &idx);

	if (v)
		*v += 1;
}

/*
 * The key user space gives a process it found in /proc at start: boot-time start rounded to procfs
 * ticks. The kernel side computes the same key for a process it has no entry for, so a process that
 * races the procfs walk still resolves to the same exec_id.
 */
FUNC_INLINE __u64 task__procfs_ktime(struct task_struct *task)
{
	__u64 start = 0;

	if (bpf_core_field_exists(task->start_boottime))
		start = BPF_CORE_READ(task, group_leader, start_boottime);
	return start / PROCFS_TICK_NS * PROCFS_TICK_NS;
}

/* The current image of a process: its tg_execve_map entry, else the procfs-compatible key. */
FUNC_INLINE void task__key(struct task_struct *task, struct msg_key *key, bool *known)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct execve_map_value *v = bpf_map_lookup_elem(&tg_execve_map, &tgid);

	key->pid = tgid;
	key->pad = 0;
	if (v) {
		key->ktime = v->key.ktime;
		*known = true;
	} else {
		key->ktime = task__procfs_ktime(task);
		*known = false;
	}
}

FUNC_INLINE void task__cred(struct task_struct *task, struct msg_cred *c)
{
	const struct cred *cred = BPF_CORE_READ(task, real_cred);

	c->uid = BPF_CORE_READ(cred, uid.val);
	c->gid = BPF_CORE_READ(cred, gid.val);
	c->suid = BPF_CORE_READ(cred, suid.val);
	c->sgid = BPF_CORE_READ(cred, sgid.val);
	c->euid = BPF_CORE_READ(cred, euid.val);
	c->egid = BPF_CORE_READ(cred, egid.val);
	c->fsuid = BPF_CORE_READ(cred, fsuid.val);
	c->fsgid = BPF_CORE_READ(cred, fsgid.val);
	/* kernel_cap_t is {u64 val} since 6.3 and {u32 cap[2]} before: 8 bytes either way. */
	BPF_CORE_READ_INTO(&c->cap_permitted, cred, cap_permitted);
	BPF_CORE_READ_INTO(&c->cap_effective, cred, cap_effective);
	BPF_CORE_READ_INTO(&c->cap_inheritable, cred, cap_inheritable);
}

FUNC_INLINE __u32 task__auid(struct task_struct *task)
{
	if (bpf_core_field_exists(task->loginuid))
		return BPF_CORE_READ(task, loginuid.val);
	return NO_ID;
}

FUNC_INLINE void task__ns(struct task_struct *task, struct msg_ns *ns)
{
	struct nsproxy *nsp = BPF_CORE_READ(task, nsproxy);
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid upid = {};

	ns->uts = BPF_CORE_READ(nsp, uts_ns, ns.inum);
	ns->ipc = BPF_CORE_READ(nsp, ipc_ns, ns.inum);
	ns->mnt = BPF_CORE_READ(nsp, mnt_ns, ns.inum);
	ns->pid_for_children = BPF_CORE_READ(nsp, pid_ns_for_children, ns.inum);
	ns->net = BPF_CORE_READ(nsp, net_ns, ns.inum);
	ns->cgroup = BPF_CORE_READ(nsp, cgroup_ns, ns.inum);
	if (bpf_core_field_exists(nsp->time_ns)) {
		ns->time = BPF_CORE_READ(nsp, time_ns, ns.inum);
		ns->time_for_children = BPF_CORE_READ(nsp, time_ns_for_children, ns.inum);
	}
	ns->user = BPF_CORE_READ(task, real_cred, user_ns, ns.inum);
	/* The active pid namespace is the one of the task's pid at its deepest level. */
	if (level < 32) {
		bpf_core_read(&upid, sizeof(upid), &pid->numbers[level]);
		ns->pid = BPF_CORE_READ(upid.ns, ns.inum);
	}
}

FUNC_INLINE __u64 task__cgroup_id(struct task_struct *task)
{
	return BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
}

/* The tgid of the process that forked this one (its real parent's thread group). */
FUNC_INLINE struct task_struct *task__parent(struct task_struct *task)
{
	return BPF_CORE_READ(task, real_parent, group_leader);
}
