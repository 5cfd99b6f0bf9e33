/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A kernel path argument (struct path of a file, a binprm's file, a dentry under a directory) into an
 * argument slot of the selector heap: the absolute path relative to the caller's root (str, slen) and
 * the inode it names (fdev, fino). Equal/NotEqual on a path also match the inode of each value, resolved
 * at apply, so a hard link or a rename of a listed file is the same file. Shared by the BPF LSM and
 * kernel-function backends.
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "compiler.h"
#include "exe.h"

FUNC_INLINE void sel__path_to_slot(struct sel_heap *h, __u32 i, const struct path *path)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	struct inode *inode = BPF_CORE_READ(path, dentry, d_inode);
	__u32 zero = 0, off, len;
	struct sel_path_heap *ph = bpf_map_lookup_elem(&sel_path_heap_map, &zero);

	if (!ph || i >= SEL_MAX_ARGS)
		return;
	exe__d_path(path, &fs->root, ph);
	i = sel__idx(i, 7);
	if (i >= SEL_MAX_ARGS)
		return;
	i = sel__idx(i, 7);
	if (inode) { /* a negative dentry (mkdir's new name) has none */
		h->fdev[i] = BPF_CORE_READ(inode, i_sb, s_dev);
		h->fino[i] = BPF_CORE_READ(inode, i_ino);
	}
	off = ph->off;
	if (off >= SEL_PATH_BUF)
		return;
	len = SEL_PATH_BUF - off;
	if (len > SEL_STR_MAX - 1 || ph->truncated)
		len = SEL_STR_MAX - 1; /* a path cut short reads as truncated: never Equal, no Postfix */
	len &= SEL_STR_MAX - 1;
	bpf_probe_read_kernel(h->str[i].s, len, &ph->buf[off]);
	h->slen[i] = len;
}
