// SPDX-License-Identifier: GPL-2.0
/*
 * The network enforcement sensor for kernels without BPF LSM: cgroup/connect4 and cgroup/connect6
 * (and, optionally, cgroup/sendmsg4 and sendmsg6 for unconnected UDP) on the cgroup v2 root, deciding
 * from tables user space compiles (lib/net_tables.h), sharing the maps of lib/net_maps.h. One attach
 * point per header; the decision itself is lib/net_match.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "connect4.h"
#include "connect6.h"
#include "sendmsg4.h"
#include "sendmsg6.h"

char LICENSE[] SEC("license") = "GPL";
