// Raw tracepoints (tp_btf): TP_PROTO arguments from BTF, types checked against them, the kfunc
// backend's slots and selectors; and the BTF reader, on a hand-built blob and on the running kernel's.
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@peregrine/events';
import { RawBtf, VMLINUX_BTF, type BtfParam, type KernelBtf } from './btf.js';
import { compileRawTracepointHook, type RawTracepointCompileOptions } from './rawtp.js';
import type { TracepointSpecInput } from '../tracepoint/compile.js';

const int = (decl: string, size = 4, signed = true): BtfParam => ({ decl, shape: { kind: 'int', size, signed } });
const ptr = (struct: string): BtfParam => ({ decl: `struct ${struct} *`, shape: { kind: 'pointer', to: `struct ${struct}`, struct, byte: false } });
const chars: BtfParam = { decl: 'const char *', shape: { kind: 'pointer', to: 'char', byte: true } };

/** A kernel with three raw tracepoints, and tracefs saying which subsystem each belongs to. */
const PROTOS: Record<string, BtfParam[]> = {
  sched_process_exec: [ptr('task_struct'), int('pid_t'), ptr('linux_binprm')],
  task_rename: [ptr('task_struct'), chars],
  many: [int('int'), int('int'), int('int'), int('int'), int('int'), int('int'), int('long', 8)],
  buf_event: [{ decl: 'const void *', shape: { kind: 'pointer', to: 'void', byte: true } }, int('size_t', 8, false), ptr('sock')],
};
const fake: KernelBtf = { rawTracepoint: (e) => PROTOS[e] ?? null };
function roots(): string {
  const r = mkdtempSync(join(tmpdir(), 'rawtp-'));
  for (const [s, e] of [['sched', 'sched_process_exec'], ['task', 'task_rename'], ['test', 'many'], ['syscalls', 'sys_enter_openat']]) mkdirSync(join(r, 'events', s!, e!), { recursive: true });
  return r;
}
const opts = (o: RawTracepointCompileOptions = {}): RawTracepointCompileOptions => ({ btf: fake, tracingRoots: [roots()], ...o });

function issues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('accepted');
}
const exec = (body: Partial<TracepointSpecInput>): TracepointSpecInput => ({ subsystem: 'sched', event: 'sched_process_exec', raw: true, ...body });

