// SPDX-License-Identifier: GPL-2.0
/*
 * The tracepoint backend: TracingPolicy `tracepoints:` hooks (tp.h, sel_tp), with the syscall
 * backend's selector framework and exec/fork/exit bookkeeping (exe.h) in an object of its own: its
 * sel_syscalls is keyed by tracepoint event id. User space does not load sel_sys_enter, which this object
 * carries because enter.h provides the evaluation functions.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tp.h"
#include "exe.h"

char LICENSE[] SEC("license") = "GPL";
