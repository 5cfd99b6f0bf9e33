// Decoding the records of the bpf_lsm backend (struct msg_lsm + argument slots). Records are
// self-describing (each slot carries what it holds and the LSM argument it came from); the three slots
// of a sockaddr are folded back into one value. Bad records become DecodeErrors, counted by
// decodeLsmBatch, never thrown through.
import { DecodeError } from '@peregrine/events';
import { LAYOUTS } from '../abi/layout.js';
import { decodeFramedBatch } from '../abi/decode.js';
import { formatAddress } from '../net/cidr.js';
import { LSM_LAYOUTS, LsmActionTaken, LsmHookId, LsmMsgFlag, LsmSrc, MSG_OP_LSM, type LsmHookName } from './layout.js';

const C = LAYOUTS.msg_common.fields;
const M = LSM_LAYOUTS.msg_lsm.fields;
const MSG_SIZE = LSM_LAYOUTS.msg_lsm.size;
const ARG_HDR = LSM_LAYOUTS.lsm_msg_arg.size;
const utf8 = new TextDecoder('utf-8', { fatal: false });
const FAMILY_NAMES: Record<number, string> = { 1: 'AF_UNIX', 2: 'AF_INET', 10: 'AF_INET6' };

export type LsmArgValue =
  | { index: number; kind: 'int'; value: bigint }
  /** linux_binprm, file, path (a dentry below a directory reads as its path too). */
  | { index: number; kind: 'path'; type: 'linux_binprm' | 'file' | 'path'; path: string; truncated: boolean; fault: boolean }
  | { index: number; kind: 'sockaddr'; family: number; familyName: string; addr: string; port: number };

export interface RawLsmRecord {
  ktime: bigint;
  tgid: number;
  tid: number;
  uid: number;
  euid: number;
  hookId: number;
  slot: number;
  selector: number;
  action: 'post' | 'sigkill' | 'signal' | 'override';
  /** The errno returned (Override), or withheld in monitor mode; 0 none. */
  errno: number;
  signal: number;
  monitor: boolean;
  lsmHook: LsmHookName | null;
  gen: number;
  comm: string;
  cgroupId: bigint;
  args: LsmArgValue[];
}

export interface LsmDecodeStats {
  records: number;
  unknownOpcode: number;
  badSize: number;
  badRecord: number;
}

export function newLsmDecodeStats(): LsmDecodeStats {
  return { records: 0, unknownOpcode: 0, badSize: 0, badRecord: 0 };
}

const ACTIONS: Record<number, RawLsmRecord['action']> = {
  [LsmActionTaken.POST]: 'post',
  [LsmActionTaken.SIGKILL]: 'sigkill',
  [LsmActionTaken.SIGNAL]: 'signal',
  [LsmActionTaken.OVERRIDE]: 'override',
};
const HOOK_NAMES = new Map<number, LsmHookName>(Object.entries(LsmHookId).map(([k, v]) => [v, k as LsmHookName]));
const PATH_TYPES: Record<number, 'linux_binprm' | 'file' | 'path'> = {
  [LsmSrc.BPRM]: 'linux_binprm', [LsmSrc.FILE]: 'file', [LsmSrc.PATH]: 'path', [LsmSrc.DENTRY]: 'path',
};

