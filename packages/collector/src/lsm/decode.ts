// Decoding the records of the bpf_lsm backend (struct msg_lsm + argument slots). Records are
// self-describing (each slot carries what it holds and the LSM argument it came from); the three slots
// of a sockaddr are folded back into one value. Bad records become DecodeErrors, counted by
// decodeLsmBatch, never thrown through.
import { DecodeError } from '@peregrine/events';
import { decodeFramedBatch } from '../abi/decode.js';
import { argSlots, readSelectorRecord, slotText, type SelectorRecordCommon, type SelectorRecordLayout } from '../abi/selector-record.js';
import { formatAddress } from '../net/cidr.js';
import { LSM_LAYOUTS, LsmActionTaken, LsmHookId, LsmMsgFlag, LsmSrc, MSG_OP_LSM, type LsmHookName } from './layout.js';

const M = LSM_LAYOUTS.msg_lsm.fields;
const MSG_SIZE = LSM_LAYOUTS.msg_lsm.size;
const ARG_HDR = LSM_LAYOUTS.lsm_msg_arg.size;
const FAMILY_NAMES: Record<number, string> = { 1: 'AF_UNIX', 2: 'AF_INET', 10: 'AF_INET6' };

export type LsmArgValue =
  | { index: number; kind: 'int'; value: bigint }
  /** linux_binprm, file, path (a dentry below a directory reads as its path too). */
  | { index: number; kind: 'path'; type: 'linux_binprm' | 'file' | 'path'; path: string; truncated: boolean; fault: boolean }
  | { index: number; kind: 'sockaddr'; family: number; familyName: string; addr: string; port: number };

/** One record as the kernel wrote it: who acted, which hook and selector (SelectorRecordCommon), and this backend's fields. */
export interface RawLsmRecord extends SelectorRecordCommon {
  action: 'post' | 'sigkill' | 'signal' | 'override';
  /** The errno returned (Override), or withheld in monitor mode; 0 none. */
  errno: number;
  monitor: boolean;
  lsmHook: LsmHookName | null;
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

const RECORD: SelectorRecordLayout = { what: 'lsm record', size: MSG_SIZE, argHeader: ARG_HDR, fields: M };

export function decodeLsmRecord(buf: Buffer, o: number, len: number): RawLsmRecord {
  const { op, flags, action: code, common } = readSelectorRecord(buf, o, len, MSG_OP_LSM, RECORD);
  const action = ACTIONS[code];
  if (!action) throw new DecodeError('bad_record', op, `lsm record: unknown action ${code}`);
  const args: LsmArgValue[] = [];
  let sa: { index: number; family: number; port: number; addr: string } | null = null;
  const flushSa = (): void => {
    if (sa) args.push({ index: sa.index, kind: 'sockaddr', family: sa.family, familyName: FAMILY_NAMES[sa.family] ?? String(sa.family), addr: sa.addr, port: sa.port });
    sa = null;
  };
  for (const slot of argSlots(buf, o, op, RECORD)) {
    const { kind: src, index, p, n } = slot;
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
      args.push({ index, kind: 'path', type: PATH_TYPES[src]!, path: slotText(buf, slot), truncated: slot.truncated, fault: slot.fault });
    } else throw new DecodeError('bad_record', op, `lsm record: argument slot kind ${src}`);
  }
  flushSa();
  return {
    ...common,
    action,
    errno: Math.abs(buf.readInt32LE(o + M.err)),
    monitor: (flags & LsmMsgFlag.MONITOR) !== 0,
    lsmHook: HOOK_NAMES.get(buf.readUInt32LE(o + M.lsm_hook)) ?? null,
    args,
  };
}

/** Decodes a batch of the native reader ([u32 len][u32 0][record][pad to 8]…); bad records are counted and skipped. */
export function decodeLsmBatch(batch: Buffer, stats: LsmDecodeStats, out: RawLsmRecord[] = []): RawLsmRecord[] {
  return decodeFramedBatch(batch, stats, decodeLsmRecord, out);
}
