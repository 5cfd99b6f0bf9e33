import { describe, expect, it } from 'vitest';
import { createAdapters } from './adapters.js';
import { formatHookMapping, hookMapping } from './mapping.js';

const implemented = new Set(createAdapters({ cgroup2Root: null }).map((a) => a.backend));
const HOST = new Set(['tracepoint', 'syscall_tracepoint', 'tp_btf', 'cgroup_sock_addr', 'fanotify_exec_perm', 'fanotify_open_perm', 'bpf_send_signal', 'ringbuf']);
const FULL = new Set([...HOST, 'kprobe', 'kretprobe', 'fentry', 'fexit', 'fmod_ret', 'bpf_lsm']);
const backends = (available: Set<string>) => hookMapping(available, implemented).map((r) => r.backend);

describe('hook → backend mapping (./peregrine probe)', () => {
  it('a kernel without BPF LSM, kprobes and trampolines: fanotify, cgroup, syscall and tracepoint programs; the rest refused', () => {
    expect(backends(HOST)).toEqual(['fanotify_exec', 'fanotify_open', 'cgroup_connect', null, 'syscall_tracepoint', null, null, null, 'tracepoint', 'tp_btf']);
    const text = formatHookMapping(hookMapping(HOST, implemented));
    expect(text).toMatch(/kprobes on a kernel function +✘ kprobes tcp_connect cannot be provided on this kernel: .*feature fentry.*feature kprobe/);
    expect(text).toMatch(/lsmhooks path_unlink .*✘ .*feature bpf_lsm/);
  });

  it('a kernel with everything: BPF LSM for LSM hooks, fentry for kernel functions, fmod_ret for their Override', () => {
    expect(backends(FULL)).toEqual(['bpf_lsm', 'bpf_lsm', 'bpf_lsm', 'bpf_lsm', 'syscall_tracepoint', 'fmod_ret', 'fentry', 'fmod_ret', 'tracepoint', 'tp_btf']);
  });

  it('a kernel without typed raw tracepoints (no BTF): raw tracepoints refused, naming tp_btf and the alternative', () => {
    const rows = hookMapping(new Set([...HOST].filter((f) => f !== 'tp_btf')), implemented);
    expect(rows.map((r) => r.backend).at(-1)).toBeNull();
    expect(formatHookMapping(rows)).toMatch(/tracepoints raw: true .*✘ .*feature tp_btf.*omit raw:/);
    expect(formatHookMapping(hookMapping(HOST, implemented))).toMatch(/tracepoints raw: true \(TP_PROTO arguments, \+ Sigkill\) +→ tp_btf: a typed raw tracepoint program/);
  });
});
