// Decoding the records of the syscall_tracepoint backend (struct msg_generic_syscall + arguments).
// Records are self-describing (each argument carries its kind, index and length): the decoder needs
// no hook table. Bad records become DecodeErrors, counted by decodeSyscallBatch, never thrown through.
import { DecodeError } from '@peregrine/events';
import { decodeFramedBatch } from '../abi/decode.js';
import { argSlots, readSelectorRecord, slotBytes, slotText, type SelectorRecordCommon, type SelectorRecordLayout, type SlotBytes } from '../abi/selector-record.js';
import { ActionTaken, ArgKind, MSG_OP_GENERIC_SYSCALL, MsgFlag, SEL_LAYOUTS } from './layout.js';

const M = SEL_LAYOUTS.msg_generic_syscall.fields;
const MSG_SIZE = SEL_LAYOUTS.msg_generic_syscall.size;
const ARG_HDR = SEL_LAYOUTS.sel_msg_arg.size;

export type SyscallArgValue =
  | { index: number; kind: 'int'; value: bigint }
  | { index: number; kind: 'string'; value: string; fault: boolean; truncated: boolean }
  /** char_buf: the raw bytes read (at most 255) and the buffer's length (size > bytes.length: cut). */
  | ({ index: number; kind: 'buf'; fault: boolean; truncated: boolean } & SlotBytes);

/** One record as the kernel wrote it: who acted, which hook and selector (SelectorRecordCommon), and this backend's fields. */
export interface RawSyscallRecord extends SelectorRecordCommon {
  action: 'post' | 'sigkill' | 'signal';
  monitor: boolean;
  nr: number;
  /** The return value, for hooks with `return: true`. */
  ret: bigint | null;
  args: SyscallArgValue[];
}

const ACTIONS: Record<number, RawSyscallRecord['action']> = {
  [ActionTaken.POST]: 'post',
  [ActionTaken.SIGKILL]: 'sigkill',
  [ActionTaken.SIGNAL]: 'signal',
};

const RECORD: SelectorRecordLayout = { what: 'syscall record', size: MSG_SIZE, argHeader: ARG_HDR, fields: M };

/** `opcode`: MSG_OP_GENERIC_SYSCALL, or MSG_OP_GENERIC_TRACEPOINT for generic_tp.o's ring (same record). */
export function decodeSyscallRecord(buf: Buffer, o: number, len: number, opcode: number = MSG_OP_GENERIC_SYSCALL): RawSyscallRecord {
  const { op, flags, action: code, common } = readSelectorRecord(buf, o, len, opcode, RECORD);
  const action = ACTIONS[code];
  if (!action) throw new DecodeError('bad_record', op, `syscall record: unknown action ${code}`);
  const args: SyscallArgValue[] = [];
  for (const slot of argSlots(buf, o, op, RECORD)) {
    const { kind, index, p, n } = slot;
    if (kind === ArgKind.INT) {
      if (n !== 8) throw new DecodeError('bad_record', op, `syscall record: int argument of ${n} bytes`);
      args.push({ index, kind: 'int', value: buf.readBigUInt64LE(p) });
    } else if (kind === ArgKind.STR || kind === ArgKind.PRE) {
      args.push({ index, kind: 'string', value: slotText(buf, slot), fault: slot.fault, truncated: slot.truncated });
    } else if (kind === ArgKind.BUF || kind === ArgKind.PREBUF) {
      args.push({ index, kind: 'buf', ...slotBytes(buf, slot, op, RECORD.what), fault: slot.fault, truncated: slot.truncated });
    } else throw new DecodeError('bad_record', op, `syscall record: argument kind ${kind}`);
  }
  return {
    ...common,
    action,
    monitor: (flags & MsgFlag.MONITOR) !== 0,
    nr: buf.readUInt32LE(o + M.nr),
    ret: flags & MsgFlag.RETURN ? buf.readBigInt64LE(o + M.ret) : null,
    args,
  };
}

export interface SyscallDecodeStats {
  records: number;
  unknownOpcode: number;
  badSize: number;
  badRecord: number;
}

export function newSyscallDecodeStats(): SyscallDecodeStats {
  return { records: 0, unknownOpcode: 0, badSize: 0, badRecord: 0 };
}

/** Decodes a batch of the native reader ([u32 len][u32 0][record][pad to 8]…); bad records are counted and skipped. */
export function decodeSyscallBatch(
  batch: Buffer,
  stats: SyscallDecodeStats,
  out: RawSyscallRecord[] = [],
  opcode: number = MSG_OP_GENERIC_SYSCALL,
): RawSyscallRecord[] {
  return decodeFramedBatch(batch, stats, (b, o, l) => decodeSyscallRecord(b, o, l, opcode), out);
}
