// The tp_btf adapter: a raw tracepoints entry compiles to a kfunc hook on a tp_btf site (arguments from
// BTF, here a stand-in), and its records come back as PolicyReports in Tetragon's argument shapes.
import { describe, expect, it } from 'vitest';
import type { kfunc } from '@peregrine/collector';
import type { TracepointSpec } from '@peregrine/policy';
import { CompileError, type PolicyReport } from '../adapter.js';
import { SharedKfunc } from './kfunc.js';
import { RawTracepointAdapter } from './rawtp.js';

const btf: kfunc.KernelBtf = {
  rawTracepoint: (e) => (e === 'sched_process_exec'
    ? [
      { decl: 'struct task_struct *', shape: { kind: 'pointer', to: 'struct task_struct', struct: 'task_struct', byte: false } },
      { decl: 'pid_t', shape: { kind: 'int', size: 4, signed: true } },
      { decl: 'struct linux_binprm *', shape: { kind: 'pointer', to: 'struct linux_binprm', struct: 'linux_binprm', byte: false } },
    ]
    : null),
};
const spec = (args: TracepointSpec['args']): TracepointSpec => ({ subsystem: 'sched', event: 'sched_process_exec', raw: true, args } as TracepointSpec);

describe('RawTracepointAdapter', () => {
  it('compiles to a tp_btf site and reports linux_binprm_arg / int_arg with labels', () => {
    const a = new RawTracepointAdapter(new SharedKfunc(), btf);
    const [hook] = a.compile({ ruleId: 9, policy: 'p', path: 'spec.tracepoints[0]', kind: 'tracepoints', mode: 'enforce',
      spec: spec([{ index: 2, type: 'linux_binprm', label: 'bprm' }, { index: 1, type: 'int', label: 'old_pid' }]) }) as kfunc.KfuncHook[];
    expect(hook).toMatchObject({ id: 9, kind: 'tp_btf', func: 'sched_process_exec', call: 'sched/sched_process_exec' });
    const out: PolicyReport[] = [];
    a.onReports = (r) => out.push(...r);
    a.deliver([{
      hookId: 9, selector: 0, tgid: 42, ktime: 5n, action: 'sigkill', monitor: false, ret: null,
      args: [{ index: 2, kind: 'path', type: 'linux_binprm', path: '/tmp/x', truncated: false, fault: false }, { index: 1, kind: 'int', value: 42n }],
    } as unknown as kfunc.KfuncReport]);
    expect(out).toEqual([{
      ruleId: 9, selector: 0, pid: 42, ktimeNs: 5n, action: 'Sigkill', monitor: false,
      args: [{ linux_binprm_arg: { path: '/tmp/x' }, label: 'bprm' }, { int_arg: 42, label: 'old_pid' }],
    }]);
  });

  it('turns compile errors into CompileError issues with the hook path', () => {
    const a = new RawTracepointAdapter(new SharedKfunc(), btf);
    expect(() => a.compile({ ruleId: 1, policy: 'p', path: 'spec.tracepoints[3]', kind: 'tracepoints', mode: 'enforce', spec: spec([{ index: 0, type: 'file' }]) }))
      .toThrow(CompileError);
    try {
      a.compile({ ruleId: 1, policy: 'p', path: 'spec.tracepoints[3]', kind: 'tracepoints', mode: 'enforce', spec: spec([{ index: 0, type: 'file' }]) });
    } catch (e) {
      expect((e as CompileError).issues).toEqual([
        { path: 'spec.tracepoints[3].args[0].type', message: "argument 0 of raw tracepoint sched/sched_process_exec is 'struct task_struct *': file reads a 'struct file *'" },
      ]);
    }
  });
});
