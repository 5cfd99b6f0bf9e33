/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The executable of every process, for matchBinaries: (dev, ino) and absolute path of the file
 * sched_process_exec ran (bprm->file: symlinks and relative paths resolved; for a #! script, the
 * interpreter), copied to the child at fork, dropped when the thread group dies. Processes older than
 * the backend are seeded by user space from /proc/<pid>/exe (SEL_EXE_PROCFS).
 *
 * The path walk is d_path.h's (bpf_d_path is not allowed from tp_btf), with this backend's own
 * scratch so that the object does not carry the process sensor's maps.
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "compiler.h"
#include "sel_filter.h"

#define SEL_PATH_BUF 1024
#define SEL_PATH_COMPONENTS 64

FUNC_INLINE struct mount *sel__real_mount(struct vfsmount *mnt)
{
	return (struct mount *)((void *)mnt - bpf_core_field_offset(struct mount, mnt));
}

/* Leaves the path in h->buf[h->off .. SEL_PATH_BUF); the cursor lives in map memory (see d_path.h). */
static __noinline int exe__d_path(const struct path *path, const struct path *root, struct sel_path_heap *h)
{
	struct dentry *dentry = BPF_CORE_READ(path, dentry);
	struct vfsmount *vfsmnt = BPF_CORE_READ(path, mnt);
	struct dentry *root_dentry = BPF_CORE_READ(root, dentry);
	struct vfsmount *root_mnt = BPF_CORE_READ(root, mnt);
	struct mount *mnt = sel__real_mount(vfsmnt);
	int i;

	if (!h)
		return 0;
	h->off = SEL_PATH_BUF;
	h->truncated = 0;
	for (i = 0; i < SEL_PATH_COMPONENTS; i++) {
		struct dentry *parent;
		const unsigned char *name;
		__u32 len, off;

		if (dentry == root_dentry && vfsmnt == root_mnt)
			break;
		if (dentry == BPF_CORE_READ(vfsmnt, mnt_root)) {
			struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);

			if (mnt == mnt_parent)
				break;
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			vfsmnt = (struct vfsmount *)((void *)mnt + bpf_core_field_offset(struct mount, mnt));
			continue;
		}
		parent = BPF_CORE_READ(dentry, d_parent);
		if (parent == dentry)
			break;
		len = BPF_CORE_READ(dentry, d_name.len) & 0xff;
		name = BPF_CORE_READ(dentry, d_name.name);
		off = h->off;
		if (len + 1 > off || off > SEL_PATH_BUF) {
			h->truncated = 1;
			break;
		}
		off -= len;
		bpf_probe_read_kernel(&h->buf[off & (SEL_PATH_BUF - 1)], len, name);
		off -= 1;
		h->buf[off & (SEL_PATH_BUF - 1)] = '/';
		h->off = off;
		dentry = parent;
	}
	if (i == SEL_PATH_COMPONENTS)
		h->truncated = 1;
	if (h->off >= SEL_PATH_BUF) {
		h->off = SEL_PATH_BUF - 1;
		h->buf[SEL_PATH_BUF - 1] = '/';
	}
	return 0;
}

/* followChildren: the bits of the binary just exec'd join those the process inherited. */
FUNC_INLINE void exe__follow_children(struct sel_path_heap *h, __u32 tgid, __u32 len)
{
	struct sel_ino_key ik = { .dev = h->exe.dev, .ino = h->exe.ino };
	__u64 bits = 0, *v;

	v = bpf_map_lookup_elem(&sel_fc_ino, &ik);
	if (v)
		bits |= *v;
	if (!(h->exe.flags & SEL_EXE_TRUNC)) {
		__builtin_memset(&h->key, 0, sizeof(h->key));
		h->key.hdr = len;
		bpf_probe_read_kernel(h->key.s, len & (SEL_STR_MAX - 1), h->exe.path);
		v = bpf_map_lookup_elem(&sel_fc_path, &h->key);
		if (v)
			bits |= *v;
	}
	if (!bits)
		return;
	v = bpf_map_lookup_elem(&sel_fc_lineage, &tgid);
	if (v)
		bits |= *v;
	bpf_map_update_elem(&sel_fc_lineage, &tgid, &bits, BPF_ANY);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sel_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 zero = 0, tgid = BPF_CORE_READ(task, tgid), off, len;
	struct sel_path_heap *h = bpf_map_lookup_elem(&sel_path_heap_map, &zero);
	struct inode *inode = BPF_CORE_READ(bprm, file, f_inode);
	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	struct sel_exe *e;

	if (!h) {
		sel__count(SEL_CNT_HEAP);
		return 0;
	}
	e = &h->exe;
	__builtin_memset(e, 0, sizeof(*e));
	e->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	e->ino = BPF_CORE_READ(inode, i_ino);
	exe__d_path(&bprm->file->f_path, &fs->root, h);
	off = h->off;
	if (off >= SEL_PATH_BUF)
		return 0;
	len = SEL_PATH_BUF - off;
	if (h->truncated)
		e->flags |= SEL_EXE_TRUNC;
	if (len > SEL_STR_MAX - 1) {
		len = SEL_STR_MAX - 1;
		e->flags |= SEL_EXE_TRUNC;
	}
	len &= SEL_STR_MAX - 1; /* len <= 255 already: the mask informs the verifier */
	bpf_probe_read_kernel(e->path, len, &h->buf[off]);
	e->len = len;
	if (bpf_map_update_elem(&sel_exe_map, &tgid, e, BPF_ANY))
		sel__count(SEL_CNT_EXE_MAP_FULL);
	exe__follow_children(h, tgid, len);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sel_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 tgid = BPF_CORE_READ(child, tgid), ptgid = BPF_CORE_READ(parent, tgid);
	struct sel_exe *e;
	__u64 *l, *r, bits = 0;

	if (tgid != BPF_CORE_READ(child, pid))
		return 0; /* a thread */
	e = bpf_map_lookup_elem(&sel_exe_map, &ptgid);
	if (e && bpf_map_update_elem(&sel_exe_map, &tgid, e, BPF_ANY))
		sel__count(SEL_CNT_EXE_MAP_FULL);
	l = bpf_map_lookup_elem(&sel_lineage, &ptgid);
	r = bpf_map_lookup_elem(&sel_follow_roots, &ptgid);
	if (l)
		bits |= *l;
	if (r)
		bits |= *r;
	if (bits)
		bpf_map_update_elem(&sel_lineage, &tgid, &bits, BPF_ANY);
	l = bpf_map_lookup_elem(&sel_fc_lineage, &ptgid);
	if (l) {
		bits = *l;
		bpf_map_update_elem(&sel_fc_lineage, &tgid, &bits, BPF_ANY);
	}
	return 0;
}

/*
 * do_exit() decrements signal->live before this tracepoint: 0 means the whole thread group is dead.
 * (Read rather than the tracepoint's group_dead argument, which older kernels do not pass.)
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sel_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);

	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	bpf_map_delete_elem(&sel_exe_map, &tgid);
	bpf_map_delete_elem(&sel_lineage, &tgid);
	bpf_map_delete_elem(&sel_fc_lineage, &tgid);
	return 0;
}
