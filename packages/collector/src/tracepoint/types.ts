// A compiled `tracepoints:` entry: the syscall backend's hook (selectors, actions, argument slots
// 0..n-1) plus where each declared field sits in the tracepoint's record.
import type { SyscallHook } from '../syscall/types.js';
import type { TpHowName } from './layout.js';

export interface TpField {
  /** The field index the policy named (args[].index: counted over every field, common ones included). */
  index: number;
  name: string;
  offset: number;
  size: number;
  how: TpHowName;
  /** Ints: bytes kept after narrowing, min(declared type, field size). */
  intSize?: number;
  /** char_buf (UBUF/KBUF): where the length field (sizeArgIndex) sits in the record. */
  lenOffset?: number;
  lenSize?: number;
  lenSigned?: boolean;
  label?: string;
  /** The policy's type (int, uint32, string…). */
  type: string;
}

export interface TracepointHook extends SyscallHook {
  subsystem: string;
  event: string;
  /** /sys/kernel/tracing/events/<subsystem>/<event>/id (hook.nr holds it too). */
  eventId: number;
  /** One per declared argument, in declaration order (the hook's argument slot j is fields[j]). */
  fields: TpField[];
}
