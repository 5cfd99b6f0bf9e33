/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup/connect6 runs in connect() of an AF_INET6 socket (tcp_v6_pre_connect, udpv6_pre_connect).
 * v4-mapped and unspecified destinations are normalised by net__dest6 (lib/net_match.h).
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "compiler.h"
#include "net_match.h"

SEC("cgroup/connect6")
int net_connect6(struct bpf_sock_addr *ctx)
{
	struct net_dest d = {};

	net__dest6(ctx, &d);
	return net__decide(ctx, &d);
}
