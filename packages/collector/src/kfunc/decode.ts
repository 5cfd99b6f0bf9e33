// Decoding the records of the kfunc backend (struct msg_kfunc + argument slots). Records are
// self-describing (each slot carries what it holds and the function argument it came from); the slots
// of a sock or a sockaddr are folded back into one value. Bad records become DecodeErrors, counted by
// decodeKfuncBatch, never thrown through.
import { DecodeError } from '@peregrine/events';
import { decodeFramedBatch } from '../abi/decode.js';
import { argSlots, readSelectorRecord, slotBytes, slotText, type SelectorRecordCommon, type SelectorRecordLayout, type SlotBytes } from '../abi/selector-record.js';
import { formatAddress } from '../net/cidr.js';
import { KF_LAYOUTS, KfActionTaken, KfMsgFlag, KfSrc, MSG_OP_KFUNC } from './layout.js';

const M = KF_LAYOUTS.msg_kfunc.fields;
const MSG_SIZE = KF_LAYOUTS.msg_kfunc.size;
const ARG_HDR = KF_LAYOUTS.kf_msg_arg.size;
const CRED = KF_LAYOUTS.kf_cred;
export const FAMILY_NAMES: Record<number, string> = { 1: 'AF_UNIX', 2: 'AF_INET', 10: 'AF_INET6' };
export const PROTOCOL_NAMES: Record<number, string> = { 1: 'IPPROTO_ICMP', 6: 'IPPROTO_TCP', 17: 'IPPROTO_UDP', 58: 'IPPROTO_ICMPV6', 255: 'IPPROTO_RAW' };

export type KfuncArgValue =
  | { index: number; kind: 'int'; value: bigint }
  | { index: number; kind: 'string'; value: string; truncated: boolean; fault: boolean }
  /** char_buf: the raw bytes read (at most 255) and the buffer's length (size > bytes.length: cut). */
  | ({ index: number; kind: 'buf'; truncated: boolean; fault: boolean } & SlotBytes)
  /** file, path, linux_binprm, fd: the absolute path. */
  | { index: number; kind: 'path'; type: 'file' | 'path' | 'linux_binprm' | 'fd'; path: string; truncated: boolean; fault: boolean }
  | { index: number; kind: 'sockaddr'; family: number; familyName: string; addr: string; port: number }
  | { index: number; kind: 'sock'; family: number; familyName: string; protocol: number | null; saddr: string | null; daddr: string | null; sport: number | null; dport: number | null }
  /** struct cred: null when it could not be read. */
  | { index: number; kind: 'cred'; cred: KfuncCred | null };

/** struct kf_cred: ids, securebits, capability masks (bit n = capability n), and the user namespace. */
export interface KfuncCred {
  uid: number;
  gid: number;
  suid: number;
  sgid: number;
  euid: number;
  egid: number;
  fsuid: number;
  fsgid: number;
  securebits: number;
  permitted: bigint;
  effective: bigint;
  inheritable: bigint;
  userNs: { level: number; uid: number; gid: number; inum: number };
}

/** One record as the kernel wrote it: who acted, which hook and selector (SelectorRecordCommon), and this backend's fields. */
export interface RawKfuncRecord extends SelectorRecordCommon {
  action: 'post' | 'sigkill' | 'signal' | 'override';
  /** The errno returned (Override), or withheld in monitor mode; 0 none. */
  errno: number;
  monitor: boolean;
  site: number;
  /** The function's return value (return: true hooks), else null. */
  ret: bigint | null;
  args: KfuncArgValue[];
}

export interface KfuncDecodeStats {
  records: number;
  unknownOpcode: number;
  badSize: number;
  badRecord: number;
}

export function newKfuncDecodeStats(): KfuncDecodeStats {
  return { records: 0, unknownOpcode: 0, badSize: 0, badRecord: 0 };
}

const ACTIONS: Record<number, RawKfuncRecord['action']> = {
  [KfActionTaken.POST]: 'post', [KfActionTaken.SIGKILL]: 'sigkill', [KfActionTaken.SIGNAL]: 'signal', [KfActionTaken.OVERRIDE]: 'override',
};
const PATH_TYPES: Record<number, 'file' | 'path' | 'linux_binprm' | 'fd'> = {
  [KfSrc.FILE]: 'file', [KfSrc.PATH]: 'path', [KfSrc.BPRM]: 'linux_binprm', [KfSrc.FD]: 'fd',
};
const INT_SRCS = new Set<number>([KfSrc.INT, KfSrc.SK_FAMILY, KfSrc.SK_PROTO, KfSrc.SK_SPORT, KfSrc.SK_DPORT, KfSrc.SA_FAMILY, KfSrc.SA_PORT]);
const SOCK_SRCS = new Set<number>([KfSrc.SK_FAMILY, KfSrc.SK_PROTO, KfSrc.SK_SADDR, KfSrc.SK_DADDR, KfSrc.SK_SPORT, KfSrc.SK_DPORT]);
const SA_SRCS = new Set<number>([KfSrc.SA_FAMILY, KfSrc.SA_PORT, KfSrc.SA_ADDR]);

type Net = { index: number; sa: boolean; family: number; protocol: number | null; saddr: string | null; daddr: string | null; sport: number | null; dport: number | null };

const RECORD: SelectorRecordLayout = { what: 'kfunc record', size: MSG_SIZE, argHeader: ARG_HDR, fields: M };

