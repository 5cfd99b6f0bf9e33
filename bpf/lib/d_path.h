/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Resolving a struct path to an absolute path string without bpf_d_path (only allowed from
 * fentry/LSM, which this sensor must not depend on): walk d_parent up to the task's root, crossing
 * mount points through struct mount, writing names backwards into a per-CPU scratch buffer.
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "compiler.h"
#include "maps.h"

#define D_PATH_MAX_COMPONENTS 128

FUNC_INLINE struct mount *real_mount(struct vfsmount *mnt)
{
	return (struct mount *)((void *)mnt - bpf_core_field_offset(struct mount, mnt));
}

/*
 * Leaves the path in h->buf[h->off .. PATH_BUF) (not NUL-terminated) and h->truncated set when the
 * path had more components than the walk follows or did not fit.
 */
static __noinline int d_path_local(const struct path *path, const struct path *root, struct path_heap *h)
{
	struct dentry *dentry = BPF_CORE_READ(path, dentry);
	struct vfsmount *vfsmnt = BPF_CORE_READ(path, mnt);
	struct dentry *root_dentry = BPF_CORE_READ(root, dentry);
	struct vfsmount *root_mnt = BPF_CORE_READ(root, mnt);
	struct mount *mnt = real_mount(vfsmnt);
	int i;

	if (!h)
		return 0;
	h->off = PATH_BUF;
	h->truncated = 0;
	for (i = 0; i < D_PATH_MAX_COMPONENTS; i++) {
		struct dentry *parent;
		const unsigned char *name;
		__u32 len, off;

		if (dentry == root_dentry && vfsmnt == root_mnt)
			break;
		if (dentry == BPF_CORE_READ(vfsmnt, mnt_root)) {
			struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);

			if (mnt == mnt_parent)
				break; /* the global root, or a detached mount */
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
		if (len + 1 > off || off > PATH_BUF) {
			h->truncated = 1;
			break;
		}
		off -= len;
		/* off < PATH_BUF here and buf is 2 * PATH_BUF long: the mask only informs the verifier. */
		bpf_probe_read_kernel(&h->buf[off & (PATH_BUF - 1)], len, name);
		off -= 1;
		h->buf[off & (PATH_BUF - 1)] = '/';
		h->off = off;
		dentry = parent;
	}
	if (i == D_PATH_MAX_COMPONENTS)
		h->truncated = 1;
	if (h->off >= PATH_BUF) {
		h->off = PATH_BUF - 1;
		h->buf[PATH_BUF - 1] = '/';
	}
	return 0;
}
