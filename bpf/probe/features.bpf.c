// SPDX-License-Identifier: GPL-2.0
/* Kernel feature probe (packages/collector/src/probe): one minimal program per mechanism. The probe
 * opens this object once per feature, enables only that program, loads, attaches, detaches, closes —
 * so one refused program never hides another. Programs do nothing observable: each returns at once
 * (cgroup/connect4 returns 1 = allow). Maps are created for every probe whichever program is enabled,
 * so there are as few as possible: the ring buffer (the agent cannot run without one anyway) and the
 * .rodata that holds the iterator's format string. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} feat_rb SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int feat_tracepoint(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int feat_syscall_tp(struct trace_event_raw_sys_enter *ctx)
{
	return 0;
}

SEC("raw_tp/sched_process_exec")
int feat_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(feat_tp_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	/* Typed access is the point of tp_btf: the verifier must accept a direct BTF pointer read. */
	return p->pid == 0;
}

SEC("kprobe/security_file_open")
int BPF_KPROBE(feat_kprobe, struct file *file)
{
	return 0;
}

SEC("kretprobe/security_file_open")
int BPF_KRETPROBE(feat_kretprobe, int ret)
{
	return 0;
}

SEC("fentry/security_file_open")
int BPF_PROG(feat_fentry, struct file *file)
{
	return 0;
}

SEC("fexit/security_file_open")
int BPF_PROG(feat_fexit, struct file *file, int ret)
{
	return 0;
}

SEC("fmod_ret/security_file_open")
int BPF_PROG(feat_fmod_ret, struct file *file, int ret)
{
	return 0; /* 0 = do not override the return value */
}

SEC("lsm/file_open")
int BPF_PROG(feat_lsm, struct file *file, int ret)
{
	return ret; /* never changes the verdict of earlier hooks */
}

/* Attached by the probe to a libc function through attachUprobe (a bare SEC("uprobe") has no target). */
SEC("uprobe")
int BPF_KPROBE(feat_uprobe)
{
	return 0;
}

SEC("cgroup/connect4")
int feat_cgroup_connect4(struct bpf_sock_addr *ctx)
{
	return 1; /* allow: the probe attaches this to the live cgroup2 root for an instant */
}

SEC("iter/task")
int feat_task_iter(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;

	/* One line per task proves the iterator ran; the probe only checks that output arrived. */
	if (task)
		BPF_SEQ_PRINTF(ctx->meta->seq, "%d\n", task->pid);
	return 0;
}

/* Load only (never attached): the verifier decides whether bpf_send_signal is allowed here.
 * The guard is unreachable in practice (no signal number is that large) in case anyone attaches it. */
SEC("tracepoint/syscalls/sys_enter_kill")
int feat_send_signal(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[1] == 0x7fffffff)
		bpf_send_signal(9);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int feat_ringbuf(void *ctx)
{
	__u64 *rec = bpf_ringbuf_reserve(&feat_rb, sizeof(*rec), 0);

	if (!rec)
		return 0;
	*rec = bpf_get_current_pid_tgid();
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
