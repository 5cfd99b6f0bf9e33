// The record decoder against a record built field by field from SEL_LAYOUTS (the layout itself is
// checked against BTF by layout.test.ts).
import { describe, expect, it } from 'vitest';
import { decodeSyscallBatch, decodeSyscallRecord, newSyscallDecodeStats } from './decode.js';
import { ActionTaken, ArgKind, MSG_OP_GENERIC_SYSCALL, MsgFlag, SEL_LAYOUTS as L } from './layout.js';

const M = L.msg_generic_syscall.fields;

function record(opts: { ret?: bigint; monitor?: boolean; str?: string; fault?: boolean } = {}): Buffer {
  const s = Buffer.from(opts.str ?? '/etc/passwd');
  const args = Buffer.alloc(4 + 8 + 4 + s.length);
  args.writeUInt8(ArgKind.INT, 0);
  args.writeUInt8(2, 1);
  args.writeUInt16LE(8, 2);
  args.writeBigUInt64LE(0x241n, 4);
  args.writeUInt8(ArgKind.STR, 12);
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
        { index: 1, kind: 'string', value: '/etc/passwd', bytes: Buffer.from('/etc/passwd'), fault: false, truncated: false },
      ],
    });
  });

  it('an unreadable string is flagged; no return value unless flagged', () => {
    const r = decodeSyscallRecord(record({ str: '', fault: true }), 0, record({ str: '' }).length);
    expect(r.ret).toBeNull();
    expect(r.args[1]).toMatchObject({ kind: 'string', value: '', fault: true });
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
