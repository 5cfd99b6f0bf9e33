// SPDX-License-Identifier: GPL-2.0
/* The process sensor: exec, fork and exit, one attach point per header, sharing the maps of maps.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "exec.h"
#include "fork.h"
#include "exit.h"

char LICENSE[] SEC("license") = "GPL";
