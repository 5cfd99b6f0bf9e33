// compileRawTracepointHook: one TracingPolicy `tracepoints:` entry with `raw: true` → a KfuncHook on a
// tp_btf site, or a ConfigError naming every field it cannot honour.
//
// Tetragon's raw tracepoints: the program gets the tracepoint's TP_PROTO arguments, not the fields of its
// format file. `args[].index` counts those arguments from 0 (the hidden `void *__data` excluded) and the
// policy gives each one's type, as for a kernel function. The arguments are read from the kernel's BTF
// (typedef btf_trace_<event>: a pointer to the function prototype whose parameters they are); a tp_btf
// program's ctx is their u64 array, fentry's shape, so the hook is evaluated as a kprobe on a kernel
// function would be (compileKfuncBody: slots, selectors, actions). Tracepoints cannot fail anything:
// Override is refused.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type ConfigIssue } from '@peregrine/events';
import { SEL } from '../syscall/layout.js';
import { INT_ARG_TYPES } from '../syscall/types.js';
import { TRACING_ROOTS } from '../tracepoint/format.js';
import type { TracepointSpecInput } from '../tracepoint/compile.js';
import { liveKernelBtf, type BtfParam, type KernelBtf } from './btf.js';
import { compileKfuncBody } from './compile.js';
import type { KfuncHook } from './types.js';

export interface RawTracepointCompileOptions {
  /** Hook id (u32, unique among the hooks applied together). */
  id?: number;
  /** Prefixed to every issue path, e.g. `spec.tracepoints[0]`. */
  path?: string;
  procRoot?: string;
  /** The kernel's BTF (default: /sys/kernel/btf/vmlinux, read once). */
  btf?: KernelBtf & { available?(): boolean; whyUnavailable?(): string };
  /** Where to look for events/<subsystem>/<event> (to check the subsystem). */
  tracingRoots?: readonly string[];
}

/** The struct each kernel-object type reads, by name (`sockaddr`: any sockaddr_* starts with the family). */
const STRUCTS: Record<string, (s: string) => boolean> = {
  file: (s) => s === 'file',
  path: (s) => s === 'path',
  linux_binprm: (s) => s === 'linux_binprm',
  filename: (s) => s === 'filename',
  sock: (s) => s === 'sock',
  cred: (s) => s === 'cred',
  sockaddr: (s) => s === 'sockaddr' || s.startsWith('sockaddr_'),
};
const INT_TYPES = new Set<string>(INT_ARG_TYPES);

/** Why argument `p` cannot be read as `type`, or null (types compileKfuncBody does not know are its to refuse). */
function mismatch(type: string, p: BtfParam): string | null {
  const s = p.shape;
  if (INT_TYPES.has(type)) return s.kind === 'int' || s.kind === 'pointer' ? null : `it cannot be read as ${type}`;
  if (type === 'fd') return s.kind === 'int' ? null : 'fd reads an integer file descriptor';
  if (type === 'string') {
    if (s.kind === 'pointer' && s.byte) return null;
    return s.kind === 'pointer' ? `string reads a char *, not a pointer to ${s.to}` : 'string reads a char *';
  }
  if (type === 'char_buf') return s.kind === 'pointer' ? null : 'char_buf reads the bytes a pointer points to';
  const want = STRUCTS[type];
  if (!want) return null;
  if (s.kind === 'pointer' && s.struct !== undefined && want(s.struct)) return null;
  return `${type} reads a 'struct ${type} *'`;
}

/** The subsystems whose events/ directory has this event (tracefs), or null when no tracing root is readable. */
function subsystemsOf(event: string, roots: readonly string[]): string[] | null {
  for (const root of roots) {
    let subs: string[];
    try {
      subs = readdirSync(join(root, 'events'));
    } catch {
      continue;
    }
    return subs.filter((s) => existsSync(join(root, 'events', s, event)));
  }
  return null;
}

