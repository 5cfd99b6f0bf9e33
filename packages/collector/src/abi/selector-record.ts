// The part of a policy record every backend on the selector engine shares (msg_generic_syscall,
// msg_lsm, msg_kfunc: the same header fields by name, each at its own offsets): size and opcode checks,
// who acted and which hook and selector matched, and the walk over the self-describing argument slots
// ({u8 kind, u8 index, u16 length, bytes}; a char_buf's bytes after its length, struct sel_msg_buf).
// Each backend decodes its own slot kinds and extra fields.
import { DecodeError } from '@peregrine/events';
import { SEL_LAYOUTS } from '../syscall/layout.js';
import { LAYOUTS } from './layout.js';
import { cString, utf8Text } from './text.js';

const C = LAYOUTS.msg_common.fields;

/** Offsets of the shared header fields in one backend's record struct. */
export type SelectorRecordFields = Record<
  'args_len' | 'fault' | 'trunc' | 'nargs' | 'action' | 'tgid' | 'tid' | 'uid' | 'euid' | 'hook_id' | 'slot' | 'selector' | 'sig' | 'gen' | 'comm' | 'cgroup_id',
  number
>;

export interface SelectorRecordLayout {
  /** In messages: "lsm record", "kfunc record", … */
  what: string;
  /** sizeof the record struct, without the argument slots. */
  size: number;
  /** sizeof the slot header. */
  argHeader: number;
  fields: SelectorRecordFields;
}

/** What every policy record carries. */
export interface SelectorRecordCommon {
  ktime: bigint;
  tgid: number;
  tid: number;
  uid: number;
  euid: number;
  hookId: number;
  slot: number;
  selector: number;
  signal: number;
  gen: number;
  comm: string;
  cgroupId: bigint;
}

export interface SelectorRecordHeader {
  op: number;
  flags: number;
  /** The action code (the backend's enum). */
  action: number;
  common: SelectorRecordCommon;
}

/** One argument slot: i (position), its kind, the declared argument index, its bytes at [p, p + n). */
export interface ArgSlot {
  i: number;
  kind: number;
  index: number;
  p: number;
  n: number;
  truncated: boolean;
  fault: boolean;
}

/** Checks the record's size and opcode and reads its shared header; throws DecodeError. */
export function readSelectorRecord(buf: Buffer, o: number, len: number, opcode: number, L: SelectorRecordLayout): SelectorRecordHeader {
  const M = L.fields;
  if (len < L.size) throw new DecodeError('bad_size', -1, `record of ${len} bytes is shorter than the ${L.what} header`);
  const op = buf.readUInt8(o + C.op);
  if (op !== opcode) throw new DecodeError('unknown_opcode', op, `unknown opcode ${op}`);
  const size = buf.readUInt32LE(o + C.size);
  const argsLen = buf.readUInt16LE(o + M.args_len);
  if (size !== len || L.size + argsLen !== size) {
    throw new DecodeError('bad_size', op, `${L.what}: header says ${size} bytes, record has ${len}, args ${argsLen}`);
  }
  return {
    op,
    flags: buf.readUInt8(o + C.flags),
    action: buf.readUInt8(o + M.action),
    common: {
      ktime: buf.readBigUInt64LE(o + C.ktime),
      tgid: buf.readUInt32LE(o + M.tgid),
      tid: buf.readUInt32LE(o + M.tid),
      uid: buf.readUInt32LE(o + M.uid),
      euid: buf.readUInt32LE(o + M.euid),
      hookId: buf.readUInt32LE(o + M.hook_id),
      slot: buf.readUInt16LE(o + M.slot),
      selector: buf.readUInt8(o + M.selector),
      signal: buf.readUInt8(o + M.sig),
      gen: buf.readUInt32LE(o + M.gen),
      comm: cString(buf, o + M.comm, 16),
      cgroupId: buf.readBigUInt64LE(o + M.cgroup_id),
    },
  };
}

/** The record's argument slots in order; a slot overrunning the record is a DecodeError. */
export function argSlots(buf: Buffer, o: number, op: number, L: SelectorRecordLayout): ArgSlot[] {
  const M = L.fields;
  const fault = buf.readUInt8(o + M.fault);
  const trunc = buf.readUInt8(o + M.trunc);
  const nargs = buf.readUInt8(o + M.nargs);
  const out: ArgSlot[] = [];
  let p = o + L.size;
  const end = p + buf.readUInt16LE(o + M.args_len);
  for (let i = 0; i < nargs && p + L.argHeader <= end; i++) {
    const kind = buf.readUInt8(p);
    const index = buf.readUInt8(p + 1);
    const n = buf.readUInt16LE(p + 2);
    p += L.argHeader;
    if (p + n > end) throw new DecodeError('bad_record', op, `${L.what}: argument slot ${i} overruns the record`);
    out.push({ i, kind, index, p, n, truncated: (trunc & (1 << i)) !== 0, fault: (fault & (1 << i)) !== 0 });
    p += n;
  }
  return out;
}

/** The text of a slot (invalid UTF-8 replaced). */
export function slotText(buf: Buffer, s: ArgSlot): string {
  return utf8Text(buf, s.p, s.n);
}

/** A char_buf slot: the bytes read, raw, and the buffer's length as the kernel knew it (size > bytes.length: cut). */
export interface SlotBytes {
  bytes: Buffer;
  size: bigint;
}

/** The struct sel_msg_buf and bytes of a char_buf slot (copied: the batch buffer is reused). */
export function slotBytes(buf: Buffer, s: ArgSlot, op: number, what: string): SlotBytes {
  const H = SEL_LAYOUTS.sel_msg_buf;
  if (s.n < H.size) throw new DecodeError('bad_record', op, `${what}: char_buf slot ${s.i} of ${s.n} bytes`);
  return { bytes: Buffer.from(buf.subarray(s.p + H.size, s.p + s.n)), size: buf.readBigUInt64LE(s.p + H.fields.size) };
}
