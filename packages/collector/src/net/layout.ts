// Mirror of bpf/lib/net_msg.h and bpf/lib/net_tables.h. layout.test.ts compares this table with the
// BTF of net_alignchecker.o and connect.o.
import type { StructLayout } from '../abi/layout.js';

/** enum net_msg_op (to be merged into MsgOp). */
export const MSG_OP_CONNECT = 40;

export const NET_MAX_RULES = 64;

/** enum net_verdict */
export const NetVerdict = { allowed: 0, denied: 1, monitor: 2 } as const;
export type NetVerdictName = keyof typeof NetVerdict;

/** msg_connect.common.flags */
export const NetFlag = { V4MAPPED: 0x1, ANY_DEST: 0x2, SRC_BOUND: 0x4, SENDMSG: 0x8 } as const;

export const NET_LAYOUTS = {
  msg_connect: {
    size: 112,
    fields: {
      common: 0, tgid: 16, tid: 20, uid: 24, gid: 28, cgroup_id: 32, daddr: 40, saddr: 56, dport: 72, sport: 74,
      family: 76, protocol: 78, verdict: 79, rule_id: 80, slot: 84, sock_type: 86, gen: 88, pad: 92, comm: 96,
    },
  },
  net_conf: { size: 8, fields: { gen: 0, enabled: 4 } },
  net_lpm4_key: { size: 12, fields: { prefixlen: 0, gen: 4, addr: 8 } },
  net_lpm6_key: { size: 24, fields: { prefixlen: 0, gen: 4, addr: 8 } },
  net_port_key: { size: 8, fields: { gen: 0, port: 4, pad: 6 } },
  net_table: {
    size: 368,
    fields: {
      active: 0, daddr_in: 8, daddr_not_in: 16, dport_in: 24, dport_not_in: 32, dport_priv: 40, proto_tcp: 48,
      proto_udp: 56, proto_other: 64, family_inet: 72, family_inet6: 80, report: 88, deny: 96, monitor: 104,
      rule_id: 112,
    },
  },
} as const satisfies Record<string, StructLayout>;

/** The u64 masks of struct net_table, in field order. */
export const NET_TABLE_MASKS = [
  'active', 'daddr_in', 'daddr_not_in', 'dport_in', 'dport_not_in', 'dport_priv', 'proto_tcp', 'proto_udp',
  'proto_other', 'family_inet', 'family_inet6', 'report', 'deny', 'monitor',
] as const satisfies readonly (keyof (typeof NET_LAYOUTS)['net_table']['fields'])[];
export type NetTableMask = (typeof NET_TABLE_MASKS)[number];

/** Indexes of net_counters (enum net_counter). */
export const NetCounter = {
  ringbuf_full: 0,
  evaluated: 1,
  denied: 2,
  monitored: 3,
  posted: 4,
  table_missing: 5,
} as const;
export const NET_COUNTER_COUNT = 6;

/** Names of the programs and maps in connect.o. */
export const NET_PROGRAMS = ['net_connect4', 'net_connect6'] as const;
/** Loaded and attached only with the udpSendmsg option. */
export const NET_SENDMSG_PROGRAMS = ['net_sendmsg4', 'net_sendmsg6'] as const;
export const NET_MAPS = {
  ring: 'net_rb_events',
  conf: 'net_conf_map',
  tables: 'net_tables',
  lpm4: 'net_lpm4',
  lpm6: 'net_lpm6',
  ports: 'net_ports',
  counters: 'net_counters',
} as const;
