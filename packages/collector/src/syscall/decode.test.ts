// The record decoder against a record built field by field from SEL_LAYOUTS (the layout itself is
// checked against BTF by layout.test.ts).
import { describe, expect, it } from 'vitest';
import { decodeSyscallBatch, decodeSyscallRecord, newSyscallDecodeStats } from './decode.js';
import { ActionTaken, ArgKind, MSG_OP_GENERIC_SYSCALL, MsgFlag, SEL_LAYOUTS as L } from './layout.js';

const M = L.msg_generic_syscall.fields;

/** An int argument, then a string (str) or a char_buf (buf: its slot kind, struct sel_msg_buf.size and bytes). */
function record(opts: { ret?: bigint; monitor?: boolean; str?: string; buf?: { kind: number; size: bigint; bytes: Buffer }; fault?: boolean; trunc?: boolean } = {}): Buffer {
  let s = Buffer.from(opts.str ?? '/etc/passwd');
  if (opts.buf) {
    s = Buffer.alloc(L.sel_msg_buf.size + opts.buf.bytes.length);
    s.writeBigUInt64LE(opts.buf.size, L.sel_msg_buf.fields.size);
    opts.buf.bytes.copy(s, L.sel_msg_buf.size);
  }
  const args = Buffer.alloc(4 + 8 + 4 + s.length);
  args.writeUInt8(ArgKind.INT, 0);
  args.writeUInt8(2, 1);
  args.writeUInt16LE(8, 2);
  args.writeBigUInt64LE(0x241n, 4);
  args.writeUInt8(opts.buf?.kind ?? ArgKind.STR, 12);
  args.writeUInt8(1, 13);
  args.writeUInt16LE(s.length, 14);
  s.copy(args, 16);
  const b = Buffer.alloc(L.msg_generic_syscall.size + args.length);
  b.writeUInt8(MSG_OP_GENERIC_SYSCALL, 0);
  b.writeUInt8((opts.monitor ? MsgFlag.MONITOR : 0) | (opts.ret !== undefined ? MsgFlag.RETURN : 0), 1);
  b.writeUInt32LE(b.length, 4);
  b.writeBigUInt64LE(123n, 8);
  b.writeUInt32LE(1000, M.tgid);
  b.writeUInt32LE(1001, M.tid);
  b.writeUInt32LE(0, M.uid);
  b.writeUInt32LE(0, M.euid);
  b.writeUInt32LE(77, M.hook_id);
  b.writeUInt16LE(3, M.slot);
  b.writeUInt8(2, M.selector);
  b.writeUInt8(ActionTaken.SIGKILL, M.action);
  b.writeUInt32LE(257, M.nr);
  b.writeUInt8(9, M.sig);
  b.writeUInt8(2, M.nargs);
  b.writeUInt8(opts.fault ? 2 : 0, M.fault);
  b.writeUInt8(opts.trunc ? 2 : 0, M.trunc);
  b.writeBigInt64LE(opts.ret ?? 0n, M.ret);
  b.writeUInt32LE(1, M.gen);
  b.writeUInt16LE(args.length, M.args_len);
  b.write('cat', M.comm);
  b.writeBigUInt64LE(4242n, M.cgroup_id);
  args.copy(b, L.msg_generic_syscall.size);
  return b;
}

