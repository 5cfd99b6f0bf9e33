/* SPDX-License-Identifier: GPL-2.0 */
/*
 * security_file_open(file): every open, after the path is resolved and before the file is usable
 * (open(2) fails with the errno); security_file_permission(file, mask): every read/write on an open file
 * (attached only while a policy names it: it is the hottest hook here). Argument 0 (file) reads as the
 * absolute path of file->f_path; argument 1 of file_permission is the MAY_* mask (int).
 */
#pragma once
#include "eval.h"

SEC("lsm/file_open")
long lsm_file_open(unsigned long long *ctx) /* struct file *file */
{
	struct sel_heap *h = lsm__args();

	if (!h)
		return 0;
	h->args[0] = ctx[0];
	return lsm__verdict(lsm__run(LSM_HOOK_FILE_OPEN));
}

SEC("lsm/file_permission")
long lsm_file_permission(unsigned long long *ctx) /* struct file *file, int mask */
{
	struct sel_heap *h = lsm__args();

	if (!h)
		return 0;
	h->args[0] = ctx[0];
	h->args[1] = (__u64)(__s64)(int)ctx[1]; /* int mask */
	return lsm__verdict(lsm__run(LSM_HOOK_FILE_PERMISSION));
}