export function decodeKfuncRecord(buf: Buffer, o: number, len: number): RawKfuncRecord {
  const { op, flags, action: code, common } = readSelectorRecord(buf, o, len, MSG_OP_KFUNC, RECORD);
  const action = ACTIONS[code];
  if (!action) throw new DecodeError('bad_record', op, `kfunc record: unknown action ${code}`);
  const args: KfuncArgValue[] = [];
  let net: Net | null = null;
  const flush = (): void => {
    if (!net) return;
    const familyName = FAMILY_NAMES[net.family] ?? String(net.family);
    if (net.sa) args.push({ index: net.index, kind: 'sockaddr', family: net.family, familyName, addr: net.daddr ?? '', port: net.dport ?? 0 });
    else args.push({ index: net.index, kind: 'sock', family: net.family, familyName, protocol: net.protocol, saddr: net.saddr, daddr: net.daddr, sport: net.sport, dport: net.dport });
    net = null;
  };
  for (const slot of argSlots(buf, o, op, RECORD)) {
    const { kind: src, index, p, n } = slot;
    const isNet = SOCK_SRCS.has(src) || SA_SRCS.has(src);
    if (!isNet || (net && net.index !== index)) flush();
    if (isNet) net ??= { index, sa: SA_SRCS.has(src), family: 0, protocol: null, saddr: null, daddr: null, sport: null, dport: null };
    if (INT_SRCS.has(src)) {
      if (n !== 8) throw new DecodeError('bad_record', op, `kfunc record: int slot of ${n} bytes`);
      const v = buf.readBigUInt64LE(p);
      const w = Number(v & 0xffffn);
      if (src === KfSrc.INT) args.push({ index, kind: 'int', value: v });
      else if (src === KfSrc.SK_FAMILY || src === KfSrc.SA_FAMILY) net!.family = w;
      else if (src === KfSrc.SK_PROTO) net!.protocol = w;
      else if (src === KfSrc.SK_SPORT) net!.sport = w;
      else net!.dport = w; // SK_DPORT, SA_PORT
    } else if (src === KfSrc.SK_SADDR || src === KfSrc.SK_DADDR || src === KfSrc.SA_ADDR) {
      // {family byte, 4 or 16 address bytes}; a v4-mapped IPv6 address arrives as IPv4.
      const addr = n === 5 || n === 17 ? formatAddress(buf.subarray(p + 1, p + n)) : '';
      if (src === KfSrc.SK_SADDR) net!.saddr = addr;
      else net!.daddr = addr;
    } else if (PATH_TYPES[src]) {
      args.push({ index, kind: 'path', type: PATH_TYPES[src]!, path: slotText(buf, slot), truncated: slot.truncated, fault: slot.fault });
    } else if (src === KfSrc.STR || src === KfSrc.FILENAME) {
      args.push({ index, kind: 'string', value: slotText(buf, slot), truncated: slot.truncated, fault: slot.fault });
    } else if (src === KfSrc.BUF) {
      args.push({ index, kind: 'buf', ...slotBytes(buf, slot, op, RECORD.what), truncated: slot.truncated, fault: slot.fault });
    } else if (src === KfSrc.CRED) {
      // Empty when the cred was unreadable (fault bit set); anything else must be a whole struct kf_cred.
      if (n !== 0 && n !== CRED.size) throw new DecodeError('bad_record', op, `kfunc record: cred slot of ${n} bytes`);
      args.push({ index, kind: 'cred', cred: n === 0 ? null : decodeCred(buf, p) });
    } else throw new DecodeError('bad_record', op, `kfunc record: argument slot kind ${src}`);
  }
  flush();
  return {
    ...common,
    action,
    errno: Math.abs(buf.readInt32LE(o + M.err)),
    monitor: (flags & KfMsgFlag.MONITOR) !== 0,
    site: buf.readUInt32LE(o + M.site),
    ret: (flags & KfMsgFlag.RETURN) !== 0 ? buf.readBigInt64LE(o + M.ret) : null,
    args,
  };
}

function decodeCred(buf: Buffer, p: number): KfuncCred {
  const F = CRED.fields;
  const u32 = (f: number): number => buf.readUInt32LE(p + f);
  return {
    uid: u32(F.uid), gid: u32(F.gid), suid: u32(F.suid), sgid: u32(F.sgid),
    euid: u32(F.euid), egid: u32(F.egid), fsuid: u32(F.fsuid), fsgid: u32(F.fsgid),
    securebits: u32(F.securebits),
    permitted: buf.readBigUInt64LE(p + F.cap_permitted),
    effective: buf.readBigUInt64LE(p + F.cap_effective),
    inheritable: buf.readBigUInt64LE(p + F.cap_inheritable),
    userNs: { level: buf.readInt32LE(p + F.ns_level), uid: u32(F.ns_uid), gid: u32(F.ns_gid), inum: u32(F.ns_inum) },
  };
}

/** Decodes a batch of the native reader ([u32 len][u32 0][record][pad to 8]…); bad records are counted and skipped. */
export function decodeKfuncBatch(batch: Buffer, stats: KfuncDecodeStats, out: RawKfuncRecord[] = []): RawKfuncRecord[] {
  return decodeFramedBatch(batch, stats, decodeKfuncRecord, out);
}
