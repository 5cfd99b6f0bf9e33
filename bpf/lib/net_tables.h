/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tables user space compiles a connect policy into (packages/collector/src/net/compile.ts). The
 * BPF side parses nothing: it does one LPM lookup for the destination address, one hash lookup for the
 * destination port, and combines 64-bit rule bitmaps — bit i is rule slot i, rules are evaluated in
 * slot order and the lowest matching slot wins. Its cost is the same for 1 CIDR or 100 000.
 *
 * Every key carries a generation: apply() writes a complete new generation next to the live one and
 * then flips net_conf.gen, so a connect never sees half a policy.
 */
#pragma once

#define NET_MAX_RULES 64

/** net_conf_map[0] */
struct net_conf {
	__u32 gen;     /* the live generation (0: none) */
	__u32 enabled; /* 0: every connect is allowed without looking at the tables */
};

/*
 * LPM keys: the generation is the first 32 bits of the matched data, so an entry's prefixlen is
 * 32 + the CIDR's prefix and a lookup uses 32 + 32 (or 32 + 128). The value (u64) is the set of rules
 * whose list contains the prefix — user space ORs into each prefix the bits of every shorter prefix
 * that contains it, so the longest match alone gives every rule the address is in.
 */
struct net_lpm4_key {
	__u32 prefixlen;
	__u32 gen;
	__u8 addr[4];
};

struct net_lpm6_key {
	__u32 prefixlen;
	__u32 gen;
	__u8 addr[16];
};

/* net_ports key; the value (u64) is the set of rules whose DPort/NotDPort list holds the port. */
struct net_port_key {
	__u32 gen;
	__u16 port; /* host byte order */
	__u16 pad;
};

/*
 * net_tables[gen]: per-filter rule sets. A rule without a filter of some kind has its bit in every
 * mask of that kind that lets it pass (e.g. no protocol list: in proto_tcp, proto_udp and proto_other).
 */
struct net_table {
	__u64 active;       /* slots holding a rule */
	__u64 daddr_in;     /* rules with DAddr: match only if the LPM set has their bit */
	__u64 daddr_not_in; /* rules with NotDAddr: match only if it has not */
	__u64 dport_in;     /* DPort */
	__u64 dport_not_in; /* NotDPort */
	__u64 dport_priv;   /* DPortPriv: match only if the port is < 1024 */
	__u64 proto_tcp;    /* rules that accept a TCP socket */
	__u64 proto_udp;
	__u64 proto_other;
	__u64 family_inet;  /* rules that accept an IPv4 destination (v4-mapped included) */
	__u64 family_inet6;
	__u64 report;       /* post and deny rules: a match is reported */
	__u64 deny;         /* deny rules in enforce mode: a match returns EPERM */
	__u64 monitor;      /* deny rules in monitor mode: reported as would-deny, allowed */
	__u32 rule_id[NET_MAX_RULES];
};