/** Compiles one raw tracepoints entry for the tp_btf backend; throws ConfigError with every problem found. */
export function compileRawTracepointHook(
  policyName: string,
  spec: TracepointSpecInput,
  mode: 'enforce' | 'monitor',
  opts: RawTracepointCompileOptions = {},
): KfuncHook {
  const issues: ConfigIssue[] = [];
  const base = opts.path ? `${opts.path}.` : '';
  const bad = (path: string, message: string): void => void issues.push({ path: base + path, message });
  const btf = opts.btf ?? liveKernelBtf();
  const roots = opts.tracingRoots ?? TRACING_ROOTS;
  const name = `${spec.subsystem}/${spec.event}`;
  const title = `tracepoint ${name} (raw)`;
  if (!spec.raw) bad('raw', 'the tp_btf backend takes raw tracepoints (raw: true); the tracepoint backend reads format-file fields');
  if (btf.available && !btf.available()) {
    bad('raw', `raw tracepoints need the kernel's BTF (typed TP_PROTO arguments): ${btf.whyUnavailable?.() ?? 'unavailable'}; omit raw: to read the format-file fields with the tracepoint backend`);
    return fail(policyName, title, issues);
  }
  const params = btf.rawTracepoint(spec.event);
  const subs = subsystemsOf(spec.event, roots);
  if (!params) {
    if (subs?.includes(spec.subsystem)) {
      // A trace event with no raw tracepoint of its own (syscalls/* are made from raw_syscalls/sys_enter and sys_exit).
      bad('raw', `${name} is a trace event without a raw tracepoint of its own (its BTF has no btf_trace_${spec.event}${spec.subsystem === 'syscalls' ? ': syscalls/* events are made from raw_syscalls/sys_enter and sys_exit' : ''}): omit raw: to read its format-file fields`);
    } else if (subs !== null && !roots.some((r) => existsSync(join(r, 'events', spec.subsystem)))) {
      bad('subsystem', `tracepoint subsystem '${spec.subsystem}' does not exist on this kernel (no events/${spec.subsystem} under ${roots.join(' or ')})`);
    } else {
      bad('event', `raw tracepoint ${name} does not exist on this kernel (its BTF has no btf_trace_${spec.event}): check the name (and the kernel version)`);
    }
    return fail(policyName, title, issues);
  }
  // Raw tracepoints are named by event alone; a subsystem that tracefs says is not the event's is a mistake.
  if (subs !== null && subs.length > 0 && !subs.includes(spec.subsystem)) {
    bad('subsystem', `${spec.event} is a tracepoint of subsystem ${subs.map((s) => `'${s}'`).join(', ')}, not '${spec.subsystem}'`);
  }

  const proto = params.map((p, i) => `${i}: ${p.decl}`).join(', ');
  (spec.args ?? []).forEach((a, i) => {
    const p = `args[${i}]`;
    const param = params[a.index];
    if (!param) {
      bad(`${p}.index`, `raw tracepoint ${name} has ${params.length} arguments (${proto || 'none'}; counted from 0 in TP_PROTO order): there is no argument ${a.index}`);
      return;
    }
    if (a.index >= SEL.MAX_ARGS) {
      bad(`${p}.index`, `argument ${a.index} ('${param.decl}') cannot be read: the tp_btf backend reads a raw tracepoint's first ${SEL.MAX_ARGS} arguments (0..${SEL.MAX_ARGS - 1})`);
      return;
    }
    if (a.returnCopy) bad(`${p}.returnCopy`, 'returnCopy is not supported by the tp_btf backend: a tracepoint has no return to read the buffer at');
    if (a.maxData) bad(`${p}.maxData`, 'maxData is not supported: strings and paths are reported up to 255 bytes');
    const why = mismatch(a.type, param);
    if (why) bad(`${p}.type`, `argument ${a.index} of raw tracepoint ${name} is '${param.decl}': ${why}`);
    const len = a.type === 'char_buf' && a.sizeArgIndex !== undefined && a.sizeArgIndex >= 1 ? a.sizeArgIndex - 1 : null;
    if (len !== null && len !== a.index && len < SEL.MAX_ARGS) {
      const lp = params[len];
      const counting = 'sizeArgIndex counts the arguments from 1';
      if (!lp) bad(`${p}.sizeArgIndex`, `sizeArgIndex ${len + 1} names argument ${len}, and ${name} has arguments 0..${params.length - 1} (${counting})`);
      else if (lp.shape.kind !== 'int') bad(`${p}.sizeArgIndex`, `sizeArgIndex ${len + 1} names argument ${len} '${lp.decl}', which is not an integer length (${counting})`);
    }
  });

  // Every declared argument goes on (a bad one is refused above; its matchArgs filters still find it declared).
  const args = (spec.args ?? []).map(({ returnCopy: _r, maxData: _m, ...a }) => a);
  return compileKfuncBody(
    policyName,
    { call: name, args, ...(spec.selectors ? { selectors: spec.selectors } : {}), ...(spec.message !== undefined ? { message: spec.message } : {}), ...(spec.tags ? { tags: spec.tags } : {}) },
    mode,
    { ...(opts.id !== undefined ? { id: opts.id } : {}), ...(opts.path !== undefined ? { path: opts.path } : {}), ...(opts.procRoot !== undefined ? { procRoot: opts.procRoot } : {}) },
    {
      func: spec.event, kind: 'tp_btf', title, backend: 'tp_btf backend', syscall: false,
      refuseOverride: `Override cannot be honoured on raw tracepoint ${name}: tracepoints only observe (use Sigkill, or an lsmhooks entry to deny)`,
    },
    issues,
  );
}

function fail(policyName: string, title: string, issues: ConfigIssue[]): never {
  throw new ConfigError(`policy '${policyName}' ${title}`, issues);
}
