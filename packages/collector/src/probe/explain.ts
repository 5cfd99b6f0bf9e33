// Turns a failed load/attach into plain words: what failed, with which errno, and the most likely
// reason given what the probe established about this machine.
import { existsSync } from 'node:fs';
import { isNativeError, type NativeError } from './addon.js';
import type { ProbeContext } from './environment.js';
import { builtWithout } from './kernel-config.js';
import type { ProgramFeature } from './programs.js';

/** The verifier's own output, between libbpf's BEGIN/END markers; empty when the kernel said nothing. */
export function verifierLog(log: string): string {
  const m = /-- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/.exec(log);
  return m?.[1]?.trim() ?? '';
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

/** "Operation not permitted" from "load prog 'x': Operation not permitted (…)". */
function errnoText(err: NativeError): string {
  return /: ([^:]+?)(?: \([^)]*\))?$/.exec(err.message)?.[1] ?? err.code;
}

function what(err: NativeError): string {
  switch (err.operation) {
    case 'open':
      return `opening the probe object failed with ${err.code}`;
    case 'load':
      return err.message.startsWith('create map') ? `map creation failed with ${err.code}` : `BPF_PROG_LOAD refused with ${err.code}`;
    case 'attach':
    case 'attachCgroup':
    case 'attachUprobe':
      return `attach failed with ${err.code}`;
    case 'iterRead':
      return `running the iterator failed with ${err.code}`;
    case 'RingReader':
      return `mapping the ring buffer failed with ${err.code}`;
    default:
      return `${err.operation} failed with ${err.code}`;
  }
}

function loadReason(f: ProgramFeature, err: NativeError, ctx: ProbeContext): string | null {
  if (err.message.startsWith('create map')) {
    return f.family === 'ringbuf' || err.message.includes('feat_rb') ? 'ring buffer maps need Linux 5.8 or later' : null;
  }
  const verifier = verifierLog(err.log);
  if (verifier !== '') return `the verifier said: ${lastLine(verifier)}`;
  if (f.family === 'tp_btf' && !ctx.btf) return 'typed tracepoints need kernel BTF';
  if (f.family === 'lsm' && builtWithout(ctx.config, 'CONFIG_BPF_LSM')) return 'kernel built without CONFIG_BPF_LSM';
  if (f.family === 'trampoline' || f.family === 'lsm') {
    if (/failed to find kernel BTF type ID/.test(err.log) || err.code === 'ESRCH') return 'the attach target is not in the kernel BTF';
    if (err.code === 'EPERM') {
      // Root, other programs load, and the verifier stays silent: the kernel refuses trampolines.
      return `trampolines disabled on this kernel${ctx.ftraceRefused ? '; ftrace function tracing is refused too' : ''}`;
    }
    if (err.code === 'ENOTSUPP' || err.code === 'EOPNOTSUPP') return 'this kernel or architecture has no BPF trampolines';
  }
  if (err.code === 'EINVAL') return 'this kernel does not know the program type or helper (too old?)';
  return null;
}

function attachReason(f: ProgramFeature, err: NativeError, ctx: ProbeContext): string | null {
  if (err.code !== 'ENOENT') return null;
  switch (f.family) {
    case 'kprobe': {
      if (builtWithout(ctx.config, 'CONFIG_KPROBES')) return 'kernel built without CONFIG_KPROBES';
      const pmu = existsSync('/sys/bus/event_source/devices/kprobe');
      const events = existsSync('/sys/kernel/tracing/kprobe_events') || existsSync('/sys/kernel/debug/tracing/kprobe_events');
      if (!pmu && !events) return ctx.tracefs ? 'neither a kprobe PMU nor kprobe_events exists: no kprobe support in this kernel' : 'no kprobe PMU, and tracefs is not mounted';
      return 'the function cannot be probed';
    }
    case 'tracepoint':
    case 'syscall_tracepoint':
      if (!ctx.tracefs) return 'tracefs is not mounted, so libbpf cannot look up tracepoint ids';
      if (f.family === 'syscall_tracepoint' && builtWithout(ctx.config, 'CONFIG_FTRACE_SYSCALLS')) return 'kernel built without CONFIG_FTRACE_SYSCALLS';
      return 'no such tracepoint on this kernel';
    case 'uprobe':
      if (!existsSync('/sys/bus/event_source/devices/uprobe')) {
        return builtWithout(ctx.config, 'CONFIG_UPROBE_EVENTS') ? 'kernel built without CONFIG_UPROBE_EVENTS' : 'no uprobe PMU in this kernel';
      }
      return `getpid not found in ${ctx.libc ?? 'libc'}`;
    default:
      return null;
  }
}

export function explainFailure(f: ProgramFeature, err: unknown, ctx: ProbeContext): string {
  if (!isNativeError(err)) return err instanceof Error ? err.message : String(err);
  let why: string | null = null;
  if ((err.code === 'EPERM' || err.code === 'EACCES') && !ctx.root) why = 'needs root, or CAP_BPF with CAP_PERFMON';
  else if (err.operation === 'load') why = loadReason(f, err, ctx);
  else if (err.operation.startsWith('attach')) why = attachReason(f, err, ctx);
  return `${what(err)} (${why ?? errnoText(err)})`;
}
