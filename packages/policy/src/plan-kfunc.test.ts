// The planner for kprobes on kernel functions (the kfunc backend): fentry first, kprobe second; Override
// only through fmod_ret; on a kernel without any of them (the development hosts), refusals that name
// what is missing and what would work instead.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePolicies } from './load.js';
import { planPolicy, type Backend } from './plan.js';

const policy = (body: string) =>
  parsePolicies(`apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: p}\nspec:\n  kprobes:\n${body}`, 'x')[0]!;
const here = new Set(['tracepoint', 'syscall_tracepoint', 'tp_btf', 'cgroup_sock_addr', 'fanotify_exec_perm', 'fanotify_open_perm']);
const vm = new Set([...here, 'kprobe', 'fentry', 'fmod_ret', 'bpf_lsm']);
const all = new Set<Backend>(['bpf_lsm', 'fmod_ret', 'kprobe', 'fentry', 'fanotify_exec', 'fanotify_open', 'cgroup_connect', 'syscall_tracepoint', 'tracepoint', 'tp_btf']);

const observe = policy('  - call: security_file_open\n    args: [{index: 0, type: file}]\n    selectors: [{matchArgs: [{index: 0, operator: Prefix, values: [/etc/]}], matchActions: [{action: Sigkill}]}]\n');
const override = policy('  - call: security_file_open\n    args: [{index: 0, type: file}]\n    selectors: [{matchArgs: [{index: 0, operator: Prefix, values: [/etc/]}], matchActions: [{action: Override, argError: -1}]}]\n');
const sysOverride = policy('  - call: sys_openat\n    syscall: true\n    args: [{index: 1, type: string}]\n    selectors: [{matchArgs: [{index: 1, operator: Prefix, values: [/etc/]}], matchActions: [{action: Override, argError: -1}]}]\n');

describe('planner: kprobes on kernel functions', () => {
  it('prefers fentry, then kprobe', () => {
    expect(planPolicy(observe, vm, all).hooks[0]?.backend).toBe('fentry');
    expect(planPolicy(observe, new Set([...here, 'kprobe']), all).hooks[0]?.backend).toBe('kprobe');
  });

  it('plans Override on fmod_ret, for kernel functions and for syscalls', () => {
    expect(planPolicy(override, vm, all).hooks[0]?.backend).toBe('fmod_ret');
    expect(planPolicy(sysOverride, vm, all).hooks[0]?.backend).toBe('fmod_ret');
  });

  it('refuses Override where fmod_ret does not load, even with kprobes (observe-only), naming the rule and the alternatives', () => {
    const plan = planPolicy(override, new Set([...here, 'kprobe', 'fentry']), all);
    expect(plan.hooks).toEqual([]);
    expect(plan.errors[0]?.path).toBe('spec.kprobes[0]');
    expect(plan.errors[0]?.message).toMatch(/fmod_ret program: not available.*security_\* hook or an ALLOW_ERROR_INJECTION function.*lsmhooks/);
  });

  it('on this kind of host: a syscall Override names fmod_ret and the lsmhooks alternatives', () => {
    const plan = planPolicy(sysOverride, here, all);
    expect(plan.errors[0]?.message).toMatch(/kprobes sys_openat \(syscall openat\) cannot be provided on this kernel: fmod_ret program: not available.*lsmhooks bprm_check_security, file_open or socket_connect \(BPF LSM, or fanotify and cgroup programs/);
  });

  it.each([
    ['tcp-connect.yaml', 'fentry'],
    ['deny-ssh-keys-read.yaml', 'fmod_ret'],
  ])('example %s → %s where the kernel has it, refused here', (f, vmBackend) => {
    const p = parsePolicies(readFileSync(new URL(`../../../examples/policies/${f}`, import.meta.url), 'utf8'), f)[0]!;
    expect(planPolicy(p, vm, all).hooks[0]?.backend).toBe(vmBackend);
    expect(planPolicy(p, here, all).errors[0]?.path).toBe('spec.kprobes[0]');
  });
});

describe('planner: raw tracepoints', () => {
  const tps = (body: string) =>
    parsePolicies(`apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: p}\nspec:\n  tracepoints:\n${body}`, 'x')[0]!;
  const raw = tps('  - {subsystem: sched, event: sched_process_exec, raw: true, args: [{index: 2, type: linux_binprm}], selectors: [{matchArgs: [{index: 2, operator: Prefix, values: [/tmp/]}], matchActions: [{action: Sigkill}]}]}\n');

  it('raw: true → tp_btf wherever typed raw tracepoints load (this kind of host too); without raw: the tracepoint backend', () => {
    expect(planPolicy(raw, here, all).hooks).toEqual([expect.objectContaining({ path: 'spec.tracepoints[0]', hook: 'tracepoints sched/sched_process_exec (raw)', backend: 'tp_btf' })]);
    expect(planPolicy(raw, vm, all).hooks[0]?.backend).toBe('tp_btf');
    expect(planPolicy(tps('  - {subsystem: sched, event: sched_process_exec}\n'), here, all).hooks[0]?.backend).toBe('tracepoint');
  });

  it('refused on a kernel without tp_btf (no BTF), naming the feature and the alternative', () => {
    const plan = planPolicy(raw, new Set([...here].filter((f) => f !== 'tp_btf')), all);
    expect(plan.hooks).toEqual([]);
    expect(plan.errors).toEqual([{
      path: 'spec.tracepoints[0]',
      message: expect.stringMatching(/^tracepoints sched\/sched_process_exec \(raw\) cannot be provided on this kernel: .*tp_btf.*not available on this kernel \(feature tp_btf\)\. .*omit raw: to read the format-file fields/),
    }]);
  });
});
