// The alignchecker for the syscall_tracepoint backend: SEL_LAYOUTS must equal the BTF of
// sel_alignchecker.o (every struct of sel_msg.h) and of generic.o (the structs the programs use).
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { btf, expectLayout, structs } from '../abi/testdata/btf.js';
import { bpfObjectPath } from '../paths.js';
import { LAYOUTS } from '../abi/layout.js';
import {
  ActionTaken, ArgKind, ArgOp, BinOp, CapType, LPM_KEY_SIZE, MSG_OP_GENERIC_SYSCALL, MSG_OP_GENERIC_TRACEPOINT, NsKind, RateScope, SEL, SEL_COUNTER_COUNT, SEL_LAYOUTS, SelCounter,
} from './layout.js';

const checker = bpfObjectPath('sel_alignchecker');
const program = bpfObjectPath('generic');

describe.skipIf(!existsSync(checker) || !existsSync(program))('syscall backend ABI layouts', () => {
  const all = structs(btf(checker));
  const progTypes = btf(program);
  const inProg = structs(progTypes);

  for (const [name, layout] of Object.entries(SEL_LAYOUTS)) {
    it(`${name} matches the BTF of sel_alignchecker.o`, () => expectLayout(all.get(name), name, layout));
  }

  it('msg_common is the process sensor\'s', () => expectLayout(all.get('msg_common'), 'msg_common', LAYOUTS.msg_common));

  it('the structs generic.o carries match too', () => {
    const carried = Object.entries(SEL_LAYOUTS).filter(([name]) => inProg.has(name));
    expect(carried.map(([n]) => n)).toEqual(expect.arrayContaining(['sel_hook', 'sel_exe', 'msg_generic_syscall', 'sel_strbuf']));
    for (const [name, layout] of carried) expectLayout(inProg.get(name), name, layout);
  });

  it('enums: opcode, operators, kinds, counters', () => {
    const enums = new Map<string, Map<string, number>>(
      btf(checker).filter((t) => t.kind === 'ENUM').map((t) => [t.name, new Map((t.values ?? []).map((v) => [v.name, v.val]))]),
    );
    const pick = (e: string, prefix: string): Record<string, number> =>
      Object.fromEntries([...(enums.get(e) ?? new Map<string, number>())].map(([k, v]) => [k.slice(prefix.length), v]));
    expect(pick('sel_msg_op', '')).toEqual({ MSG_OP_GENERIC_SYSCALL, MSG_OP_GENERIC_TRACEPOINT });
    expect(pick('sel_arg_kind', 'SEL_ARG_')).toEqual(ArgKind);
    // Same values in the same order (the names differ only in spelling: SEL_OP_NOTPREFIX ↔ NotPrefix).
    expect(Object.values(pick('sel_op', 'SEL_OP_'))).toEqual(Object.values(ArgOp));
    expect(Object.values(pick('sel_bin_op', 'SEL_BIN_'))).toEqual(Object.values(BinOp));
    expect(Object.values(pick('sel_ns_kind', 'SEL_NS_')).slice(0, -1)).toEqual(Object.values(NsKind));
    expect(Object.values(pick('sel_cap_type', 'SEL_CAP_'))).toEqual(Object.values(CapType));
    expect(Object.values(pick('sel_rl_scope', 'SEL_RL_'))).toEqual(Object.values(RateScope));
    expect(Object.values(pick('sel_action_taken', 'SEL_ACT_'))).toEqual(Object.values(ActionTaken));
    const counters = Object.fromEntries([...(enums.get('sel_counter') ?? new Map<string, number>())].map(([k, v]) => [k, v]));
    expect(counters['SEL_CNT_MAX']).toBe(SEL_COUNTER_COUNT);
    expect(Object.values(counters).slice(0, -1)).toEqual(Object.values(SelCounter));
  });

  it('constants: the limits the programs were built with', () => {
    const src = readFileSync(new URL('../../../../bpf/lib/sel_msg.h', import.meta.url), 'utf8');
    const def = (n: string): number => Number(new RegExp(`#define SEL_${n}\\s+(\\w+)`).exec(src)![1]);
    for (const k of ['MAX_HOOKS', 'MAX_CHAIN', 'MAX_ARGS', 'MAX_SELECTORS', 'MAX_ARGF', 'MAX_RANGES', 'MAX_BINF', 'MAX_PIDF', 'MAX_NSF', 'MAX_CAPF', 'STR_MAX', 'LPM_STR'] as const) {
      expect(def(k), k).toBe(SEL[k]);
    }
    expect(LPM_KEY_SIZE).toBe(8 + SEL.LPM_STR);
  });
});
