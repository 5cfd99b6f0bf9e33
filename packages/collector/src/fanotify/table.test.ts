// The decision-table encoder and the report decoder: exact byte layout (mirrors of
// native/src/fanotify_table.h and fanotify_guard.h), round trips, and the encoder's own checks.
import { describe, expect, it } from 'vitest';
import { decodeFanotifyReports, REPORT_HEADER_BYTES } from './reports.js';
import { decodeFanotifyTable, encodeFanotifyTable, type FanotifyRule } from './table.js';

const rules: FanotifyRule[] = [
  {
    id: 7,
    event: 'open',
    verdict: 'deny',
    monitor: false,
    report: false,
    file: { op: 'equal', values: [{ kind: 'string', value: '/etc/shadow' }, { kind: 'inode', dev: 2049n, ino: 131_074n }] },
    proc: { op: 'notIn', values: [{ kind: 'string', value: '/usr/sbin/sshd' }, { kind: 'inode', dev: 2049n, ino: (1n << 63n) + 5n }] },
  },
  {
    id: 8,
    event: 'exec',
    verdict: 'allow',
    monitor: true,
    report: true,
    file: { op: 'postfix', values: [{ kind: 'string', value: '/nc' }, { kind: 'string', value: '/etc/shadow' }] },
    proc: { op: 'notPrefix', values: [{ kind: 'string', value: '/usr/' }] },
  },
  { id: 0xffff_ffff, event: 'exec', verdict: 'deny', monitor: false, report: false, file: { op: 'any' }, proc: { op: 'any' } },
];

describe('encodeFanotifyTable', () => {
  it('writes the documented layout', () => {
    const b = encodeFanotifyTable(rules);
    // header
    expect(b.readUInt32LE(0)).toBe(1);
    expect(b.readUInt32LE(4)).toBe(3);
    expect(b.readUInt32LE(12)).toBe(0);
    // rule 0 at 16: header then 2 file + 2 process values
    expect(b.readUInt32LE(16)).toBe(7);
    expect([...b.subarray(20, 24)]).toEqual([2, 1, 0, 2]); // open, deny, no monitor, equal
    expect(b.readUInt32LE(24)).toBe(2);
    expect([...b.subarray(28, 32)]).toEqual([2, 0, 0, 0]); // notIn, no report, reserved
    expect(b.readUInt32LE(32)).toBe(2);
    expect(b.readUInt32LE(36)).toBe(0);
    // value 0 (string '/etc/shadow' at offset 0), value 1 (inode)
    expect(b.readUInt32LE(40)).toBe(2);
    expect(b.readUInt32LE(44)).toBe(11);
    expect(b.readBigUInt64LE(48)).toBe(0n);
    expect(b.readBigUInt64LE(56)).toBe(0n);
    expect(b.readUInt32LE(64)).toBe(1);
    expect(b.readBigUInt64LE(72)).toBe(2049n);
    expect(b.readBigUInt64LE(80)).toBe(131_074n);
    expect(b.readBigUInt64LE(128)).toBe((1n << 63n) + 5n);
    // rule 1 at 16 + 24 + 4*24 = 136
    expect(b.readUInt32LE(136)).toBe(8);
    expect([...b.subarray(140, 144)]).toEqual([1, 0, 1, 4]);
    expect([...b.subarray(148, 150)]).toEqual([4, 1]);
    // the repeated string is stored once: strings = '/etc/shadow' '/usr/sbin/sshd' '/nc' '/usr/'
    const stringsBytes = b.readUInt32LE(8);
    expect(stringsBytes).toBe(11 + 14 + 3 + 5);
    expect(b.subarray(b.length - stringsBytes).toString()).toBe('/etc/shadow/usr/sbin/sshd/nc/usr/');
    expect(b.length).toBe(16 + 3 * 24 + (4 + 3 + 0) * 24 + stringsBytes);
  });

  it('round-trips', () => {
    expect(decodeFanotifyTable(encodeFanotifyTable(rules))).toEqual(rules);
    expect(decodeFanotifyTable(encodeFanotifyTable([]))).toEqual([]);
    expect(encodeFanotifyTable([]).length).toBe(16);
  });

  it.each<[string, FanotifyRule, RegExp]>([
    ['id', { id: -1, event: 'open', verdict: 'deny', file: { op: 'any' } }, /id must be a u32/],
    ['values on any', { id: 1, event: 'open', verdict: 'deny', file: { op: 'any', values: [{ kind: 'string', value: '/x' }] } }, /takes no values/],
    ['no values', { id: 1, event: 'open', verdict: 'deny', file: { op: 'prefix', values: [] } }, /at least one value/],
    ['string in inode set', { id: 1, event: 'open', verdict: 'deny', file: { op: 'inode', values: [{ kind: 'string', value: '/x' }] } }, /inode values only/],
    ['inode for prefix', { id: 1, event: 'exec', verdict: 'deny', file: { op: 'any' }, proc: { op: 'prefix', values: [{ kind: 'inode', dev: 1n, ino: 2n }] } }, /strings only/],
    ['empty string', { id: 1, event: 'open', verdict: 'deny', file: { op: 'equal', values: [{ kind: 'string', value: '' }] } }, /length 0/],
    ['NUL', { id: 1, event: 'open', verdict: 'deny', file: { op: 'equal', values: [{ kind: 'string', value: '/a\0b' }] } }, /NUL/],
    ['long string', { id: 1, event: 'open', verdict: 'deny', file: { op: 'prefix', values: [{ kind: 'string', value: 'x'.repeat(4097) }] } }, /length 4097/],
    ['negative inode', { id: 1, event: 'open', verdict: 'deny', file: { op: 'inode', values: [{ kind: 'inode', dev: -1n, ino: 1n }] } }, /u64/],
  ])('refuses %s', (_name, rule, message) => {
    expect(() => encodeFanotifyTable([rule])).toThrow(message);
  });
});

