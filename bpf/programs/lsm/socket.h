/* SPDX-License-Identifier: GPL-2.0 */
/*
 * security_socket_connect(sock, address, addrlen): connect(2) (and sendmsg with an address on a
 * connection-mode socket), before the protocol sees the address: Override fails the call with the
 * errno and no packet leaves. Argument 1 (sockaddr) reads as family, port (host order) and address;
 * argument 2 is addrlen (int).
 */
#pragma once
#include "eval.h"

SEC("lsm/socket_connect")
long lsm_socket_connect(unsigned long long *ctx) /* struct socket *sock, struct sockaddr *address, int addrlen */
{
	struct sel_heap *h = lsm__args();

	if (!h)
		return 0;
	h->args[0] = ctx[0];
	h->args[1] = ctx[1];
	h->args[2] = (__u64)(__s64)(int)ctx[2]; /* int addrlen: the register's upper half is not defined */
	return lsm__verdict(lsm__run(LSM_HOOK_SOCKET_CONNECT));
}
