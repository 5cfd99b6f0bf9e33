/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Evaluating a connect() against the live tables (net_tables.h) and reporting the outcome. Shared by
 * the connect4 and connect6 programs, which only normalise the destination into struct net_dest.
 */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "compiler.h"
#include "net_maps.h"

#define NET_AF_INET 2
#define NET_AF_INET6 10
#define NET_IPPROTO_TCP 6
#define NET_IPPROTO_UDP 17
#define NET_ALLOW 1
#define NET_DENY 0

/* A destination as the rules see it. */
struct net_dest {
	__u32 user[4];  /* the address connect() was given, network order (IPv4: user[0]) */
	__u32 match[4]; /* the address matched: v4-mapped and unspecified addresses normalised */
	__u16 port;     /* host order */
	__u8 v4;        /* match[0] is an IPv4 address (net_lpm4), else match[] is IPv6 (net_lpm6) */
	__u8 flags;     /* NET_F_* */
	__u16 family;   /* socket family */
	__u8 protocol;
	__u8 sock_type;
};

/*
 * The socket's protocol and type. Context fields are read once, here, with plain loads: the verifier
 * rewrites ctx accesses and refuses a ctx pointer the compiler has offset (CO-RE may produce one).
 */
FUNC_INLINE void net__dest_sock(struct bpf_sock_addr *ctx, struct net_dest *d, __u16 family)
{
	d->family = family;
	d->protocol = ctx->protocol;
	d->sock_type = ctx->type;
}

FUNC_INLINE void net__count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&net_counters, &idx);

	if (v)
		*v += 1;
}

/* The index of the single bit set in b (no ctz instruction in BPF: a fixed six-step search). */
FUNC_INLINE __u32 net__bit_index(__u64 b)
{
	__u32 i = 0;

	if (b & 0xffffffff00000000ULL)
		i += 32;
	if (b & 0xffff0000ffff0000ULL)
		i += 16;
	if (b & 0xff00ff00ff00ff00ULL)
		i += 8;
	if (b & 0xf0f0f0f0f0f0f0f0ULL)
		i += 4;
	if (b & 0xccccccccccccccccULL)
		i += 2;
	if (b & 0xaaaaaaaaaaaaaaaaULL)
		i += 1;
	return i;
}

/* An AF_INET destination. Connecting (or sending) to 0.0.0.0 reaches the local host: ip_route_connect
 * / ip_route_output pick loopback. */
FUNC_INLINE void net__dest4(struct bpf_sock_addr *ctx, struct net_dest *d)
{
	d->user[0] = ctx->user_ip4;
	d->match[0] = d->user[0];
	if (d->match[0] == 0) {
		d->match[0] = bpf_htonl(0x7f000001);
		d->flags |= NET_F_ANY_DEST;
	}
	d->port = bpf_ntohs((__u16)ctx->user_port);
	d->v4 = 1;
	net__dest_sock(ctx, d, NET_AF_INET);
}

/*
 * An AF_INET6 destination. A dual-stack socket talking to ::ffff:a.b.c.d talks IPv4 (tcp_v6_connect
 * hands over to tcp_v4_connect, which does not run connect4 again), so such a destination is matched
 * as the IPv4 address it is — otherwise an IPv4 CIDR rule could be bypassed through an AF_INET6
 * socket. :: and ::ffff:0.0.0.0 reach the local host and are matched as ::1 and 127.0.0.1.
 */
FUNC_INLINE void net__dest6(struct bpf_sock_addr *ctx, struct net_dest *d)
{
	d->user[0] = ctx->user_ip6[0];
	d->user[1] = ctx->user_ip6[1];
	d->user[2] = ctx->user_ip6[2];
	d->user[3] = ctx->user_ip6[3];
	d->port = bpf_ntohs((__u16)ctx->user_port);
	if (d->user[0] == 0 && d->user[1] == 0 && d->user[2] == bpf_htonl(0xffff)) {
		d->v4 = 1;
		d->flags |= NET_F_V4MAPPED;
		d->match[0] = d->user[3];
		if (d->match[0] == 0) {
			d->match[0] = bpf_htonl(0x7f000001);
			d->flags |= NET_F_ANY_DEST;
		}
	} else {
		d->match[0] = d->user[0];
		d->match[1] = d->user[1];
		d->match[2] = d->user[2];
		d->match[3] = d->user[3];
		if ((d->match[0] | d->match[1] | d->match[2] | d->match[3]) == 0) {
			d->match[3] = bpf_htonl(1);
			d->flags |= NET_F_ANY_DEST;
		}
	}
	net__dest_sock(ctx, d, NET_AF_INET6);
}

/* The rules whose address list contains the destination: one LPM lookup, whatever the list sizes. */
FUNC_INLINE __u64 net__addr_rules(struct net_dest *d, __u32 gen)
{
	__u64 *hit;

	if (d->v4) {
		struct net_lpm4_key k = { .prefixlen = 64, .gen = gen };

		__builtin_memcpy(k.addr, &d->match[0], 4);
		hit = bpf_map_lookup_elem(&net_lpm4, &k);
	} else {
		struct net_lpm6_key k = { .prefixlen = 160, .gen = gen };

		__builtin_memcpy(k.addr, d->match, 16);
		hit = bpf_map_lookup_elem(&net_lpm6, &k);
	}
	return hit ? *hit : 0;
}

