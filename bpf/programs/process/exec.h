/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sched_process_exec: the new image is in place (point of no return passed, creds committed, new mm
 * with argv on its stack). bprm->file is the file actually mapped and run — symlinks and relative
 * paths already resolved; for a #! script it is the interpreter, the script being in argv.
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "compiler.h"
#include "maps.h"
#include "process.h"
#include "d_path.h"

#define S_ISUID 0004000
#define S_ISGID 0002000

/* A value the verifier sees bounded at its use: opaque to the compiler, then masked. */
FUNC_INLINE __u32 exec__bound(__u64 v, __u32 mask)
{
	__u32 x = v > mask ? mask : (__u32)v;

	asm volatile("" : "+r"(x));
	return x & mask;
}

/* Copy the path d_path_local left in h to dst; returns its length (1..PATH_BUF). */
FUNC_INLINE __u32 exec__copy_path(char *dst, struct path_heap *h)
{
	__u32 off = h->off, len;

	if (off >= PATH_BUF)
		return 0;
	len = PATH_BUF - off;
	if (len > PATH_BUF)
		return 0;
	bpf_probe_read_kernel(dst, len, &h->buf[off]);
	return len;
}

FUNC_INLINE void exec__setid(struct linux_binprm *bprm, struct msg_exec *m)
{
	struct inode *inode = BPF_CORE_READ(bprm, file, f_inode);
	umode_t mode = BPF_CORE_READ(inode, i_mode);
	__u32 owner = BPF_CORE_READ(inode, i_uid.val);
	__u32 group = BPF_CORE_READ(inode, i_gid.val);

	m->setuid = NO_ID;
	m->setgid = NO_ID;
	if ((mode & S_ISUID) && m->cred.euid == owner && m->cred.uid != owner)
		m->setuid = owner;
	if ((mode & S_ISGID) && m->cred.egid == group && m->cred.gid != group)
		m->setgid = group;
}

/* Which image this one descends from and which one it replaces; records the new image in tg_execve_map. */
FUNC_INLINE void exec__lineage(struct task_struct *task, struct msg_exec *m)
{
	__u32 tgid = m->key.pid;
	struct execve_map_value *curr = bpf_map_lookup_elem(&tg_execve_map, &tgid);
	struct execve_map_value next = {};

	if (curr) {
		m->replaces = curr->key;
		/* Exec without fork: the previous image is the parent (Tetragon's scheme). After a fork,
		 * the clone is only a copy of the forking process: the parent is the forking process. */
		m->parent = (curr->flags & EVENT_EXECVE) ? curr->key : curr->pkey;
	} else {
		struct task_struct *parent = task__parent(task);
		bool known = false;

		if (parent && BPF_CORE_READ(parent, tgid) != 0) {
			task__key(parent, &m->parent, &known);
		} else {
			m->flags |= EVENT_NO_PARENT;
		}
		if (!known)
			m->flags |= EVENT_MISS;
	}
	next.key = m->key;
	next.pkey = m->parent;
	next.flags = EVENT_EXECVE;
	if (bpf_map_update_elem(&tg_execve_map, &tgid, &next, BPF_ANY))
		counter__inc(CNT_MAP_FULL);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(event_execve, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 zero = 0;
	struct exec_heap *heap = bpf_map_lookup_elem(&tg_exec_heap, &zero);
	struct path_heap *scratch = bpf_map_lookup_elem(&tg_path_heap, &zero);
	struct tg_conf *conf = bpf_map_lookup_elem(&tg_conf_map, &zero);
	struct msg_exec *m;
	struct fs_struct *fs;
	struct mm_struct *mm;
	unsigned long arg_start, arg_end, args_size;
	__u32 max_args = ARGS_MAX, len, pos;
	long n;

	if (!heap || !scratch) {
		counter__inc(CNT_HEAP);
		return 0;
	}
	if (conf && conf->max_args_bytes && conf->max_args_bytes < ARGS_MAX)
		max_args = conf->max_args_bytes;

	m = &heap->msg;
	m->common.op = MSG_OP_EXECVE;
	m->common.flags = 0;
	m->common.pad = 0;
	m->common.ktime = bpf_ktime_get_ns();
	m->key.pid = BPF_CORE_READ(task, tgid);
	m->key.pad = 0;
	m->key.ktime = m->common.ktime;
	m->parent = (struct msg_key){};
	m->replaces = (struct msg_key){};
	m->tid = BPF_CORE_READ(task, pid);
	m->flags = EVENT_EXECVE;
	m->pad = 0;
	m->auid = task__auid(task);
	task__cred(task, &m->cred);
	task__ns(task, &m->ns);
	m->cgroup_id = task__cgroup_id(task);
	exec__setid(bprm, m);
	exec__lineage(task, m);

	/* Executed file. */
	fs = BPF_CORE_READ(task, fs);
	d_path_local(&bprm->file->f_path, &fs->root, scratch);
	if (scratch->truncated)
		m->flags |= EVENT_TRUNC_PATH;
	len = exec__copy_path(heap->data, scratch);
	m->path_len = len;
	pos = len;

	/* Working directory. */
	d_path_local(&fs->pwd, &fs->root, scratch);
	if (scratch->truncated)
		m->flags |= EVENT_TRUNC_CWD;
	if (pos > PATH_BUF)
		return 0;
	len = exec__copy_path(&heap->data[pos], scratch);
	m->cwd_len = len;
	if (len == 1)
		m->flags |= EVENT_ROOTCWD;
	pos += len;

	/* argv, NUL-separated, from the new stack (resident: the kernel just wrote it). */
	mm = BPF_CORE_READ(task, mm);
	arg_start = BPF_CORE_READ(mm, arg_start);
	arg_end = BPF_CORE_READ(mm, arg_end);
	args_size = arg_end > arg_start ? arg_end - arg_start : 0;
	if (args_size > max_args) {
		args_size = max_args;
		m->flags |= EVENT_TRUNC_ARGS;
	}
	m->args_len = 0;
	if (pos > 2 * PATH_BUF)
		return 0;
	/* Bounded where it is used: older verifiers (6.1) lose a check made on a copy clang spilled. */
	len = exec__bound(args_size, 2 * ARGS_MAX - 1);
	if (len > 0 && len <= ARGS_MAX) {
		len = exec__bound(len, 2 * ARGS_MAX - 1);
		if (len <= ARGS_MAX && bpf_probe_read_user(&heap->data[pos], len, (void *)arg_start) == 0)
			m->args_len = len;
		else
			m->flags |= EVENT_ERR_ARGS;
	}
	pos += m->args_len;

	/* cgroup (v2) name. */
	if (pos > 2 * PATH_BUF + ARGS_MAX)
		return 0;
	n = bpf_probe_read_kernel_str(&heap->data[pos], CGROUP_NAME_MAX,
				      BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, name));
	m->cgroup_name_len = n > 0 ? n - 1 : 0;
	pos += m->cgroup_name_len;

	len = exec__bound(sizeof(struct msg_exec) + pos, 0x7fff);
	if (len > sizeof(struct exec_heap))
		return 0;
	len = exec__bound(len, 0x7fff);
	if (len > sizeof(struct exec_heap))
		return 0;
	m->common.size = len;
	if (bpf_ringbuf_output(&tg_rb_events, heap, len, BPF_RB_NO_WAKEUP))
		counter__inc(CNT_RB_FULL_EXEC);
	else
		counter__inc(CNT_EXECS);
	return 0;
}
