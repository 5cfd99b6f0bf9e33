/* SPDX-License-Identifier: GPL-2.0 */
/*
 * security_bprm_check_security(bprm): exec, after the binary is opened and before it replaces the
 * caller's image. Argument 0 (linux_binprm) reads as the absolute path of bprm->file — the file the
 * kernel runs: symlinks and relative names resolved; for a #! script, the script (the interpreter is
 * checked by a second call). Override fails the execve with the errno (bash: exit 126).
 */
#pragma once
#include "eval.h"

SEC("lsm/bprm_check_security")
long lsm_bprm_check_security(unsigned long long *ctx) /* struct linux_binprm *bprm */
{
	struct sel_heap *h = lsm__args();

	if (!h)
		return 0;
	h->args[0] = ctx[0];
	return lsm__verdict(lsm__run(LSM_HOOK_BPRM_CHECK_SECURITY));
}
