// Reason wording for failures, from synthetic addon errors (no kernel needed).
import { describe, expect, it } from 'vitest';
import type { ProbeContext } from './environment.js';
import { explainFailure, verifierLog } from './explain.js';
import { parseKernelConfig } from './kernel-config.js';
import { PROGRAM_FEATURES } from './programs.js';

const ctx: ProbeContext = {
  root: true,
  btf: true,
  tracefs: true,
  cgroup2: '/sys/fs/cgroup',
  lsms: ['lockdown', 'capability', 'bpf'],
  lsmUnknownReason: '',
  libc: '/usr/lib/x86_64-linux-gnu/libc.so.6',
  config: parseKernelConfig('# CONFIG_KPROBES is not set\nCONFIG_BPF_LSM=y\n'),
  ftraceRefused: false,
};

function nativeError(operation: string, message: string, code: string, errno: number, log = ''): Error {
  return Object.assign(new Error(message), { operation, code, errno, log });
}

const feature = (name: string) => {
  const f = PROGRAM_FEATURES.find((x) => x.name === name);
  if (!f) throw new Error(name);
  return f;
};

describe('explainFailure', () => {
  it('kprobe attach ENOENT on a kernel without CONFIG_KPROBES', () => {
    const e = nativeError('attach', "attach prog 'feat_kprobe': No such file or directory", 'ENOENT', 2);
    expect(explainFailure(feature('kprobe'), e, ctx)).toBe('attach failed with ENOENT (kernel built without CONFIG_KPROBES)');
  });

  it('fentry refused with EPERM and a silent verifier', () => {
    const e = nativeError('load', "load prog 'feat_fentry': Operation not permitted", 'EPERM', 1);
    expect(explainFailure(feature('fentry'), e, ctx)).toBe('BPF_PROG_LOAD refused with EPERM (trampolines disabled on this kernel)');
    expect(explainFailure(feature('fentry'), e, { ...ctx, ftraceRefused: true })).toMatch(/ftrace function tracing is refused too\)$/);
  });

  it('EPERM without root says so', () => {
    const e = nativeError('load', "load prog 'feat_tracepoint': Operation not permitted", 'EPERM', 1);
    expect(explainFailure(feature('tracepoint'), e, { ...ctx, root: false })).toMatch(/needs root/);
  });

  it('quotes the verifier when it spoke', () => {
    const log = "libbpf: prog 'x': BPF program load failed: Permission denied\n-- BEGIN PROG LOAD LOG --\n0: R1=ctx\ninvalid mem access 'scalar'\n-- END PROG LOAD LOG --\n";
    expect(verifierLog(log)).toBe("0: R1=ctx\ninvalid mem access 'scalar'");
    const e = nativeError('load', "load prog 'feat_tp_btf': Permission denied", 'EACCES', 13, log);
    expect(explainFailure(feature('tp_btf'), e, ctx)).toBe("BPF_PROG_LOAD refused with EACCES (the verifier said: invalid mem access 'scalar')");
  });

  it('tracepoints without tracefs, ring buffer maps on old kernels, unknown errors', () => {
    const enoent = nativeError('attach', "attach prog 'feat_tracepoint': No such file or directory", 'ENOENT', 2);
    expect(explainFailure(feature('tracepoint'), enoent, { ...ctx, tracefs: false })).toMatch(/tracefs is not mounted/);
    const map = nativeError('load', "create map 'feat_rb': Invalid argument", 'EINVAL', 22);
    expect(explainFailure(feature('ringbuf'), map, ctx)).toBe('map creation failed with EINVAL (ring buffer maps need Linux 5.8 or later)');
    const busy = nativeError('attachCgroup', "attach prog 'feat_cgroup_connect4' to cgroup '/x': Device or resource busy", 'EBUSY', 16);
    expect(explainFailure(feature('cgroup_sock_addr'), busy, ctx)).toBe('attach failed with EBUSY (Device or resource busy)');
    expect(explainFailure(feature('ringbuf'), new Error('boom'), ctx)).toBe('boom');
  });
});
