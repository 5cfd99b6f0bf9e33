// The alignchecker: the TypeScript layout table must equal the BTF of the compiled BPF object.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bpfObjectPath } from '../paths.js';
import { LAYOUTS } from './layout.js';

interface BtfMember { name: string; bits_offset: number }
interface BtfType { id: number; kind: string; name: string; size?: number; members?: BtfMember[] }

function btfStructs(obj: string): Map<string, BtfType> {
  const btf = JSON.parse(execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', obj], { encoding: 'utf8' })) as {
    types: BtfType[];
  };
  return new Map(btf.types.filter((t) => t.kind === 'STRUCT').map((t) => [t.name, t]));
}

function expectLayout(t: BtfType | undefined, name: string, layout: { size: number; fields: Record<string, number> }): void {
  expect(t, `struct ${name} missing from BTF`).toBeDefined();
  expect(t?.size).toBe(layout.size);
  const btfFields = Object.fromEntries((t?.members ?? []).map((m) => [m.name, m.bits_offset / 8]));
  expect(btfFields).toEqual(layout.fields);
}

const checker = bpfObjectPath('alignchecker');
const sensor = bpfObjectPath('process');

describe.skipIf(!existsSync(checker) || !existsSync(sensor))('ABI layouts', () => {
  const all = btfStructs(checker);
  const inSensor = btfStructs(sensor);

  for (const [name, layout] of Object.entries(LAYOUTS)) {
    it(`${name} matches the BTF of alignchecker.o`, () => expectLayout(all.get(name), name, layout));
  }

  it('the structs the sensor object carries in its own BTF match too', () => {
    const carried = Object.entries(LAYOUTS).filter(([name]) => inSensor.has(name));
    expect(carried.map(([n]) => n)).toEqual(expect.arrayContaining(['msg_exec', 'execve_map_value', 'tg_conf']));
    for (const [name, layout] of carried) expectLayout(inSensor.get(name), name, layout);
  });
});
