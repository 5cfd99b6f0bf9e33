/* SPDX-License-Identifier: GPL-2.0 */
/* cgroup/sendmsg6: as sendmsg4.h for AF_INET6 UDP sockets (udpv6_sendmsg; v4-mapped destinations
 * included, which udpv6_sendmsg hands to udp_sendmsg without running sendmsg4). */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "compiler.h"
#include "net_match.h"

SEC("cgroup/sendmsg6")
int net_sendmsg6(struct bpf_sock_addr *ctx)
{
	struct net_dest d = { .flags = NET_F_SENDMSG };

	net__dest6(ctx, &d);
	return net__decide(ctx, &d);
}
