/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup/connect4 runs in connect() of an AF_INET socket (tcp_v4_pre_connect, udp_pre_connect, from
 * __inet_stream_connect — so also for TCP Fast Open sendto() and io_uring connects), in the caller's
 * context, before any route lookup or packet. user_ip4 and user_port hold the sockaddr as given, in
 * network byte order. Returning 0 makes connect() fail with EPERM.
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "compiler.h"
#include "net_match.h"

SEC("cgroup/connect4")
int net_connect4(struct bpf_sock_addr *ctx)
{
	struct net_dest d = {};

	net__dest4(ctx, &d);
	return net__decide(ctx, &d);
}