export function decodeLsmRecord(buf: Buffer, o: number, len: number): RawLsmRecord {
  if (len < MSG_SIZE) throw new DecodeError('bad_size', -1, `record of ${len} bytes is shorter than msg_lsm`);
  const op = buf.readUInt8(o + C.op);
  if (op !== MSG_OP_LSM) throw new DecodeError('unknown_opcode', op, `unknown opcode ${op}`);
  const size = buf.readUInt32LE(o + C.size);
  const argsLen = buf.readUInt16LE(o + M.args_len);
  if (size !== len || MSG_SIZE + argsLen !== size) {
    throw new DecodeError('bad_size', op, `lsm record: header says ${size} bytes, record has ${len}, args ${argsLen}`);
  }
  const flags = buf.readUInt8(o + C.flags);
  const fault = buf.readUInt8(o + M.fault);
  const trunc = buf.readUInt8(o + M.trunc);
  const nargs = buf.readUInt8(o + M.nargs);
  const action = ACTIONS[buf.readUInt8(o + M.action)];
  if (!action) throw new DecodeError('bad_record', op, `lsm record: unknown action ${buf.readUInt8(o + M.action)}`);
  const args: LsmArgValue[] = [];
  let sa: { index: number; family: number; port: number; addr: string } | null = null;
  const flushSa = (): void => {
    if (sa) args.push({ index: sa.index, kind: 'sockaddr', family: sa.family, familyName: FAMILY_NAMES[sa.family] ?? String(sa.family), addr: sa.addr, port: sa.port });
    sa = null;
  };
  let p = o + MSG_SIZE;
  const end = p + argsLen;
  for (let i = 0; i < nargs && p + ARG_HDR <= end; i++) {
    const src = buf.readUInt8(p);
    const index = buf.readUInt8(p + 1);
    const n = buf.readUInt16LE(p + 2);
    p += ARG_HDR;
    if (p + n > end) throw new DecodeError('bad_record', op, `lsm record: argument slot ${i} overruns the record`);
    const isSa = src === LsmSrc.SA_FAMILY || src === LsmSrc.SA_PORT || src === LsmSrc.SA_ADDR;
    if (!isSa || (sa && sa.index !== index)) flushSa();
    if (src === LsmSrc.INT || src === LsmSrc.SA_FAMILY || src === LsmSrc.SA_PORT) {
      if (n !== 8) throw new DecodeError('bad_record', op, `lsm record: int slot of ${n} bytes`);
      const v = buf.readBigUInt64LE(p);
      if (src === LsmSrc.INT) args.push({ index, kind: 'int', value: v });
      else {
        sa ??= { index, family: 0, port: 0, addr: '' };
        if (src === LsmSrc.SA_FAMILY) sa.family = Number(v & 0xffffn);
        else sa.port = Number(v & 0xffffn);
      }
    } else if (src === LsmSrc.SA_ADDR) {
      sa ??= { index, family: 0, port: 0, addr: '' };
      // {family byte, 4 or 16 address bytes}; a v4-mapped IPv6 destination arrives as IPv4.
      sa.addr = n === 5 || n === 17 ? formatAddress(buf.subarray(p + 1, p + n)) : '';
    } else if (PATH_TYPES[src]) {
      args.push({
        index, kind: 'path', type: PATH_TYPES[src]!, path: utf8.decode(buf.subarray(p, p + n)),
        truncated: (trunc & (1 << i)) !== 0, fault: (fault & (1 << i)) !== 0,
      });
    } else throw new DecodeError('bad_record', op, `lsm record: argument slot kind ${src}`);
    p += n;
  }
  flushSa();
  const commBytes = buf.subarray(o + M.comm, o + M.comm + 16);
  const nul = commBytes.indexOf(0);
  return {
    ktime: buf.readBigUInt64LE(o + C.ktime),
    tgid: buf.readUInt32LE(o + M.tgid),
    tid: buf.readUInt32LE(o + M.tid),
    uid: buf.readUInt32LE(o + M.uid),
    euid: buf.readUInt32LE(o + M.euid),
    hookId: buf.readUInt32LE(o + M.hook_id),
    slot: buf.readUInt16LE(o + M.slot),
    selector: buf.readUInt8(o + M.selector),
    action,
    errno: Math.abs(buf.readInt32LE(o + M.err)),
    signal: buf.readUInt8(o + M.sig),
    monitor: (flags & LsmMsgFlag.MONITOR) !== 0,
    lsmHook: HOOK_NAMES.get(buf.readUInt32LE(o + M.lsm_hook)) ?? null,
    gen: buf.readUInt32LE(o + M.gen),
    comm: utf8.decode(nul >= 0 ? commBytes.subarray(0, nul) : commBytes),
    cgroupId: buf.readBigUInt64LE(o + M.cgroup_id),
    args,
  };
}

/** Decodes a batch of the native reader ([u32 len][u32 0][record][pad to 8]…); bad records are counted and skipped. */
export function decodeLsmBatch(batch: Buffer, stats: LsmDecodeStats, out: RawLsmRecord[] = []): RawLsmRecord[] {
  return decodeFramedBatch(batch, stats, decodeLsmRecord, out);
}
