// Every BPF program Peregrine ships, loaded alone (as a backend loads it) on the running kernel: it must
// load wherever the agent's probe says its program type works, and be refused where the probe says it
// does not (the probe must not promise what the kernel refuses). In the kernel matrix's VMs
// (scripts/vm/matrix.sh sets PEREGRINE_VM_KERNEL) the probe must also find what Debian's 5.10, 6.1 and
// 6.12 kernels offer and the development kernel refuses: kprobes, fentry, fmod_ret and BPF LSM.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { native } from '../../packages/collector/src/native.js';
import { ROOT, canRunBpf } from '../helpers/agent.js';
import { kernelFeatures } from '../helpers/kernel.js';

const DIR = join(ROOT, 'bpf/.output');
// features.o is the probe itself; the alignchecker objects only carry BTF layouts.
const objects = canRunBpf() ? readdirSync(DIR).filter((f) => f.endsWith('.o') && f !== 'features.o' && !f.includes('alignchecker')).sort() : [];

/**
 * Features whose absence shows only when attaching (a kernel without CONFIG_KPROBES still loads a
 * kprobe program): there the test asserts loading where available, not refusal where not.
 */
const DECIDED_AT_ATTACH = new Set(['kprobe', 'kretprobe']);

/** The probe feature a program's section needs. */
const FEATURE_OF: [RegExp, string][] = [
  [/^lsm(\.s)?\//, 'bpf_lsm'],
  [/^fentry\//, 'fentry'],
  [/^fexit\//, 'fexit'],
  [/^fmod_ret\//, 'fmod_ret'],
  [/^kprobe\//, 'kprobe'],
  [/^kretprobe\//, 'kretprobe'],
  [/^tp_btf\//, 'tp_btf'],
  [/^raw_tp\/|^raw_tracepoint\//, 'raw_tracepoint'],
  [/^tracepoint\/syscalls\//, 'syscall_tracepoint'],
  [/^tracepoint(\/|$)/, 'tracepoint'], // bare SEC("tracepoint"): generic_tp.o, attached per event at run time
  [/^cgroup\/(connect|sendmsg|bind)/, 'cgroup_sock_addr'],
  [/^iter\//, 'task_iter'],
  [/^u(ret)?probe/, 'uprobe'],
];

const programs = objects.flatMap((o) => {
  const obj = new (native().BpfObject)(join(DIR, o));
  try {
    return obj.programs().map((p) => ({ object: o, name: p.name, section: p.section, feature: FEATURE_OF.find(([re]) => re.test(p.section))?.[1] }));
  } finally {
    obj.close();
  }
});

describe.skipIf(!canRunBpf())('BPF programs on this kernel', () => {
  it('every program has a section the probe knows', () => {
    expect(programs.length).toBeGreaterThan(20);
    expect(programs.filter((p) => !p.feature).map((p) => `${p.object} ${p.name} (${p.section})`)).toEqual([]);
  });

  it.each(programs.map((p) => [`${p.object} ${p.name} (${p.section})`, p] as const))('%s loads where the probe says it can', (_, p) => {
    const available = kernelFeatures().has(p.feature ?? '');
    const obj = new (native().BpfObject)(join(DIR, p.object));
    try {
      for (const q of obj.programs()) obj.setAutoload(q.name, q.name === p.name);
      let error: (Error & { log?: string }) | null = null;
      try {
        obj.load();
      } catch (e) {
        error = e as Error & { log?: string };
      }
      if (available) expect(error, `${error?.message}\n${String(error?.log ?? '').split('\n').slice(-30).join('\n')}`).toBeNull();
      else if (!DECIDED_AT_ATTACH.has(p.feature ?? '')) expect(error, `the probe says ${p.feature} is not available, yet ${p.name} loaded`).not.toBeNull();
    } finally {
      obj.close();
    }
  });

  it.runIf(process.env.PEREGRINE_VM_KERNEL)(`the probe finds kprobes, fentry, fmod_ret and BPF LSM on the matrix kernel ${process.env.PEREGRINE_VM_KERNEL ?? ''}`, () => {
    const f = kernelFeatures();
    for (const name of ['kprobe', 'kretprobe', 'fentry', 'fexit', 'fmod_ret', 'bpf_lsm', 'tp_btf', 'cgroup_sock_addr', 'fanotify_exec_perm', 'fanotify_open_perm', 'ringbuf']) {
      expect(f.has(name), `feature ${name} (probe found: ${[...f].join(' ')})`).toBe(true);
    }
  });
});
