import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BpfObject } from '../native.js';
import { kernelDev } from './compile.js';
import { SEL_LAYOUTS as L } from './layout.js';
import { LineageBitsError, ProcessTables } from './process-tables.js';

/** A map store standing in for a loaded object: only what ProcessTables calls. */
function fakeObject(): { obj: BpfObject; maps: Map<string, Map<string, Buffer>> } {
  const maps = new Map<string, Map<string, Buffer>>();
  const m = (name: string): Map<string, Buffer> => maps.get(name) ?? maps.set(name, new Map()).get(name)!;
  const obj = {
    mapLookup: (name: string, key: Buffer) => m(name).get(key.toString('hex')) ?? null,
    mapUpdate: (name: string, key: Buffer, value: Buffer) => void m(name).set(key.toString('hex'), Buffer.from(value)),
  } as unknown as BpfObject;
  return { obj, maps };
}

const u32 = (v: number): string => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b.toString('hex');
};
const bits = (v: Buffer | undefined): bigint | undefined => v?.readBigUInt64LE(0);

// A /proc of four processes: 10 runs /bin/sh, 11 its child and 12 its grandchild; 20 is unrelated.
const proc = mkdtempSync(join(tmpdir(), 'peregrine-proc-'));
for (const [pid, ppid, exe] of [[10, 1, '/bin/sh'], [11, 10, '/bin/cat'], [12, 11, '/bin/cat'], [20, 1, '/bin/cat']] as const) {
  mkdirSync(join(proc, String(pid)));
  symlinkSync(exe, join(proc, String(pid), 'exe'));
  writeFileSync(join(proc, String(pid), 'stat'), `${pid} (x) S ${ppid} 0 0\n`);
}

describe('ProcessTables', () => {
  afterAll(() => rmSync(proc, { recursive: true, force: true }));

  it('assigns each followed pid and followChildren list one bit for the backend life, 64 at most', () => {
    const t = new ProcessTables(proc);
    expect([t.followBit(7), t.followBit(8), t.followBit(7)]).toEqual([0, 1, 0]);
    expect([t.fcBit('a'), t.fcBit('b'), t.fcBit('a')]).toEqual([0, 1, 0]);
    for (let i = 0; i < 62; i++) t.fcBit(`k${i}`);
    expect(() => t.fcBit('one-too-many')).toThrow(LineageBitsError);
    t.reset();
    expect(t.fcBit('b')).toBe(0);
  });

  it('writes followChildren executables and seeds the lineage of running processes and their descendants', () => {
    const { obj, maps } = fakeObject();
    const t = new ProcessTables(proc);
    const sh = statSync('/bin/sh', { bigint: true });
    const value = { path: '/bin/sh', dev: kernelDev(sh.dev), ino: sh.ino };
    t.write(obj, { fc: new Map([[3, [value]]]) });
    const ik = Buffer.alloc(L.sel_ino_key.size);
    ik.writeUInt32LE(value.dev, L.sel_ino_key.fields.dev);
    ik.writeBigUInt64LE(value.ino, L.sel_ino_key.fields.ino);
    expect(bits(maps.get('sel_fc_ino')?.get(ik.toString('hex')))).toBe(8n);
    expect(maps.get('sel_fc_path')?.size).toBe(1);
    const lineage = maps.get('sel_fc_lineage')!;
    expect([10, 11, 12, 20].map((p) => bits(lineage.get(u32(p))))).toEqual([8n, 8n, 8n, undefined]);
    // A second list ORs its bit in, never clearing the first.
    t.write(obj, { fc: new Map([[0, [value]]]) });
    expect(bits(lineage.get(u32(12)))).toBe(9n);
    expect(maps.has('sel_lineage')).toBe(false); // no followForks pid
  });

  it('writes followForks roots and their descendants', () => {
    const { obj, maps } = fakeObject();
    const t = new ProcessTables(proc);
    expect(t.followBit(10)).toBe(0);
    t.write(obj, { fc: new Map() });
    expect(bits(maps.get('sel_follow_roots')?.get(u32(10)))).toBe(1n);
    expect([11, 12, 20].map((p) => bits(maps.get('sel_lineage')?.get(u32(p))))).toEqual([1n, 1n, undefined]);
  });
});
