// The tracepoint backend: generic_tp.o (bpf/programs/syscall/tp.h) driven by the syscall backend's
// generation machinery — its sel_syscalls is keyed by tracepoint event id — plus what only tracepoints
// need: each hook's field table (sel_tp_hooks), and one attachment of the program per subsystem/event in
// use, made before the generation that needs it goes live and destroyed once no live hook uses it.
import { PeregrineError } from '@peregrine/events';
import { bpfCall, type BpfLink, type BpfObject } from '../native.js';
import { bpfObjectPath } from '../paths.js';
import { SyscallBackend, SYSCALL_PROGRAMS, type SyscallBackendOptions, type SyscallBackendStats, type SyscallReport } from '../syscall/backend.js';
import type { EncodedGeneration } from '../syscall/encode.js';
import { ArgKind, HookFlag, hookIndex, MSG_OP_GENERIC_TRACEPOINT, SEL_LAYOUTS as L } from '../syscall/layout.js';
import { TP_LAYOUTS as T, TP_LEN_SIGNED, TpHow } from './layout.js';
import type { TracepointHook } from './types.js';

/** Copies of the program in generic_tp.o (SEL_TP_PROGS): distinct subsystem/events attached at once. */
export const TP_PROGS = 8;
const progName = (n: number): string => `sel_tp${n}`;

export class TracepointBackendError extends PeregrineError {
  override readonly name = 'TracepointBackendError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TRACEPOINT_BACKEND', message, options);
  }
}

export interface TracepointReport extends SyscallReport {
  hook: TracepointHook | null;
}

export type TracepointBackendStats = SyscallBackendStats & { attached: string[] };

export class TracepointBackend {
  private readonly impl: SyscallBackend;
  /** "subsystem/event" → the program copy serving it and its link. */
  private readonly links = new Map<string, { prog: number; link: BpfLink }>();
  /** Copies free since before the last apply (one freed by an apply is reused only by a later one). */
  private free: number[] = Array.from({ length: TP_PROGS }, (_, i) => i);
  private freedLastApply: number[] = [];

  constructor(opts: Omit<SyscallBackendOptions, 'startPrograms' | 'skipPrograms' | 'opcode' | 'beforeFlip' | 'afterFlip'> = {}) {
    this.impl = new SyscallBackend({
      ...opts,
      objectPath: opts.objectPath ?? bpfObjectPath('generic_tp'),
      startPrograms: [SYSCALL_PROGRAMS.exec, SYSCALL_PROGRAMS.fork, SYSCALL_PROGRAMS.exitProc],
      skipPrograms: [SYSCALL_PROGRAMS.enter],
      opcode: MSG_OP_GENERIC_TRACEPOINT,
      beforeFlip: (obj, hooks, enc) => this.beforeFlip(obj, hooks as TracepointHook[], enc),
      afterFlip: (_obj, hooks) => this.afterFlip(hooks as TracepointHook[]),
    });
  }

  onReport(cb: (reports: TracepointReport[]) => void): () => void {
    return this.impl.onReport((r) => cb(r as TracepointReport[]));
  }

  start(): void {
    this.impl.start();
  }

  /** Replaces the applied hooks (an empty list detaches every tracepoint). */
  apply(hooks: TracepointHook[]): void {
    // Each event's chain is keyed by its program copy: hook.nr is that copy's number.
    const assigned = new Map([...this.links].map(([name, l]) => [name, l.prog]));
    const free = [...this.free];
    const names = [...new Set(hooks.map((h) => `${h.subsystem}/${h.event}`))];
    for (const name of names) {
      if (assigned.has(name)) continue;
      const n = free.shift();
      if (n === undefined) {
        throw new TracepointBackendError(`cannot apply: more than ${TP_PROGS} distinct tracepoints at once (${names.join(', ')})`);
      }
      assigned.set(name, n);
    }
    const placed = hooks.map((h) => ({ ...h, nr: assigned.get(`${h.subsystem}/${h.event}`)! }));
    this.pending = assigned;
    this.impl.apply(placed);
    this.free = [...free.filter((n) => ![...assigned.values()].includes(n)), ...this.freedLastApply];
    this.freedLastApply = [];
  }