FUNC_INLINE __u64 net__port_rules(__u16 port, __u32 gen)
{
	struct net_port_key k = { .gen = gen, .port = port };
	__u64 *hit = bpf_map_lookup_elem(&net_ports, &k);

	return hit ? *hit : 0;
}

/*
 * "Filters AND, values OR": a rule matches when each filter it has passes. Each filter is a mask of
 * the rules it lets through; rules without that filter are in it unconditionally.
 */
FUNC_INLINE __u64 net__matching(const struct net_table *t, struct net_dest *d, __u8 protocol, __u32 gen)
{
	__u64 addr = net__addr_rules(d, gen);
	__u64 port = net__port_rules(d->port, gen);
	__u64 m = t->active;

	m &= ~(t->daddr_in & ~addr);
	m &= ~(t->daddr_not_in & addr);
	m &= ~(t->dport_in & ~port);
	m &= ~(t->dport_not_in & port);
	if (d->port >= 1024)
		m &= ~t->dport_priv;
	if (protocol == NET_IPPROTO_TCP)
		m &= t->proto_tcp;
	else if (protocol == NET_IPPROTO_UDP)
		m &= t->proto_udp;
	else
		m &= t->proto_other;
	m &= d->v4 ? t->family_inet : t->family_inet6;
	return m;
}

FUNC_INLINE void net__report(struct bpf_sock_addr *ctx, struct net_dest *d, const struct net_table *t,
			     __u32 slot, __u8 verdict, __u32 gen)
{
	struct bpf_sock *sk = ctx->sk;
	struct msg_connect *m;
	__u64 pid_tgid, uid_gid;

	m = bpf_ringbuf_reserve(&net_rb_events, sizeof(*m), 0);
	if (!m) {
		net__count(NET_CNT_RB_FULL);
		return;
	}
	pid_tgid = bpf_get_current_pid_tgid();
	uid_gid = bpf_get_current_uid_gid();
	m->common.op = MSG_OP_CONNECT;
	m->common.flags = d->flags;
	m->common.pad = 0;
	m->common.size = sizeof(*m);
	m->common.ktime = bpf_ktime_get_ns();
	m->tgid = pid_tgid >> 32;
	m->tid = (__u32)pid_tgid;
	m->uid = (__u32)uid_gid;
	m->gid = uid_gid >> 32;
	m->cgroup_id = bpf_get_current_cgroup_id();
	__builtin_memcpy(m->daddr, d->user, 16);
	__builtin_memset(m->saddr, 0, 16);
	m->sport = 0;
	if (sk) {
		if (d->family == NET_AF_INET) {
			__u32 s4 = sk->src_ip4;

			__builtin_memcpy(m->saddr, &s4, 4);
		} else {
			__u32 s6[4];

			s6[0] = sk->src_ip6[0];
			s6[1] = sk->src_ip6[1];
			s6[2] = sk->src_ip6[2];
			s6[3] = sk->src_ip6[3];
			__builtin_memcpy(m->saddr, s6, 16);
		}
		m->sport = sk->src_port;
		if (m->sport)
			m->common.flags |= NET_F_SRC_BOUND;
	}
	m->dport = d->port;
	m->family = d->family;
	m->protocol = d->protocol;
	m->verdict = verdict;
	m->rule_id = t->rule_id[slot & (NET_MAX_RULES - 1)];
	m->slot = slot;
	m->sock_type = d->sock_type;
	m->gen = gen;
	m->pad = 0;
	bpf_get_current_comm(m->comm, sizeof(m->comm));
	bpf_ringbuf_submit(m, BPF_RB_NO_WAKEUP);
}

/* The verdict for a connect: NET_ALLOW or NET_DENY (connect() then fails with EPERM). */
FUNC_INLINE int net__decide(struct bpf_sock_addr *ctx, struct net_dest *d)
{
	const struct net_table *t;
	struct net_conf *conf;
	__u32 zero = 0, gen, slot;
	__u64 m, first;
	__u8 verdict;

	conf = bpf_map_lookup_elem(&net_conf_map, &zero);
	if (!conf || !conf->enabled)
		return NET_ALLOW;
	gen = conf->gen;
	t = bpf_map_lookup_elem(&net_tables, &gen);
	if (!t) {
		net__count(NET_CNT_NO_TABLE);
		return NET_ALLOW;
	}
	net__count(NET_CNT_EVALS);

	m = net__matching(t, d, d->protocol, gen);
	if (!m)
		return NET_ALLOW;
	first = m & -m; /* rules are evaluated in slot order: the lowest matching slot wins */
	if (!(first & t->report))
		return NET_ALLOW; /* allow (NoPost) */
	slot = net__bit_index(first);
	if (first & t->deny) {
		verdict = NET_VERDICT_DENIED;
		net__count(NET_CNT_DENIED);
	} else if (first & t->monitor) {
		verdict = NET_VERDICT_MONITOR;
		net__count(NET_CNT_MONITORED);
	} else {
		verdict = NET_VERDICT_ALLOWED;
		net__count(NET_CNT_POSTED);
	}
	net__report(ctx, d, t, slot, verdict, gen);
	return verdict == NET_VERDICT_DENIED ? NET_DENY : NET_ALLOW;
}
