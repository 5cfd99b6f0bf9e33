// SPDX-License-Identifier: GPL-2.0
/*
 * The syscall_tracepoint backend: TracingPolicy `kprobes: [{syscall: true}]` hooks on raw syscall
 * tracepoints, with tables compiled by packages/collector/src/syscall/. One attach point per header:
 * enter.h (sys_enter), exit.h (sys_exit), exe.h (exec/fork/exit bookkeeping for matchBinaries and
 * matchPIDs followForks).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "enter.h"
#include "exit.h"
#include "exe.h"

char LICENSE[] SEC("license") = "GPL";
