import { describe, expect, it } from 'vitest';
import type { BpfObject } from '../native.js';
import { GenerationTables } from './generation-tables.js';

function fakeObj() {
  const ops: string[] = [];
  const obj = {
    mapUpdate: (map: string, k: Buffer, v: Buffer) => void ops.push(`set ${map} ${k.toString()}=${v.toString('hex')}`),
    mapDelete: (map: string, k: Buffer) => void ops.push(`del ${map} ${k.toString()}`),
  } as unknown as BpfObject;
  return { obj, ops };
}
const b = (s: string): Buffer => Buffer.from(s);

describe('GenerationTables', () => {
  it('writes sets (→ 1) then tables; the next write into a generation first removes what it held', () => {
    const t = new GenerationTables<'set' | 'tab'>({ set: 10, tab: 4 }, { tab: 2 });
    const { obj, ops } = fakeObj();
    t.write(obj, 1, { sets: [['set', [b('a'), b('b')]]], tables: [['tab', [{ key: b('h1'), value: b('vv') }]]] });
    expect(ops.splice(0)).toEqual(['set set a=01', 'set set b=01', 'set tab h1=7676']);
    t.write(obj, 0, { sets: [['set', [b('c')]]], tables: [] });
    expect(ops.splice(0)).toEqual(['set set c=01']); // generation 1 untouched: it is live until the flip
    t.write(obj, 1, { sets: [['set', [b('d')]]], tables: [] });
    // hash map keys deleted, array entries zeroed (value size from `arrays`)
    expect(ops.splice(0)).toEqual(['del set a', 'del set b', 'set tab h1=0000', 'set set d=01']);
    expect(t.entries(1)).toEqual({ set: 1, tab: 0 });
    expect(t.entries(0)).toEqual({ set: 1, tab: 0 });
  });

  it('names the map that would overflow next to the live generation', () => {
    const t = new GenerationTables<'set'>({ set: 3 }, {});
    const { obj } = fakeObj();
    t.write(obj, 0, { sets: [['set', [b('a'), b('b')]]], tables: [] });
    expect(t.overflow(0, { sets: [['set', [b('x')]]], tables: [] })).toBeNull();
    expect(t.overflow(0, { sets: [['set', [b('x'), b('y')]]], tables: [] })).toBe('set would need 2 entries next to the 2 of the live generation (capacity 3)');
  });
});