describe('decodeSyscallRecord', () => {
  it('decodes every field and the self-describing arguments', () => {
    const r = decodeSyscallRecord(record({ ret: -13n, monitor: true }), 0, record({ ret: -13n }).length);
    expect(r).toEqual({
      ktime: 123n, tgid: 1000, tid: 1001, uid: 0, euid: 0, hookId: 77, slot: 3, selector: 2, action: 'sigkill', signal: 9,
      monitor: true, nr: 257, ret: -13n, gen: 1, comm: 'cat', cgroupId: 4242n,
      args: [
        { index: 2, kind: 'int', value: 0x241n },
        { index: 1, kind: 'string', value: '/etc/passwd', fault: false, truncated: false },
      ],
    });
  });

  it('an unreadable string is flagged; no return value unless flagged', () => {
    const r = decodeSyscallRecord(record({ str: '', fault: true }), 0, record({ str: '' }).length);
    expect(r.ret).toBeNull();
    expect(r.args[1]).toMatchObject({ kind: 'string', value: '', fault: true });
  });

  it('a char_buf keeps its raw bytes (NUL, invalid UTF-8) and the length the kernel gave it (BUF, PREBUF)', () => {
    const bytes = Buffer.from([0x61, 0, 0xff, 0xfe, 0x0a]);
    for (const kind of [ArgKind.BUF, ArgKind.PREBUF]) {
      const whole = decodeSyscallRecord(record({ buf: { kind, size: 5n, bytes } }), 0, record({ buf: { kind, size: 5n, bytes } }).length);
      expect(whole.args[1]).toEqual({ index: 1, kind: 'buf', bytes, size: 5n, fault: false, truncated: false });
    }
    const cut = record({ buf: { kind: ArgKind.BUF, size: 0xffff_ffff_ffn, bytes }, trunc: true });
    expect(decodeSyscallRecord(cut, 0, cut.length).args[1]).toEqual({ index: 1, kind: 'buf', bytes, size: 0xffff_ffff_ffn, fault: false, truncated: true });
    // The bytes are a copy: the batch buffer they came from is reused.
    const a = decodeSyscallRecord(cut, 0, cut.length).args[1] as { bytes: Buffer };
    cut.fill(0);
    expect(a.bytes).toEqual(bytes);
    const unreadable = record({ buf: { kind: ArgKind.BUF, size: 10n, bytes: Buffer.alloc(0) }, fault: true });
    expect(decodeSyscallRecord(unreadable, 0, unreadable.length).args[1]).toEqual({ index: 1, kind: 'buf', bytes: Buffer.alloc(0), size: 10n, fault: true, truncated: false });
    // A char_buf slot too short for its struct sel_msg_buf.
    const short = record({ str: 'abc' });
    short.writeUInt8(ArgKind.BUF, L.msg_generic_syscall.size + 12);
    expect(() => decodeSyscallRecord(short, 0, short.length)).toThrow('syscall record: char_buf slot 1 of 3 bytes');
  });

  it('refuses an argument slot that overruns the record, a wrong opcode and an unknown action, naming each', () => {
    const over = record();
    over.writeUInt16LE(200, L.msg_generic_syscall.size + 14); // the string slot claims 200 bytes
    expect(() => decodeSyscallRecord(over, 0, over.length)).toThrow('syscall record: argument slot 1 overruns the record');
    const op = record();
    op.writeUInt8(99, 0);
    expect(() => decodeSyscallRecord(op, 0, op.length)).toThrow('unknown opcode 99');
    const act = record();
    act.writeUInt8(77, M.action);
    expect(() => decodeSyscallRecord(act, 0, act.length)).toThrow('syscall record: unknown action 77');
    expect(() => decodeSyscallRecord(record(), 0, 10)).toThrow('record of 10 bytes is shorter than the syscall record header');
  });

  it('counts bad records in a batch and keeps going', () => {
    const good = record();
    const bad = Buffer.from(good);
    bad.writeUInt16LE(999, M.args_len);
    const frame = (rec: Buffer): Buffer => {
      const f = Buffer.alloc(8 + ((rec.length + 7) & ~7));
      f.writeUInt32LE(rec.length, 0);
      rec.copy(f, 8);
      return f;
    };
    const stats = newSyscallDecodeStats();
    const out = decodeSyscallBatch(Buffer.concat([frame(bad), frame(good)]), stats);
    expect(out).toHaveLength(1);
    expect(stats).toEqual({ records: 2, unknownOpcode: 0, badSize: 1, badRecord: 0 });
  });
});
