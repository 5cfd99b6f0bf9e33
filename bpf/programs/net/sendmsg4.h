/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup/sendmsg4 runs in sendto()/sendmsg() with a destination on an unconnected AF_INET UDP socket
 * (udp_sendmsg): without it, a UDP rule is bypassed by never calling connect(). Optional (user space
 * attaches it on request); a datagram to a connected socket's own peer does not come here — connect4
 * has decided on it. Returning 0 makes the send fail with EPERM.
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "compiler.h"
#include "net_match.h"

SEC("cgroup/sendmsg4")
int net_sendmsg4(struct bpf_sock_addr *ctx)
{
	struct net_dest d = { .flags = NET_F_SENDMSG };

	net__dest4(ctx, &d);
	return net__decide(ctx, &d);
}
