// One entry per BPF mechanism: which program of bpf/probe/features.bpf.c exercises it and how.
// exercise() runs after a successful load, attaches, proves what it can, detaches, and returns the
// verdict; a native error thrown from it is explained by explain.ts.
import type { BpfObject } from './addon.js';
import { loadNative } from './addon.js';
import type { ProbeContext } from './environment.js';

/** Groups mechanisms that fail for the same reasons (see explain.ts). */
export type Family =
  | 'tracepoint'
  | 'syscall_tracepoint'
  | 'raw_tracepoint'
  | 'tp_btf'
  | 'kprobe'
  | 'trampoline'
  | 'lsm'
  | 'uprobe'
  | 'cgroup'
  | 'iter'
  | 'helper'
  | 'ringbuf';

export interface Verdict {
  available: boolean;
  detail: string;
}

export interface ProgramFeature {
  name: string;
  /** Program name in features.bpf.c. */
  prog: string;
  family: Family;
  /** Set when the mechanism cannot be tried at all here (returns the reason). */
  unusable?(ctx: ProbeContext): string | null;
  exercise(obj: BpfObject, prog: string, section: string, ctx: ProbeContext): Verdict;
}

function attachDetach(obj: BpfObject, prog: string, section: string): Verdict {
  obj.attach(prog).destroy();
  return { available: true, detail: `loaded, attached at ${section}, detached` };
}

function lsmVerdict(obj: BpfObject, prog: string, section: string, ctx: ProbeContext): Verdict {
  obj.attach(prog).destroy();
  // An attached LSM program only runs if "bpf" is among the kernel's active LSMs (lsm= boot option).
  if (ctx.lsms === null) {
    return { available: false, detail: `loaded and attached, but whether the bpf LSM is active is unknown (${ctx.lsmUnknownReason})` };
  }
  if (!ctx.lsms.includes('bpf')) {
    return {
      available: false,
      detail: `loaded and attached, but the bpf LSM is not active (lsm=${ctx.lsms.join(',')}), so it would never run: boot with "bpf" in lsm=`,
    };
  }
  return { available: true, detail: `loaded, attached at ${section}, detached; bpf is an active LSM (${ctx.lsms.join(',')})` };
}

export const PROGRAM_FEATURES: readonly ProgramFeature[] = [
  { name: 'tracepoint', prog: 'feat_tracepoint', family: 'tracepoint', exercise: attachDetach },
  { name: 'syscall_tracepoint', prog: 'feat_syscall_tp', family: 'syscall_tracepoint', exercise: attachDetach },
  { name: 'raw_tracepoint', prog: 'feat_raw_tp', family: 'raw_tracepoint', exercise: attachDetach },
  { name: 'tp_btf', prog: 'feat_tp_btf', family: 'tp_btf', exercise: attachDetach },
  { name: 'kprobe', prog: 'feat_kprobe', family: 'kprobe', exercise: attachDetach },
  { name: 'kretprobe', prog: 'feat_kretprobe', family: 'kprobe', exercise: attachDetach },
  { name: 'fentry', prog: 'feat_fentry', family: 'trampoline', exercise: attachDetach },
  { name: 'fexit', prog: 'feat_fexit', family: 'trampoline', exercise: attachDetach },
  { name: 'fmod_ret', prog: 'feat_fmod_ret', family: 'trampoline', exercise: attachDetach },
  { name: 'bpf_lsm', prog: 'feat_lsm', family: 'lsm', exercise: lsmVerdict },
  {
    name: 'uprobe',
    prog: 'feat_uprobe',
    family: 'uprobe',
    unusable: (ctx) => (ctx.libc === null ? 'no libc is mapped into this process (read from /proc/self/maps)' : null),
    exercise(obj, prog, _section, ctx) {
      const binaryPath = ctx.libc ?? '';
      obj.attachUprobe(prog, { binaryPath, funcName: 'getpid' }).destroy();
      return { available: true, detail: `loaded, attached to getpid in ${binaryPath}, detached` };
    },
  },
  {
    name: 'cgroup_sock_addr',
    prog: 'feat_cgroup_connect4',
    family: 'cgroup',
    unusable: (ctx) => (ctx.cgroup2 === null ? 'no cgroup2 filesystem is mounted' : null),
    exercise(obj, prog, section, ctx) {
      const root = ctx.cgroup2 ?? '';
      obj.attachCgroup(prog, root).destroy(); // allows everything while attached (returns 1)
      return { available: true, detail: `loaded, attached ${section} to ${root}, detached` };
    },
  },
  {
    name: 'task_iter',
    prog: 'feat_task_iter',
    family: 'iter',
    exercise(obj, prog) {
      const out = obj.iterRead(prog);
      if (out.length === 0) return { available: false, detail: 'the task iterator ran but produced no output' };
      return { available: true, detail: `loaded, read ${out.toString('utf8').split('\n').length - 1} tasks through the iterator` };
    },
  },
  {
    name: 'bpf_send_signal',
    prog: 'feat_send_signal',
    family: 'helper',
    exercise: () => ({ available: true, detail: 'a tracepoint program calling bpf_send_signal loaded (not attached)' }),
  },
  {
    name: 'ringbuf',
    prog: 'feat_ringbuf',
    family: 'ringbuf',
    exercise(obj) {
      new (loadNative().RingReader)(obj, 'feat_rb', () => {}).stop();
      return { available: true, detail: 'ring buffer map created, a program using it loaded, and the reader mapped it' };
    },
  },
];
