// Decoding the records of the syscall_tracepoint backend (struct msg_generic_syscall + arguments).
// Records are self-describing (each argument carries its kind, index and length): the decoder needs
// no hook table. Bad records become DecodeErrors, counted by decodeSyscallBatch, never thrown through.
import { DecodeError } from '@peregrine/events';
import { LAYOUTS } from '../abi/layout.js';
import { decodeFramedBatch } from '../abi/decode.js';
import { ActionTaken, ArgKind, MSG_OP_GENERIC_SYSCALL, MsgFlag, SEL_LAYOUTS } from './layout.js';

const C = LAYOUTS.msg_common.fields;
const M = SEL_LAYOUTS.msg_generic_syscall.fields;
const MSG_SIZE = SEL_LAYOUTS.msg_generic_syscall.size;
const ARG_HDR = SEL_LAYOUTS.sel_msg_arg.size;
const utf8 = new TextDecoder('utf-8', { fatal: false });

export type SyscallArgValue =
  | { index: number; kind: 'int'; value: bigint }
  | { index: number; kind: 'string' | 'buf'; value: string; bytes: Buffer; fault: boolean; truncated: boolean };

/** One record as the kernel wrote it. */
export interface RawSyscallRecord {
  ktime: bigint;
  tgid: number;
  tid: number;
  uid: number;
  euid: number;
  hookId: number;
  slot: number;
  selector: number;
  action: 'post' | 'sigkill' | 'signal';
  signal: number;
  monitor: boolean;
  nr: number;
  /** The return value, for hooks with `return: true`. */
  ret: bigint | null;
  gen: number;
  comm: string;
  cgroupId: bigint;
  args: SyscallArgValue[];
}

const ACTIONS: Record<number, RawSyscallRecord['action']> = {
  [ActionTaken.POST]: 'post',
  [ActionTaken.SIGKILL]: 'sigkill',
  [ActionTaken.SIGNAL]: 'signal',
};

/** `opcode`: MSG_OP_GENERIC_SYSCALL, or MSG_OP_GENERIC_TRACEPOINT for generic_tp.o's ring (same record). */
export function decodeSyscallRecord(buf: Buffer, o: number, len: number, opcode: number = MSG_OP_GENERIC_SYSCALL): RawSyscallRecord {
  if (len < MSG_SIZE) throw new DecodeError('bad_size', -1, `record of ${len} bytes is shorter than msg_generic_syscall`);
  const op = buf.readUInt8(o + C.op);
  if (op !== opcode) throw new DecodeError('unknown_opcode', op, `unknown opcode ${op}`);
  const size = buf.readUInt32LE(o + C.size);
  const argsLen = buf.readUInt16LE(o + M.args_len);
  if (size !== len || MSG_SIZE + argsLen !== size) {
    throw new DecodeError('bad_size', op, `syscall record: header says ${size} bytes, record has ${len}, args ${argsLen}`);
  }
  const flags = buf.readUInt8(o + C.flags);
  const fault = buf.readUInt8(o + M.fault);
  const trunc = buf.readUInt8(o + M.trunc);
  const nargs = buf.readUInt8(o + M.nargs);
  const action = ACTIONS[buf.readUInt8(o + M.action)];
  if (!action) throw new DecodeError('bad_record', op, `syscall record: unknown action ${buf.readUInt8(o + M.action)}`);
  const args: SyscallArgValue[] = [];
  let p = o + MSG_SIZE;
  const end = p + argsLen;
  for (let i = 0; i < nargs && p + ARG_HDR <= end; i++) {
    const kind = buf.readUInt8(p);
    const index = buf.readUInt8(p + 1);
    const n = buf.readUInt16LE(p + 2);
    p += ARG_HDR;
    if (p + n > end) throw new DecodeError('bad_record', op, `syscall record: argument ${i} overruns the record`);
    if (kind === ArgKind.INT) {
      if (n !== 8) throw new DecodeError('bad_record', op, `syscall record: int argument of ${n} bytes`);
      args.push({ index, kind: 'int', value: buf.readBigUInt64LE(p) });
    } else if (kind === ArgKind.STR || kind === ArgKind.BUF || kind === ArgKind.PRE) {
      const bytes = Buffer.from(buf.subarray(p, p + n));
      args.push({
        index, kind: kind === ArgKind.BUF ? 'buf' : 'string', value: utf8.decode(bytes), bytes,
        fault: (fault & (1 << i)) !== 0, truncated: (trunc & (1 << i)) !== 0,
      });
    } else throw new DecodeError('bad_record', op, `syscall record: argument kind ${kind}`);
    p += n;
  }
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
    signal: buf.readUInt8(o + M.sig),
    monitor: (flags & MsgFlag.MONITOR) !== 0,
    nr: buf.readUInt32LE(o + M.nr),
    ret: flags & MsgFlag.RETURN ? buf.readBigInt64LE(o + M.ret) : null,
    gen: buf.readUInt32LE(o + M.gen),
    comm: utf8.decode(nul >= 0 ? commBytes.subarray(0, nul) : commBytes),
    cgroupId: buf.readBigUInt64LE(o + M.cgroup_id),
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
