// The alignchecker for the kfunc backend: KF_LAYOUTS must equal the BTF of kf_alignchecker.o (every
// struct of kf_msg.h) and of kfunc.o (the structs the programs use); the enums and limits must be the
// ones the programs were built with; kfunc.o must have every program copy of every site.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { btf, expectLayout, structs } from '../abi/testdata/btf.js';
import { bpfObjectPath } from '../paths.js';
import { native } from '../native.js';
import { SEL_LAYOUTS } from '../syscall/layout.js';
import { KF, KF_COUNTER_COUNT, KF_LAYOUTS, KfActionTaken, KfCounter, KfKind, KfSrc, MSG_OP_KFUNC } from './layout.js';
import { KFUNC_EXEC_PROGRAMS, kfuncProgram } from './backend.js';

const checker = bpfObjectPath('kf_alignchecker');
const program = bpfObjectPath('kfunc');

describe.skipIf(!existsSync(checker) || !existsSync(program))('kfunc backend ABI layouts', () => {
  const all = structs(btf(checker));
  const inProg = structs(btf(program));

  for (const [name, layout] of Object.entries(KF_LAYOUTS)) {
    it(`${name} matches the BTF of kf_alignchecker.o`, () => expectLayout(all.get(name), name, layout));
  }

  it("the structs kfunc.o carries match too, the selector engine's included", () => {
    const carried = Object.entries(KF_LAYOUTS).filter(([name]) => inProg.has(name));
    expect(carried.map(([n]) => n)).toEqual(expect.arrayContaining(['msg_kfunc', 'kf_hook', 'kf_site', 'kf_pending_key']));
    for (const [name, layout] of carried) expectLayout(inProg.get(name), name, layout);
    for (const name of ['sel_hook', 'sel_strbuf', 'sel_exe', 'sel_conf'] as const) expectLayout(inProg.get(name), name, SEL_LAYOUTS[name]);
  });

  it('enums: opcode, sources, kinds, actions, counters', () => {
    const enums = new Map<string, Map<string, number>>(
      btf(checker).filter((t) => t.kind === 'ENUM').map((t) => [t.name, new Map((t.values ?? []).map((v) => [v.name, v.val]))]),
    );
    const pick = (e: string, prefix: string): Record<string, number> =>
      Object.fromEntries([...(enums.get(e) ?? new Map<string, number>())].map(([k, v]) => [k.slice(prefix.length), v]));
    expect(pick('kf_msg_op', '')).toEqual({ MSG_OP_KFUNC });
    expect(pick('kf_src', 'KF_SRC_')).toEqual(KfSrc);
    expect(Object.fromEntries(Object.entries(pick('kf_kind', 'KF_KIND_')).map(([k, v]) => [k.toLowerCase(), v]))).toEqual(KfKind);
    expect(pick('kf_action_taken', 'KF_ACT_')).toEqual(KfActionTaken);
    const counters = pick('kf_counter', 'KF_CNT_');
    expect(counters['MAX']).toBe(KF_COUNTER_COUNT);
    expect(Object.values(counters).slice(0, -1)).toEqual(Object.values(KfCounter));
  });

  it('constants: the limits the programs were built with', () => {
    const src = readFileSync(new URL('../../../../bpf/lib/kf_msg.h', import.meta.url), 'utf8');
    expect(Number(/#define KF_MAX_SITES\s+(\d+)/.exec(src)![1])).toBe(KF.MAX_SITES);
    expect(Number(/#define KF_MAX_CHAIN\s+(\d+)/.exec(src)![1])).toBe(KF.MAX_CHAIN);
  });

  it('every site has its fentry, kprobe, kretprobe, fmod_ret, syscall and tp_btf copies, plus the executable bookkeeping', () => {
    const obj = new (native().BpfObject)(program);
    try {
      const sections = new Map(obj.programs().map((p) => [p.name, p.section]));
      for (let s = 0; s < KF.MAX_SITES; s++) {
        expect(sections.get(kfuncProgram('fentry', s))).toMatch(/^fentry\//);
        expect(sections.get(kfuncProgram('kprobe', s))).toMatch(/^kprobe\//);
        expect(sections.get(kfuncProgram('kretprobe', s))).toMatch(/^kretprobe\//);
        expect(sections.get(kfuncProgram('fmod_ret', s))).toMatch(/^fmod_ret\/security_/);
        expect(sections.get(kfuncProgram('syscall', s))).toMatch(/^fmod_ret\//);
        expect(sections.get(kfuncProgram('tp_btf', s))).toMatch(/^tp_btf\//);
      }
      for (const p of KFUNC_EXEC_PROGRAMS) expect(sections.get(p)).toMatch(/^tp_btf\/sched_process_/);
      expect(sections.size).toBe(KF.MAX_SITES * 6 + KFUNC_EXEC_PROGRAMS.length);
    } finally {
      obj.close();
    }
  });
});
