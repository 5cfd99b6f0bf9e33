// The alignchecker for the bpf_lsm backend: LSM_LAYOUTS must equal the BTF of lsm_alignchecker.o
// (every struct of lsm_msg.h) and of lsm.o (the structs the programs use); the enums and limits must
// be the ones the programs were built with; lsm.o must have one program per LsmHookId.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { btf, expectLayout, structs } from '../abi/testdata/btf.js';
import { bpfObjectPath } from '../paths.js';
import { native } from '../native.js';
import { SEL_LAYOUTS } from '../syscall/layout.js';
import { LSM, LSM_COUNTER_COUNT, LSM_HOOK_MAX, LSM_LAYOUTS, LsmActionTaken, LsmCounter, LsmHookId, LsmSrc, MSG_OP_LSM } from './layout.js';
import { lsmProgram, LSM_EXEC_PROGRAMS } from './backend.js';

const checker = bpfObjectPath('lsm_alignchecker');
const program = bpfObjectPath('lsm');

describe.skipIf(!existsSync(checker) || !existsSync(program))('bpf_lsm backend ABI layouts', () => {
  const all = structs(btf(checker));
  const progTypes = btf(program);
  const inProg = structs(progTypes);

  for (const [name, layout] of Object.entries(LSM_LAYOUTS)) {
    it(`${name} matches the BTF of lsm_alignchecker.o`, () => expectLayout(all.get(name), name, layout));
  }

  it('the structs lsm.o carries match too, the selector engine\'s included', () => {
    const carried = Object.entries(LSM_LAYOUTS).filter(([name]) => inProg.has(name));
    expect(carried.map(([n]) => n)).toEqual(expect.arrayContaining(['msg_lsm', 'lsm_hook', 'lsm_chain']));
    for (const [name, layout] of carried) expectLayout(inProg.get(name), name, layout);
    for (const name of ['sel_hook', 'sel_strbuf', 'sel_exe', 'sel_conf'] as const) expectLayout(inProg.get(name), name, SEL_LAYOUTS[name]);
  });

  it('enums: opcode, hooks, sources, actions, counters', () => {
    const enums = new Map<string, Map<string, number>>(
      btf(checker).filter((t) => t.kind === 'ENUM').map((t) => [t.name, new Map((t.values ?? []).map((v) => [v.name, v.val]))]),
    );
    const pick = (e: string, prefix: string): Record<string, number> =>
      Object.fromEntries([...(enums.get(e) ?? new Map<string, number>())].map(([k, v]) => [k.slice(prefix.length), v]));
    expect(pick('lsm_msg_op', '')).toEqual({ MSG_OP_LSM });
    const hooks = pick('lsm_hook_id', 'LSM_HOOK_');
    expect(hooks['MAX']).toBe(LSM_HOOK_MAX);
    expect(Object.fromEntries(Object.entries(hooks).filter(([k]) => k !== 'MAX').map(([k, v]) => [k.toLowerCase(), v]))).toEqual(LsmHookId);
    expect(pick('lsm_src', 'LSM_SRC_')).toEqual(LsmSrc);
    expect(pick('lsm_action_taken', 'LSM_ACT_')).toEqual(LsmActionTaken);
    const counters = pick('lsm_counter', 'LSM_CNT_');
    expect(counters['MAX']).toBe(LSM_COUNTER_COUNT);
    expect(Object.values(counters).slice(0, -1)).toEqual(Object.values(LsmCounter));
  });

  it('constants: the limits the programs were built with', () => {
    const src = readFileSync(new URL('../../../../bpf/lib/lsm_msg.h', import.meta.url), 'utf8');
    expect(Number(/#define LSM_MAX_CHAIN\s+(\d+)/.exec(src)![1])).toBe(LSM.MAX_CHAIN);
  });

  it('one program per LSM hook, at lsm/<hook>, and the executable bookkeeping', () => {
    const obj = new (native().BpfObject)(program);
    try {
      const sections = new Map(obj.programs().map((p) => [p.name, p.section]));
      for (const h of Object.keys(LsmHookId)) expect(sections.get(lsmProgram(h as keyof typeof LsmHookId)), h).toBe(`lsm/${h}`);
      for (const p of LSM_EXEC_PROGRAMS) expect(sections.get(p)).toMatch(/^tp_btf\/sched_process_/);
      expect(sections.size).toBe(Object.keys(LsmHookId).length + LSM_EXEC_PROGRAMS.length);
    } finally {
      obj.close();
    }
  });
});
