// Decoder of struct msg_connect (bpf/lib/net_msg.h) from the batches the native RingReader hands over.
import { DecodeError } from '@peregrine/events';
import { LAYOUTS } from '../abi/layout.js';
import { decodeFramedBatch, type DecodeStats } from '../abi/decode.js';
import { cString } from '../abi/text.js';
import { formatAddress } from './cidr.js';
import { MSG_OP_CONNECT, NET_LAYOUTS, NetFlag, NetVerdict, type NetVerdictName } from './layout.js';

const C = LAYOUTS.msg_common.fields;
const M = NET_LAYOUTS.msg_connect.fields;
const AF_INET = 2;
const AF_INET6 = 10;
const PROTOCOLS: Record<number, string> = { 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmpv6', 132: 'sctp', 136: 'udplite' };
const VERDICTS = Object.fromEntries(Object.entries(NetVerdict).map(([k, v]) => [v, k])) as Record<number, NetVerdictName>;

/** One connect() a reporting rule matched. */
export interface ConnectReport {
  kind: 'connect';
  /** CLOCK_MONOTONIC ns of the decision. */
  ktime: bigint;
  pid: number;
  tid: number;
  uid: number;
  gid: number;
  cgroupId: bigint;
  comm: string;
  /** Socket family. */
  family: 'inet' | 'inet6' | number;
  protocol: string | number;
  /** SOCK_STREAM = 1, SOCK_DGRAM = 2, … */
  sockType: number;
  /** Destination as given to connect() (::ffff:a.b.c.d stays IPv6 text). */
  daddr: string;
  dport: number;
  /** Local address and port when the socket was already bound, else null. */
  saddr: string | null;
  sport: number | null;
  /** An AF_INET6 socket connecting to an IPv4-mapped address (matched as IPv4). */
  v4Mapped: boolean;
  /** 0.0.0.0 / :: destination, matched as the loopback address the kernel uses. */
  anyDest: boolean;
  /** Where the decision was taken: connect(), or sendto()/sendmsg() on an unconnected UDP socket. */
  hook: 'connect' | 'sendmsg';
  verdict: NetVerdictName;
  ruleId: number;
  slot: number;
  generation: number;
}


export function decodeConnect(buf: Buffer, o: number, size: number): ConnectReport {
  const op = buf.readUInt8(o + C.op);
  if (op !== MSG_OP_CONNECT) throw new DecodeError('unknown_opcode', op, `unknown opcode ${op} in the connect ring`);
  if (size < NET_LAYOUTS.msg_connect.size || buf.readUInt32LE(o + C.size) !== size) {
    const declared = buf.readUInt32LE(o + C.size);
    throw new DecodeError('bad_size', op, `connect record of ${size} bytes (header says ${declared}, expected ${NET_LAYOUTS.msg_connect.size})`);
  }
  const flags = buf.readUInt8(o + C.flags);
  const fam = buf.readUInt16LE(o + M.family);
  const alen = fam === AF_INET ? 4 : 16;
  const verdictCode = buf.readUInt8(o + M.verdict);
  const verdict = VERDICTS[verdictCode];
  if (!verdict) throw new DecodeError('bad_record', op, `connect record with unknown verdict ${verdictCode}`);
  const proto = buf.readUInt8(o + M.protocol);
  const bound = (flags & NetFlag.SRC_BOUND) !== 0;
  return {
    kind: 'connect',
    ktime: buf.readBigUInt64LE(o + C.ktime),
    pid: buf.readUInt32LE(o + M.tgid),
    tid: buf.readUInt32LE(o + M.tid),
    uid: buf.readUInt32LE(o + M.uid),
    gid: buf.readUInt32LE(o + M.gid),
    cgroupId: buf.readBigUInt64LE(o + M.cgroup_id),
    comm: cString(buf, o + M.comm, 16),
    family: fam === AF_INET ? 'inet' : fam === AF_INET6 ? 'inet6' : fam,
    protocol: PROTOCOLS[proto] ?? proto,
    sockType: buf.readUInt16LE(o + M.sock_type),
    daddr: formatAddress(buf.subarray(o + M.daddr, o + M.daddr + alen)),
    dport: buf.readUInt16LE(o + M.dport),
    saddr: bound ? formatAddress(buf.subarray(o + M.saddr, o + M.saddr + alen)) : null,
    sport: bound ? buf.readUInt16LE(o + M.sport) : null,
    v4Mapped: (flags & NetFlag.V4MAPPED) !== 0,
    anyDest: (flags & NetFlag.ANY_DEST) !== 0,
    hook: flags & NetFlag.SENDMSG ? 'sendmsg' : 'connect',
    verdict,
    ruleId: buf.readUInt32LE(o + M.rule_id),
    slot: buf.readUInt16LE(o + M.slot),
    generation: buf.readUInt32LE(o + M.gen),
  };
}

/** Decodes a batch (records framed `[u32 len][u32 0][record][pad to 8]`); undecodable records are counted. */
export function decodeConnectBatch(batch: Buffer, stats: DecodeStats, out: ConnectReport[] = []): ConnectReport[] {
  return decodeFramedBatch(batch, stats, decodeConnect, out);
}
