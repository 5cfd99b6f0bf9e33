/* SPDX-License-Identifier: GPL-2.0 */
/*
 * security_path_*: namespace operations, with the path they act on (CONFIG_SECURITY_PATH, which
 * Debian's kernels have for AppArmor/TOMOYO). path_truncate(path), path_chmod(path, mode): argument 0
 * (path) reads as its absolute path. path_unlink(dir, dentry), path_rmdir(dir, dentry),
 * path_mkdir(dir, dentry, mode): argument 0 (path) is the directory, argument 1 (path) the entry
 * itself (directory/name); mode is an int.
 */
#pragma once
#include "eval.h"

SEC("lsm/path_truncate")
long lsm_path_truncate(unsigned long long *ctx) /* const struct path *path */
{
	struct sel_heap *h = lsm__args();

	if (!h)
		return 0;
	h->args[0] = ctx[0];
	return lsm__verdict(lsm__run(LSM_HOOK_PATH_TRUNCATE));
}

SEC("lsm/path_chmod")
long lsm_path_chmod(unsigned long long *ctx) /* const struct path *path, umode_t mode */
{
	struct sel_heap *h = lsm__args();

	if (!h)
		return 0;
	h->args[0] = ctx[0];
	h->args[1] = (__u16)ctx[1]; /* umode_t */
	return lsm__verdict(lsm__run(LSM_HOOK_PATH_CHMOD));
}

SEC("lsm/path_unlink")
long lsm_path_unlink(unsigned long long *ctx) /* const struct path *dir, struct dentry *dentry */
{
	struct sel_heap *h = lsm__args();

	if (!h)
		return 0;
	h->args[0] = ctx[0];
	h->args[1] = ctx[1];
	return lsm__verdict(lsm__run(LSM_HOOK_PATH_UNLINK));
}

SEC("lsm/path_rmdir")
long lsm_path_rmdir(unsigned long long *ctx) /* const struct path *dir, struct dentry *dentry */
{
	struct sel_heap *h = lsm__args();

	if (!h)
		return 0;
	h->args[0] = ctx[0];
	h->args[1] = ctx[1];
	return lsm__verdict(lsm__run(LSM_HOOK_PATH_RMDIR));
}

SEC("lsm/path_mkdir")
long lsm_path_mkdir(unsigned long long *ctx) /* const struct path *dir, struct dentry *dentry, umode_t mode */
{
	struct sel_heap *h = lsm__args();

	if (!h)
		return 0;
	h->args[0] = ctx[0];
	h->args[1] = ctx[1];
	h->args[2] = (__u16)ctx[2]; /* umode_t */
	return lsm__verdict(lsm__run(LSM_HOOK_PATH_MKDIR));
}
