// SPDX-License-Identifier: GPL-2.0
/*
 * The bpf_lsm backend: TracingPolicy `lsmhooks:` entries as BPF LSM programs evaluating the selector
 * tables compiled by packages/collector/src/lsm/ (the syscall backend's engine, sel_filter.h). One
 * family of attach points per header: bprm.h (exec), file.h (open, read/write), socket.h (connect),
 * path.h (truncate, chmod, unlink, rmdir, mkdir); eval.h evaluates; exe.h (the syscall backend's)
 * tracks each process's executable for matchBinaries. User space attaches only the programs of hooks
 * some policy names.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "bprm.h"
#include "file.h"
#include "socket.h"
#include "path.h"

char LICENSE[] SEC("license") = "GPL";