describe('raw tracepoints: compile', () => {
  it('resolves TP_PROTO arguments by index (0 = the first after __data) into kfunc slots on a tp_btf site', () => {
    const h = compileRawTracepointHook('p', exec({
      args: [{ index: 2, type: 'linux_binprm', label: 'bprm' }, { index: 1, type: 'int', label: 'old_pid' }],
      selectors: [{ matchArgs: [{ index: 2, operator: 'Prefix', values: ['/usr/bin/'] }], matchBinaries: [{ operator: 'In', values: ['/usr/bin/true'] }], matchActions: [{ action: 'Sigkill' }] }],
      message: 'exec', tags: ['t'],
    }), 'enforce', opts({ id: 7 }));
    expect(h).toMatchObject({ id: 7, policy: 'p', call: 'sched/sched_process_exec', func: 'sched_process_exec', kind: 'tp_btf', return: false, message: 'exec', tags: ['t'] });
    expect(h.slots).toEqual([
      { src: 'BPRM', index: 2, type: 'string', declared: 'linux_binprm', label: 'bprm' },
      { src: 'INT', index: 1, type: 'int', declared: 'int', label: 'old_pid' },
    ]);
    expect(h.selectors[0]?.matchArgs[0]).toMatchObject({ index: 0, operator: 'Prefix' });
    expect(h.errors).toEqual([0]);
  });

  it('names a bad index, a type that does not fit the argument, Override, returnCopy and maxData, with paths', () => {
    expect(issues(() => compileRawTracepointHook('p', exec({
      args: [{ index: 3, type: 'int' }, { index: 0, type: 'linux_binprm' }, { index: 1, type: 'string', returnCopy: true, maxData: true }, { index: 2, type: 'skb' }],
      selectors: [{ matchArgs: [{ index: 1, operator: 'Equal', values: ['x'] }], matchActions: [{ action: 'Post' }, { action: 'Override', argError: -1 }] }],
    }), 'enforce', opts({ path: 'spec.tracepoints[0]' })))).toEqual([
      'spec.tracepoints[0].args[0].index: raw tracepoint sched/sched_process_exec has 3 arguments (0: struct task_struct *, 1: pid_t, 2: struct linux_binprm *; counted from 0 in TP_PROTO order): there is no argument 3',
      "spec.tracepoints[0].args[1].type: argument 0 of raw tracepoint sched/sched_process_exec is 'struct task_struct *': linux_binprm reads a 'struct linux_binprm *'",
      'spec.tracepoints[0].args[2].returnCopy: returnCopy is not supported by the tp_btf backend: a tracepoint has no return to read the buffer at',
      'spec.tracepoints[0].args[2].maxData: maxData is not supported: strings and paths are reported up to 255 bytes',
      "spec.tracepoints[0].args[2].type: argument 1 of raw tracepoint sched/sched_process_exec is 'pid_t': string reads a char *",
      "spec.tracepoints[0].args[3].type: argument type 'skb' is not supported by the tp_btf backend (int types, string, char_buf, filename, fd, file, path, linux_binprm, sock, sockaddr, cred)",
      'spec.tracepoints[0].selectors[0].matchActions[1].action: Override cannot be honoured on raw tracepoint sched/sched_process_exec: tracepoints only observe (use Sigkill, or an lsmhooks entry to deny)',
    ]);
  });

  it('reads at most the first 6 arguments; char_buf lengths must be integer arguments', () => {
    expect(issues(() => compileRawTracepointHook('p', { subsystem: 'test', event: 'many', raw: true, args: [{ index: 6, type: 'long' }] }, 'enforce', opts())))
      .toEqual(["args[0].index: argument 6 ('long') cannot be read: the tp_btf backend reads a raw tracepoint's first 6 arguments (0..5)"]);
    const ok = compileRawTracepointHook('p', { subsystem: 'test', event: 'buf_event', raw: true, args: [{ index: 0, type: 'char_buf', sizeArgIndex: 2 }, { index: 2, type: 'sock' }] }, 'enforce', opts());
    expect(ok.slots[0]).toMatchObject({ src: 'BUF', index: 0, lenIndex: 1 });
    expect(ok.slots.slice(1).map((s) => s.src)).toEqual(['SK_FAMILY', 'SK_DADDR', 'SK_DPORT', 'SK_SADDR', 'SK_SPORT']);
    expect(issues(() => compileRawTracepointHook('p', { subsystem: 'test', event: 'buf_event', raw: true, args: [{ index: 0, type: 'char_buf', sizeArgIndex: 3 }, { index: 1, type: 'file' }] }, 'enforce', opts())))
      .toEqual([
        "args[0].sizeArgIndex: sizeArgIndex 3 names argument 2 'struct sock *', which is not an integer length (sizeArgIndex counts the arguments from 1)",
        "args[1].type: argument 1 of raw tracepoint test/buf_event is 'size_t': file reads a 'struct file *'",
      ]);
  });

  it('refuses an unknown event or subsystem, and a subsystem the event is not in', () => {
    expect(issues(() => compileRawTracepointHook('p', { subsystem: 'sched', event: 'sched_nope', raw: true }, 'enforce', opts({ path: 'spec.tracepoints[1]' }))))
      .toEqual(['spec.tracepoints[1].event: raw tracepoint sched/sched_nope does not exist on this kernel (its BTF has no btf_trace_sched_nope): check the name (and the kernel version)']);
    expect(issues(() => compileRawTracepointHook('p', { subsystem: 'nosuch', event: 'x', raw: true }, 'enforce', opts()))[0]).toMatch(/^subsystem: tracepoint subsystem 'nosuch' does not exist/);
    expect(issues(() => compileRawTracepointHook('p', { subsystem: 'task', event: 'sched_process_exec', raw: true }, 'enforce', opts())))
      .toEqual(["subsystem: sched_process_exec is a tracepoint of subsystem 'sched', not 'task'"]);
    expect(issues(() => compileRawTracepointHook('p', { subsystem: 'syscalls', event: 'sys_enter_openat', raw: true }, 'enforce', opts()))).toEqual([
      'raw: syscalls/sys_enter_openat is a trace event without a raw tracepoint of its own (its BTF has no btf_trace_sys_enter_openat: syscalls/* events are made from raw_syscalls/sys_enter and sys_exit): omit raw: to read its format-file fields',
    ]);
    // A tracepoint without a trace event (no tracefs entry, BTF only) is accepted under any subsystem.
    expect(compileRawTracepointHook('p', { subsystem: 'test', event: 'buf_event', raw: true }, 'enforce', opts()).func).toBe('buf_event');
  });

  it('without kernel BTF: refused, saying why and what would work', () => {
    const none = { rawTracepoint: () => null, available: () => false, whyUnavailable: () => '/sys/kernel/btf/vmlinux is missing' };
    expect(issues(() => compileRawTracepointHook('p', exec({}), 'enforce', opts({ btf: none })))).toEqual([
      "raw: raw tracepoints need the kernel's BTF (typed TP_PROTO arguments): /sys/kernel/btf/vmlinux is missing; omit raw: to read the format-file fields with the tracepoint backend",
    ]);
  });

  it('monitor mode and unfiltered Sigkill follow the kfunc rules', () => {
    expect(compileRawTracepointHook('p', exec({ selectors: [{ matchActions: [{ action: 'Sigkill' }] }] }), 'monitor', opts()).monitor).toBe(true);
    expect(issues(() => compileRawTracepointHook('p', exec({ selectors: [{ matchActions: [{ action: 'Sigkill' }] }] }), 'enforce', opts()))[0])
      .toMatch(/^selectors\[0\]: Sigkill without any filter would hit every sched\/sched_process_exec call/);
  });
});

