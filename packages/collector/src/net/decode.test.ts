import { describe, expect, it } from 'vitest';
import { newDecodeStats } from '../abi/decode.js';
import { decodeConnectBatch } from './decode.js';
import { MSG_OP_CONNECT, NET_LAYOUTS, NetFlag, NetVerdict } from './layout.js';

const M = NET_LAYOUTS.msg_connect.fields;

function record(f: { family: number; daddr: number[]; saddr?: number[]; sport?: number; flags?: number; verdict?: number; op?: number; size?: number }): Buffer {
  const b = Buffer.alloc(NET_LAYOUTS.msg_connect.size);
  b.writeUInt8(f.op ?? MSG_OP_CONNECT, 0);
  b.writeUInt8((f.flags ?? 0) | (f.sport ? NetFlag.SRC_BOUND : 0), 1);
  b.writeUInt32LE(f.size ?? b.length, 4);
  b.writeBigUInt64LE(123n, 8);
  b.writeUInt32LE(1000, M.tgid);
  b.writeUInt32LE(1001, M.tid);
  b.writeUInt32LE(33, M.uid);
  b.writeUInt32LE(34, M.gid);
  b.writeBigUInt64LE(77n, M.cgroup_id);
  Buffer.from(f.daddr).copy(b, M.daddr);
  if (f.saddr) Buffer.from(f.saddr).copy(b, M.saddr);
  b.writeUInt16LE(443, M.dport);
  b.writeUInt16LE(f.sport ?? 0, M.sport);
  b.writeUInt16LE(f.family, M.family);
  b.writeUInt8(6, M.protocol);
  b.writeUInt8(f.verdict ?? NetVerdict.denied, M.verdict);
  b.writeUInt32LE(99, M.rule_id);
  b.writeUInt16LE(3, M.slot);
  b.writeUInt16LE(1, M.sock_type);
  b.writeUInt32LE(5, M.gen);
  b.write('curl', M.comm);
  return b;
}

/** The native reader's framing: [u32 len][u32 0][record][pad to 8]. */
function batch(...recs: Buffer[]): Buffer {
  return Buffer.concat(recs.flatMap((r) => {
    const h = Buffer.alloc(8);
    h.writeUInt32LE(r.length);
    return [h, r, Buffer.alloc((8 - (r.length % 8)) % 8)];
  }));
}

describe('decodeConnectBatch', () => {
  it('decodes IPv4 and v4-mapped IPv6 records', () => {
    const stats = newDecodeStats();
    const mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1];
    const out = decodeConnectBatch(batch(
      record({ family: 2, daddr: [10, 1, 2, 3], saddr: [10, 0, 0, 5], sport: 40000 }),
      record({ family: 10, daddr: mapped, flags: NetFlag.V4MAPPED, verdict: NetVerdict.monitor }),
    ), stats);
    expect(stats).toEqual({ records: 2, unknownOpcode: 0, badSize: 0, badRecord: 0 });
    expect(out[0]).toEqual({
      kind: 'connect', ktime: 123n, pid: 1000, tid: 1001, uid: 33, gid: 34, cgroupId: 77n, comm: 'curl', family: 'inet',
      protocol: 'tcp', sockType: 1, daddr: '10.1.2.3', dport: 443, saddr: '10.0.0.5', sport: 40000, v4Mapped: false,
      anyDest: false, hook: 'connect', verdict: 'denied', ruleId: 99, slot: 3, generation: 5,
    });
    expect(out[1]).toMatchObject({ family: 'inet6', daddr: '::ffff:127.0.0.1', v4Mapped: true, verdict: 'monitor', saddr: null, sport: null });
  });

  it('counts records it cannot decode and goes on', () => {
    const stats = newDecodeStats();
    const out = decodeConnectBatch(batch(
      record({ family: 2, daddr: [1, 2, 3, 4], op: 5 }),
      record({ family: 2, daddr: [1, 2, 3, 4], size: 64 }),
      record({ family: 2, daddr: [1, 2, 3, 4], verdict: 9 }),
      record({ family: 2, daddr: [1, 2, 3, 4] }),
    ), stats);
    expect(out).toHaveLength(1);
    expect(stats).toEqual({ records: 4, unknownOpcode: 1, badSize: 1, badRecord: 1 });
  });
});