describe('decodeFanotifyReports', () => {
  function record(o: { ruleId: number; event: number; verdict: number; monitor: number; flags: number; pid: number; uid: number; path: string; exe: string }): Buffer {
    const path = Buffer.from(o.path);
    const exe = Buffer.from(o.exe);
    const size = Math.ceil((REPORT_HEADER_BYTES + path.length + exe.length) / 8) * 8;
    const b = Buffer.alloc(size);
    b.writeUInt32LE(size, 0);
    b.writeUInt32LE(o.ruleId, 4);
    b.writeUInt8(o.event, 8);
    b.writeUInt8(o.verdict, 9);
    b.writeUInt8(o.monitor, 10);
    b.writeUInt8(o.flags, 11);
    b.writeUInt32LE(o.pid, 12);
    b.writeUInt32LE(o.uid, 16);
    b.writeUInt16LE(path.length, 20);
    b.writeUInt16LE(exe.length, 22);
    b.writeBigUInt64LE(123_456_789n, 24);
    b.writeBigUInt64LE(10n, 32);
    b.writeBigUInt64LE(11n, 40);
    b.writeBigUInt64LE(12n, 48);
    b.writeBigUInt64LE(13n, 56);
    path.copy(b, 64);
    exe.copy(b, 64 + path.length);
    return b;
  }

  it('decodes records back to back, honouring the known-flags', () => {
    const batch = Buffer.concat([
      record({ ruleId: 3, event: 1, verdict: 1, monitor: 0, flags: 7, pid: 42, uid: 1000, path: '/tmp/x', exe: '/usr/bin/dash' }),
      record({ ruleId: 4, event: 2, verdict: 0, monitor: 1, flags: 0, pid: 43, uid: 0xffffffff, path: '/etc/shadow', exe: '' }),
    ]);
    expect(decodeFanotifyReports(batch)).toEqual([
      { ruleId: 3, event: 'exec', verdict: 'deny', monitor: false, pid: 42, uid: 1000, path: '/tmp/x', dev: 10n, ino: 11n, exePath: '/usr/bin/dash', exeDev: 12n, exeIno: 13n, ktimeNs: 123_456_789n },
      { ruleId: 4, event: 'open', verdict: 'allow', monitor: true, pid: 43, uid: undefined, path: '/etc/shadow', dev: undefined, ino: undefined, exePath: '', exeDev: undefined, exeIno: undefined, ktimeNs: 123_456_789n },
    ]);
  });

  it('rejects a bad size or a truncated batch', () => {
    const r = record({ ruleId: 1, event: 1, verdict: 1, monitor: 0, flags: 0, pid: 1, uid: 0, path: '/a', exe: '/b' });
    expect(() => decodeFanotifyReports(r.subarray(0, 40))).toThrow(/truncated/);
    const bad = Buffer.from(r);
    bad.writeUInt32LE(8, 0);
    expect(() => decodeFanotifyReports(bad)).toThrow(/bad record size/);
  });
});