/** Raw BTF: header, types, strings (little-endian). */
function blob(types: number[][], strings: string[]): Buffer {
  const strs = Buffer.from(`\0${strings.join('\0')}\0`, 'latin1');
  const t = Buffer.alloc(types.flat().length * 4);
  types.flat().forEach((w, i) => t.writeUInt32LE(w >>> 0, i * 4));
  const h = Buffer.alloc(24);
  h.writeUInt16LE(0xeb9f, 0);
  h.writeUInt8(1, 2);
  h.writeUInt32LE(24, 4);
  h.writeUInt32LE(0, 8);
  h.writeUInt32LE(t.length, 12);
  h.writeUInt32LE(t.length, 16);
  h.writeUInt32LE(strs.length, 20);
  return Buffer.concat([h, t, strs]);
}
const off = (strings: string[], s: string): number => 1 + strings.slice(0, strings.indexOf(s)).reduce((n, x) => n + x.length + 1, 0);
const info = (kind: number, vlen = 0, kflag = 0): number => (kflag << 31) | (kind << 24) | vlen;

describe('BTF reader', () => {
  it('follows typedef btf_trace_<event> → pointer → prototype, skipping __data, through typedefs and qualifiers', () => {
    const S = ['int', 'pid_t', 'linux_binprm', 'btf_trace_ev', 'char', 'other'];
    const o = (s: string) => off(S, s);
    const b = blob([
      [o('int'), info(1), 4, (1 << 24) | 32], //                     1 int (signed)
      [o('pid_t'), info(8), 1], //                                   2 typedef pid_t → int
      [o('linux_binprm'), info(4, 0), 0], //                         3 struct linux_binprm {}
      [0, info(10), 3], //                                           4 const struct linux_binprm
      [0, info(2), 4], //                                            5 ptr → 4
      [0, info(2), 0], //                                            6 void *
      [0, info(13, 4), 0, 0, 6, 0, 2, 0, 5, 0, 9], //                7 proto(void *, pid_t, const struct linux_binprm *, const char *)
      [0, info(2), 7], //                                            8 ptr → proto
      [0, info(2), 10], //                                           9 ptr → const char
      [0, info(10), 11], //                                          10 const char
      [o('char'), info(1), 1, 8], //                                 11 char
      [o('btf_trace_ev'), info(8), 8], //                            12 typedef btf_trace_ev
      [o('other'), info(6, 1, 1), 4, o('int'), -1], //               13 enum other (signed) — skipped over by the index
    ], S);
    const btf = new RawBtf(b);
    expect(btf.rawTracepoint('ev')).toEqual([
      { decl: 'pid_t', shape: { kind: 'int', size: 4, signed: true } },
      { decl: 'const struct linux_binprm *', shape: { kind: 'pointer', to: 'struct linux_binprm', struct: 'linux_binprm', byte: false } },
      { decl: 'const char *', shape: { kind: 'pointer', to: 'char', byte: true } },
    ]);
    expect(btf.rawTracepoint('other')).toBeNull();
    expect(btf.rawTracepoint('nope')).toBeNull();
    expect(() => new RawBtf(Buffer.alloc(24))).toThrow(/bad magic/);
  });

  it.skipIf(!existsSync(VMLINUX_BTF))("reads the running kernel's sched_process_exec: (task_struct *, pid_t, linux_binprm *)", () => {
    const btf = new RawBtf(readFileSync(VMLINUX_BTF));
    expect(btf.rawTracepoint('sched_process_exec')?.map((p) => p.decl)).toEqual(['struct task_struct *', 'pid_t', 'struct linux_binprm *']);
    expect(btf.rawTracepoint('sched_process_fork')?.map((p) => p.shape)).toEqual([
      { kind: 'pointer', to: 'struct task_struct', struct: 'task_struct', byte: false },
      { kind: 'pointer', to: 'struct task_struct', struct: 'task_struct', byte: false },
    ]);
    expect(btf.rawTracepoint('no_such_tracepoint_here')).toBeNull();
  });
});
