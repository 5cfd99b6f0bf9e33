// SPDX-License-Identifier: GPL-2.0
/*
 * The kfunc backend: TracingPolicy `kprobes:` entries on kernel functions and `tracepoints:` entries with
 * `raw: true`, evaluating the selector tables compiled by packages/collector/src/kfunc/ (the syscall
 * backend's engine, sel_filter.h, through eval.h).
 *
 * Every program exists as KF_MAX_SITES copies whose number is the site they serve (no attach cookies
 * before 5.15). User space opens one object instance per site, autoloads the one copy it needs, points it
 * at the function or tracepoint (bpf_program__set_attach_target before load for the BTF-typed kinds; the
 * kprobe's function at attach) and makes it share every map of a base instance, which alone runs exe.h's
 * executable bookkeeping for matchBinaries. The section targets below are defaults only, present on every
 * supported kernel, so that each program also loads on its own (test/vm/load-objects.cjs): kf_sysret_N
 * too names a security_* hook, since no __x64_sys_* function is modifiable where the kernel lacks an
 * error-injection list (Debian's).
 *
 *   kf_fentry_N    fentry: observe (Post, NoPost, Sigkill, Signal); BTF-typed, cheapest
 *   kf_kprobe_N    kprobe: the same where fentry does not load; with kf_kretprobe_N for `return: true`
 *   kf_fmodret_N   fmod_ret: may fail the call (Override) — security_* and ALLOW_ERROR_INJECTION functions
 *   kf_sysret_N    fmod_ret on a syscall's __x64_sys_* entry: arguments from the user pt_regs it receives
 *   kf_tpbtf_N     tp_btf on a raw tracepoint: observe; ctx is the u64 array of its TP_PROTO arguments (the
 *                  hidden __data excluded), the same shape as fentry's, so the same evaluation. Loads where
 *                  fentry does not (a kernel refusing trampolines still runs typed raw tracepoints).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "eval.h"

#define KF_SITE(n)                                                              \
	SEC("fentry/security_file_open")                                        \
	int kf_fentry_##n(unsigned long long *ctx)                              \
	{                                                                       \
		if (kf__args_btf(ctx))                                          \
			kf__run(n);                                             \
		return 0;                                                       \
	}                                                                       \
	SEC("kprobe/security_file_open")                                        \
	int kf_kprobe_##n(struct pt_regs *ctx)                                  \
	{                                                                       \
		if (kf__args_regs(ctx))                                         \
			kf__run(n);                                             \
		return 0;                                                       \
	}                                                                       \
	SEC("kretprobe/security_file_open")                                     \
	int kf_kretprobe_##n(struct pt_regs *ctx)                               \
	{                                                                       \
		kf__ret(n, (__s64)PT_REGS_RC(ctx));                             \
		return 0;                                                       \
	}                                                                       \
	SEC("fmod_ret/security_file_open")                                      \
	long kf_fmodret_##n(unsigned long long *ctx)                            \
	{                                                                       \
		if (!kf__args_btf(ctx))                                         \
			return 0;                                               \
		return kf__verdict(kf__run(n));                                 \
	}                                                                       \
	SEC("fmod_ret/security_file_open")                                      \
	long kf_sysret_##n(unsigned long long *ctx)                             \
	{                                                                       \
		if (!kf__args_syscall(ctx))                                     \
			return 0;                                               \
		return kf__verdict(kf__run(n));                                 \
	}                                                                       \
	SEC("tp_btf/sched_process_exec")                                        \
	int kf_tpbtf_##n(unsigned long long *ctx)                               \
	{                                                                       \
		if (kf__args_btf(ctx))                                          \
			kf__run(n);                                             \
		return 0;                                                       \
	}

KF_SITE(0)
KF_SITE(1)
KF_SITE(2)
KF_SITE(3)
KF_SITE(4)
KF_SITE(5)
KF_SITE(6)
KF_SITE(7)

char LICENSE[] SEC("license") = "GPL";
