// The network sensor's alignchecker: the TypeScript layouts must equal the BTF of net_alignchecker.o
// (every struct) and of connect.o (the map key/value structs it carries; msg_connect only lives in ring
// memory there, so it has no BTF of its own in connect.o).
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { btf, expectLayout, structs } from '../abi/testdata/btf.js';
import { bpfObjectPath } from '../paths.js';
import { MSG_OP_CONNECT, NET_COUNTER_COUNT, NET_LAYOUTS, NET_MAX_RULES, NET_TABLE_MASKS, NetCounter, NetVerdict } from './layout.js';

const checker = bpfObjectPath('net_alignchecker');
const program = bpfObjectPath('connect');

describe.skipIf(!existsSync(checker) || !existsSync(program))('network ABI layouts', () => {
  const types = btf(checker);
  const all = structs(types);

  for (const [name, layout] of Object.entries(NET_LAYOUTS)) {
    it(`${name} matches the BTF of net_alignchecker.o`, () => expectLayout(all.get(name), name, layout));
  }

  it('the structs connect.o carries match too', () => {
    const inProgram = structs(btf(program));
    const carried = Object.entries(NET_LAYOUTS).filter(([name]) => inProgram.has(name));
    expect(carried.map(([n]) => n)).toEqual(expect.arrayContaining(['net_conf', 'net_lpm4_key', 'net_lpm6_key', 'net_port_key', 'net_table']));
    for (const [name, layout] of carried) expectLayout(inProgram.get(name), name, layout);
  });

  it('net_table holds the masks in field order, then one rule id per slot', () => {
    const masks = Object.entries(NET_LAYOUTS.net_table.fields).filter(([k]) => k !== 'rule_id').map(([k]) => k);
    expect(masks).toEqual([...NET_TABLE_MASKS]);
    expect(NET_LAYOUTS.net_table.size - NET_LAYOUTS.net_table.fields.rule_id).toBe(4 * NET_MAX_RULES);
  });

  const enumValues = (name: string): Record<string, number> => {
    const e = types.find((t) => t.kind === 'ENUM' && t.name === name);
    expect(e, `enum ${name} missing from BTF`).toBeDefined();
    return Object.fromEntries((e?.values ?? []).map((v) => [v.name, v.val]));
  };

  it('the opcode and verdicts match enum net_msg_op and enum net_verdict', () => {
    expect(enumValues('net_msg_op')).toEqual({ MSG_OP_CONNECT });
    expect(enumValues('net_verdict')).toEqual({
      NET_VERDICT_ALLOWED: NetVerdict.allowed,
      NET_VERDICT_DENIED: NetVerdict.denied,
      NET_VERDICT_MONITOR: NetVerdict.monitor,
    });
  });

  it('counter indexes match enum net_counter', () => {
    const vals = enumValues('net_counter');
    expect(vals.NET_CNT_MAX).toBe(NET_COUNTER_COUNT);
    expect(Object.values(NetCounter)).toEqual(
      ['NET_CNT_RB_FULL', 'NET_CNT_EVALS', 'NET_CNT_DENIED', 'NET_CNT_MONITORED', 'NET_CNT_POSTED', 'NET_CNT_NO_TABLE'].map((n) => vals[n]),
    );
  });
});
