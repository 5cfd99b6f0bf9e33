/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire ABI of the network enforcement sensor (programs/net/): the record its cgroup/connect{4,6} and
 * sendmsg{4,6} programs write when a rule that reports matches, and its per-CPU counters.
 * packages/collector/src/net/layout.ts mirrors these structs; layout.test.ts there compares that
 * mirror with the BTF of net_alignchecker.o and connect.o.
 *
 * MSG_OP_CONNECT belongs in enum msg_op (msg_types.h); it lives here until that header is merged.
 */
#pragma once
#include "msg_types.h"

enum net_msg_op {
	MSG_OP_CONNECT = 40,
};

/* msg_connect.verdict */
enum net_verdict {
	NET_VERDICT_ALLOWED = 0, /* a `post` rule matched: reported, connect() proceeds */
	NET_VERDICT_DENIED = 1,  /* a `deny` rule matched: connect() fails with EPERM */
	NET_VERDICT_MONITOR = 2, /* a `deny` rule in monitor mode matched: would have been denied, proceeds */
};

/* msg_connect.common.flags */
#define NET_F_V4MAPPED 0x1  /* AF_INET6 socket, ::ffff:a.b.c.d destination: matched as IPv4 */
#define NET_F_ANY_DEST 0x2  /* 0.0.0.0 or :: destination: the kernel connects to loopback, matched as such */
#define NET_F_SRC_BOUND 0x4 /* the socket was bound: saddr/sport are its local address */
#define NET_F_SENDMSG 0x8   /* a sendto()/sendmsg() on an unconnected UDP socket, not a connect() */

/*
 * One connect() a reporting rule matched. Addresses are in network byte order (IPv4 in the first 4
 * bytes of daddr/saddr), ports in host byte order.
 */
struct msg_connect {
	struct msg_common common;
	__u32 tgid;
	__u32 tid;
	__u32 uid;
	__u32 gid;
	__u64 cgroup_id;
	__u8 daddr[16];
	__u8 saddr[16];
	__u16 dport;
	__u16 sport;
	__u16 family;  /* socket family: AF_INET (2) or AF_INET6 (10) */
	__u8 protocol; /* IPPROTO_TCP (6), IPPROTO_UDP (17), … */
	__u8 verdict;  /* enum net_verdict */
	__u32 rule_id; /* the id user space gave the rule */
	__u16 slot;    /* the rule's position in the table (0..63) */
	__u16 sock_type; /* SOCK_STREAM (1), SOCK_DGRAM (2), … */
	__u32 gen;     /* table generation the decision was taken with */
	__u32 pad;
	char comm[16];
};

/* Per-CPU counters (index into net_counters). */
enum net_counter {
	NET_CNT_RB_FULL = 0,   /* a report was lost: ring buffer full (the verdict still applied) */
	NET_CNT_EVALS = 1,     /* connects evaluated against an enabled table */
	NET_CNT_DENIED = 2,
	NET_CNT_MONITORED = 3, /* would have been denied (monitor) */
	NET_CNT_POSTED = 4,    /* reported and allowed */
	NET_CNT_NO_TABLE = 5,  /* enabled but the generation's table was missing: allowed (fail open) */
	NET_CNT_MAX = 6,
};
