// The alignchecker: the TypeScript layout table must equal the BTF of the compiled BPF object.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { btf, expectLayout, structs } from './testdata/btf.js';
import { bpfObjectPath } from '../paths.js';
import { LAYOUTS } from './layout.js';

const checker = bpfObjectPath('alignchecker');
const sensor = bpfObjectPath('process');

describe.skipIf(!existsSync(checker) || !existsSync(sensor))('ABI layouts', () => {
  const all = structs(btf(checker));
  const inSensor = structs(btf(sensor));

  for (const [name, layout] of Object.entries(LAYOUTS)) {
    it(`${name} matches the BTF of alignchecker.o`, () => expectLayout(all.get(name), name, layout));
  }

  it('the structs the sensor object carries in its own BTF match too', () => {
    const carried = Object.entries(LAYOUTS).filter(([name]) => inSensor.has(name));
    expect(carried.map(([n]) => n)).toEqual(expect.arrayContaining(['msg_exec', 'execve_map_value', 'tg_conf']));
    for (const [name, layout] of carried) expectLayout(inSensor.get(name), name, layout);
  });
});
