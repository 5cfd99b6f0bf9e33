import { describe, expect, it } from 'vitest';
import { BATCH_RECORD_HEADER, LAYOUTS } from '../abi/layout.js';
import { decodeLsmBatch, decodeLsmRecord, newLsmDecodeStats } from './decode.js';
import { LSM_LAYOUTS, LsmActionTaken, LsmHookId, LsmMsgFlag, LsmSrc, MSG_OP_LSM } from './layout.js';

const M = LSM_LAYOUTS.msg_lsm.fields;
const C = LAYOUTS.msg_common.fields;

function record(slots: { src: number; index: number; data: Buffer }[], opts: { action?: number; err?: number; flags?: number; trunc?: number } = {}): Buffer {
  const data = Buffer.concat(slots.map((s) => {
    const h = Buffer.alloc(4);
    h.writeUInt8(s.src, 0);
    h.writeUInt8(s.index, 1);
    h.writeUInt16LE(s.data.length, 2);
    return Buffer.concat([h, s.data]);
  }));
  const b = Buffer.alloc(LSM_LAYOUTS.msg_lsm.size + data.length);
  b.writeUInt8(MSG_OP_LSM, C.op);
  b.writeUInt8(opts.flags ?? 0, C.flags);
  b.writeUInt32LE(b.length, C.size);
  b.writeBigUInt64LE(123n, C.ktime);
  b.writeUInt32LE(42, M.tgid);
  b.writeUInt32LE(43, M.tid);
  b.writeUInt32LE(7, M.hook_id);
  b.writeUInt8(1, M.selector);
  b.writeUInt8(opts.action ?? LsmActionTaken.OVERRIDE, M.action);
  b.writeUInt32LE(LsmHookId.socket_connect, M.lsm_hook);
  b.writeInt32LE(opts.err ?? -1, M.err);
  b.writeUInt8(slots.length, M.nargs);
  b.writeUInt8(opts.trunc ?? 0, M.trunc);
  b.writeUInt16LE(data.length, M.args_len);
  b.write('curl', M.comm);
  data.copy(b, LSM_LAYOUTS.msg_lsm.size);
  return b;
}
const u64 = (v: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};

describe('decodeLsmRecord', () => {
  it('folds the sockaddr slots into one value and keeps ints and paths', () => {
    const r = record([
      { src: LsmSrc.SA_FAMILY, index: 1, data: u64(2) },
      { src: LsmSrc.SA_PORT, index: 1, data: u64(8080) },
      { src: LsmSrc.SA_ADDR, index: 1, data: Buffer.from([2, 10, 1, 2, 3]) },
      { src: LsmSrc.INT, index: 2, data: u64(16) },
    ]);
    const d = decodeLsmRecord(r, 0, r.length);
    expect(d).toMatchObject({
      tgid: 42, tid: 43, hookId: 7, selector: 1, action: 'override', errno: 1, monitor: false, lsmHook: 'socket_connect', comm: 'curl', ktime: 123n,
    });
    expect(d.args).toEqual([
      { index: 1, kind: 'sockaddr', family: 2, familyName: 'AF_INET', addr: '10.1.2.3', port: 8080 },
      { index: 2, kind: 'int', value: 16n },
    ]);
  });

  it('IPv6 addresses, paths with their truncation bit, monitor mode', () => {
    const v6 = Buffer.alloc(17);
    v6[0] = 10;
    v6[16] = 1;
    const r = record([
      { src: LsmSrc.FILE, index: 0, data: Buffer.from('/etc/shadow') },
      { src: LsmSrc.SA_FAMILY, index: 1, data: u64(10) },
      { src: LsmSrc.SA_PORT, index: 1, data: u64(443) },
      { src: LsmSrc.SA_ADDR, index: 1, data: v6 },
    ], { flags: LsmMsgFlag.MONITOR, trunc: 1, action: LsmActionTaken.SIGKILL, err: 0 });
    const d = decodeLsmRecord(r, 0, r.length);
    expect(d.monitor).toBe(true);
    expect(d.action).toBe('sigkill');
    expect(d.errno).toBe(0);
    expect(d.args).toEqual([
      { index: 0, kind: 'path', type: 'file', path: '/etc/shadow', truncated: true, fault: false },
      { index: 1, kind: 'sockaddr', family: 10, familyName: 'AF_INET6', addr: '::1', port: 443 },
    ]);
  });

  it('a batch: records framed and padded; bad ones counted, not thrown', () => {
    const good = record([{ src: LsmSrc.BPRM, index: 0, data: Buffer.from('/bin/x') }]);
    const bad = Buffer.from(good);
    bad.writeUInt8(99, C.op);
    const frame = (r: Buffer): Buffer => {
      const h = Buffer.alloc(BATCH_RECORD_HEADER);
      h.writeUInt32LE(r.length, 0);
      return Buffer.concat([h, r, Buffer.alloc(((r.length + 7) & ~7) - r.length)]);
    };
    const stats = newLsmDecodeStats();
    const out = decodeLsmBatch(Buffer.concat([frame(good), frame(bad), frame(good)]), stats);
    expect(out.map((r) => r.args[0])).toEqual([
      { index: 0, kind: 'path', type: 'linux_binprm', path: '/bin/x', truncated: false, fault: false },
      { index: 0, kind: 'path', type: 'linux_binprm', path: '/bin/x', truncated: false, fault: false },
    ]);
    expect(stats).toEqual({ records: 3, unknownOpcode: 1, badSize: 0, badRecord: 0 });
  });
});