  private pending = new Map<string, number>();

  /**
   * Before the flip: the field tables; the hook tables rewritten with what the generic encoder does not
   * know (fields are read by tp.h: strings and buffers arrive pre-read, ints narrowed to the field's
   * width, the record opcode); and the attachments the new generation needs.
   */
  private beforeFlip(obj: BpfObject, hooks: TracepointHook[], enc: EncodedGeneration): void {
    for (const hook of hooks) {
      const slot = enc.slots.get(hook.id)!;
      const key = u32(hookIndex(enc.gen, slot));
      bpfCall(() => obj.mapUpdate('sel_tp_hooks', key, encodeTpHook(hook), 0));
      const h = enc.hooks.find((x) => x.key.equals(key))!;
      patchHook(h.value, hook);
      bpfCall(() => obj.mapUpdate('sel_hooks', key, h.value, 0));
    }
    for (const hook of hooks) {
      const name = `${hook.subsystem}/${hook.event}`;
      if (this.links.has(name)) continue;
      const prog = this.pending.get(name)!;
      this.links.set(name, { prog, link: bpfCall(() => obj.attachTracepoint(progName(prog), hook.subsystem, hook.event)) });
    }
  }

  private afterFlip(hooks: TracepointHook[]): void {
    const used = new Set(hooks.map((h) => `${h.subsystem}/${h.event}`));
    for (const [name, l] of this.links) {
      if (used.has(name)) continue;
      l.link.destroy();
      this.links.delete(name);
      this.freedLastApply.push(l.prog);
    }
  }

  stats(): TracepointBackendStats {
    return { ...this.impl.stats(), attached: [...this.links.keys()] };
  }

  async stop(): Promise<void> {
    for (const l of this.links.values()) l.link.destroy();
    this.links.clear();
    this.free = Array.from({ length: TP_PROGS }, (_, i) => i);
    this.freedLastApply = [];
    await this.impl.stop();
  }
}

export function encodeTpHook(hook: TracepointHook): Buffer {
  const v = Buffer.alloc(T.sel_tp_hook.size);
  v.writeUInt32LE(hook.fields.length, T.sel_tp_hook.fields.nfields);
  hook.fields.forEach((f, j) => {
    const o = T.sel_tp_hook.fields.f + j * T.sel_tp_field.size;
    v.writeUInt16LE(f.offset, o + T.sel_tp_field.fields.off);
    v.writeUInt16LE(f.size, o + T.sel_tp_field.fields.size);
    v.writeUInt8(TpHow[f.how], o + T.sel_tp_field.fields.how);
    if (f.lenOffset !== undefined) {
      v.writeUInt8((f.lenSize ?? 8) | (f.lenSigned ? TP_LEN_SIGNED : 0), o + T.sel_tp_field.fields.len_size);
      v.writeUInt16LE(f.lenOffset, o + T.sel_tp_field.fields.len_off);
    }
  });
  return v;
}

/** struct sel_hook as encodeGeneration wrote it → as tp.h needs it. */
export function patchHook(v: Buffer, hook: TracepointHook): void {
  const H = L.sel_hook.fields;
  v.writeUInt32LE(v.readUInt32LE(H.flags) | HookFlag.TP, H.flags);
  hook.fields.forEach((f, j) => {
    const o = H.args + j * L.sel_arg.size;
    if (f.how === 'INT') v.writeUInt8(f.intSize ?? f.size, o + L.sel_arg.fields.size);
    else v.writeUInt8(f.how === 'UBUF' || f.how === 'KBUF' ? ArgKind.PREBUF : ArgKind.PRE, o + L.sel_arg.fields.kind);
  });
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

