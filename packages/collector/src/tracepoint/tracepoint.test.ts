// Format parsing, field resolution and the sel_tp_* mirror (BTF of sel_alignchecker.o).
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@peregrine/events';
import { btf, expectLayout, structs } from '../abi/testdata/btf.js';
import { bpfObjectPath } from '../paths.js';
import { compileTracepointHook } from './compile.js';
import { parseTpFormat } from './format.js';
import { TP_LAYOUTS, TP_LAYOUTS as T, TP_LEN_SIGNED, TpHow } from './layout.js';
import { encodeTpHook, patchHook } from './backend.js';
import { ArgKind, SEL_LAYOUTS } from '../syscall/layout.js';
import { MAX_DATA_REFUSED } from '../syscall/compile.js';

const OPENAT = `name: sys_enter_openat
ID: 782
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:int dfd;	offset:16;	size:8;	signed:0;
	field:const char * filename;	offset:24;	size:8;	signed:0;
	field:int flags;	offset:32;	size:8;	signed:0;
	field:umode_t mode;	offset:40;	size:8;	signed:0;
`;
const RENAME = `name: task_rename
ID: 204
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:pid_t pid;	offset:8;	size:4;	signed:1;
	field:char newcomm[16];	offset:28;	size:16;	signed:0;
	field:__data_loc char[] name;	offset:44;	size:4;	signed:0;
`;

const WRITE = `name: sys_enter_write
ID: 700
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:unsigned int fd;	offset:16;	size:8;	signed:0;
	field:const char * buf;	offset:24;	size:8;	signed:0;
	field:size_t count;	offset:32;	size:8;	signed:0;
`;
const KBUF = `name: buf_event
ID: 900
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:const void * data;	offset:8;	size:8;	signed:0;
	field:int len;	offset:16;	size:4;	signed:1;
	field:char name[16];	offset:20;	size:16;	signed:0;
`;

function roots(): string {
  const r = mkdtempSync(join(tmpdir(), 'tpfmt-'));
  for (const [s, e, t] of [['syscalls', 'sys_enter_openat', OPENAT], ['task', 'task_rename', RENAME], ['syscalls', 'sys_enter_write', WRITE], ['test', 'buf_event', KBUF]] as const) {
    mkdirSync(join(r, 'events', s, e), { recursive: true });
    writeFileSync(join(r, 'events', s, e, 'format'), t);
  }
  return r;
}

function issues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('accepted');
}

describe('tracepoint format', () => {
  it('counts every field, common ones included, and knows their shapes', () => {
    const f = parseTpFormat('syscalls', 'sys_enter_openat', OPENAT);
    expect(f.id).toBe(782);
    expect(f.fields.map((x) => x.name)).toEqual(['common_type', 'common_flags', 'common_preempt_count', 'common_pid', '__syscall_nr', 'dfd', 'filename', 'flags', 'mode']);
    expect(f.fields[6]).toMatchObject({ offset: 24, size: 8, shape: 'char_pointer' });
    const r = parseTpFormat('task', 'task_rename', RENAME);
    expect(r.fields.map((x) => x.shape)).toEqual(['int', 'int', 'char_array', 'data_loc_string']);
  });

  it('resolves fields to offsets and read methods', () => {
    const tracingRoots = [roots()];
    const h = compileTracepointHook('p', {
      subsystem: 'syscalls', event: 'sys_enter_openat', args: [{ index: 6, type: 'string', label: 'filename' }, { index: 7, type: 'int' }],
      selectors: [{ matchArgs: [{ index: 7, operator: 'GT', values: ['0'] }] }],
    }, 'enforce', { tracingRoots });
    expect(h.fields).toEqual([
      { index: 6, type: 'string', label: 'filename', name: 'filename', offset: 24, size: 8, how: 'USTR' },
      { index: 7, type: 'int', name: 'flags', offset: 32, size: 8, how: 'INT', intSize: 4 },
    ]);
    expect(h.selectors[0]?.matchArgs[0]).toMatchObject({ index: 1, operator: 'GT' });
    const t = compileTracepointHook('p', { subsystem: 'task', event: 'task_rename', args: [{ index: 2, type: 'string' }, { index: 3, type: 'string' }, { index: 1, type: 'uint64' }] }, 'monitor', { tracingRoots });
    expect(t.fields.map((f) => [f.how, f.intSize])).toEqual([['ARRAY', undefined], ['DLOC', undefined], ['INT', 4]]);
    expect(t.eventId).toBe(204);
  });

  it('names what it cannot read, with paths', () => {
    const tracingRoots = [roots()];
    expect(issues(() => compileTracepointHook('p', {
      subsystem: 'syscalls', event: 'sys_enter_openat', raw: true,
      args: [{ index: 9, type: 'int' }, { index: 5, type: 'string' }, { index: 6, type: 'sock' }],
      selectors: [{ matchArgs: [{ index: 8, operator: 'Equal', values: ['1'] }], matchActions: [{ action: 'Override', argError: -1 }] }],
    }, 'enforce', { path: 'spec.tracepoints[0]', tracingRoots }))).toEqual([
      "spec.tracepoints[0].raw: raw tracepoints are the tp_btf backend's (TP_PROTO arguments, kfunc/rawtp.ts); the tracepoint backend reads format-file fields",
      'spec.tracepoints[0].args[0].index: syscalls/sys_enter_openat has 9 fields (0..8, common_* included): there is no field 9',
      "spec.tracepoints[0].args[1].type: field 5 'int dfd' is not a string (a string is a __data_loc char[], a char * or a char array)",
      "spec.tracepoints[0].args[2].type: argument type 'sock' is not supported by the tracepoint backend (declare an integer type such as int, uint32, long, size_t, string, or char_buf with sizeArgIndex)",
      'spec.tracepoints[0].selectors[0].matchArgs[0].index: field 8 is not declared in args',
      'spec.tracepoints[0].selectors[0].matchActions[0].action: Override cannot be honoured on tracepoint syscalls/sys_enter_openat: tracepoints only observe (use Sigkill, or an lsmhooks entry to deny)',
    ]);
    expect(issues(() => compileTracepointHook('p', { subsystem: 'nope', event: 'x' }, 'enforce', { tracingRoots }))[0]).toMatch(/^subsystem: tracepoint subsystem 'nope' does not exist/);
    expect(issues(() => compileTracepointHook('p', { subsystem: 'task', event: 'x' }, 'enforce', { tracingRoots }))[0]).toMatch(/^event: tracepoint task\/x does not exist/);
  });
});

describe('tracepoint char_buf', () => {
  it('reads a pointer field with the length of the field sizeArgIndex names (counted from 1, as Tetragon)', () => {
    const tracingRoots = [roots()];
    const h = compileTracepointHook('p', {
      subsystem: 'syscalls', event: 'sys_enter_write',
      args: [{ index: 5, type: 'int', label: 'fd' }, { index: 6, type: 'char_buf', sizeArgIndex: 8, label: 'buf' }],
      selectors: [{ matchArgs: [{ index: 6, operator: 'Prefix', values: ['marker'] }, { index: 6, operator: 'Postfix', values: ['\n'] }] }],
    }, 'enforce', { tracingRoots });
    expect(h.fields[1]).toEqual({ index: 6, type: 'char_buf', label: 'buf', name: 'buf', offset: 24, size: 8, how: 'UBUF', lenOffset: 32, lenSize: 8, lenSigned: false });
    // Filters on the buffer are string filters over its slot (1).
    expect(h.selectors[0]?.matchArgs.map((f) => [f.index, f.operator])).toEqual([[1, 'Prefix'], [1, 'Postfix']]);
    const t = encodeTpHook(h);
    const f1 = T.sel_tp_hook.fields.f + T.sel_tp_field.size;
    expect([t.readUInt8(f1 + T.sel_tp_field.fields.how), t.readUInt8(f1 + T.sel_tp_field.fields.len_size), t.readUInt16LE(f1 + T.sel_tp_field.fields.len_off)])
      .toEqual([TpHow.UBUF, 8, 32]);
    // Outside syscalls/*, pointers point into the kernel; a signed length is marked so.
    const k = compileTracepointHook('p', { subsystem: 'test', event: 'buf_event', args: [{ index: 1, type: 'char_buf', sizeArgIndex: 3 }] }, 'enforce', { tracingRoots });
    expect(k.fields[0]).toMatchObject({ how: 'KBUF', lenOffset: 16, lenSize: 4, lenSigned: true });
    expect(encodeTpHook(k).readUInt8(T.sel_tp_hook.fields.f + T.sel_tp_field.fields.len_size)).toBe(4 | TP_LEN_SIGNED);
  });

  it('the hook table marks a buffer slot PREBUF (its record slot carries the length first), a string slot PRE', () => {
    const h = compileTracepointHook('p', {
      subsystem: 'syscalls', event: 'sys_enter_openat', args: [{ index: 5, type: 'int' }, { index: 6, type: 'string' }],
    }, 'enforce', { tracingRoots: [roots()] });
    const w = compileTracepointHook('p', {
      subsystem: 'syscalls', event: 'sys_enter_write', args: [{ index: 5, type: 'int' }, { index: 6, type: 'char_buf', sizeArgIndex: 8 }],
    }, 'enforce', { tracingRoots: [roots()] });
    const kinds = (hook: typeof h): number[] => {
      const v = Buffer.alloc(SEL_LAYOUTS.sel_hook.size);
      v.writeUInt8(ArgKind.INT, SEL_LAYOUTS.sel_hook.fields.args + SEL_LAYOUTS.sel_arg.fields.kind);
      patchHook(v, hook);
      return [0, 1].map((i) => v.readUInt8(SEL_LAYOUTS.sel_hook.fields.args + i * SEL_LAYOUTS.sel_arg.size + SEL_LAYOUTS.sel_arg.fields.kind));
    };
    expect(kinds(h)).toEqual([ArgKind.INT, ArgKind.PRE]);
    expect(kinds(w)).toEqual([ArgKind.INT, ArgKind.PREBUF]);
  });

  it('refuses a bad sizeArgIndex, a non-pointer field, returnCopy and maxData, with paths', () => {
    const tracingRoots = [roots()];
    const counting = 'sizeArgIndex counts the fields from 1, common_* included: field i is sizeArgIndex i + 1';
    expect(issues(() => compileTracepointHook('p', {
      subsystem: 'syscalls', event: 'sys_enter_write',
      args: [
        { index: 6, type: 'char_buf', sizeArgIndex: 7 },
        { index: 5, type: 'char_buf', sizeArgIndex: 8 },
        { index: 7, type: 'size_t', sizeArgIndex: 8 },
      ],
    }, 'enforce', { path: 'spec.tracepoints[0]', tracingRoots }))).toEqual([
      `spec.tracepoints[0].args[0].sizeArgIndex: sizeArgIndex 7 names field 6, the buffer itself (${counting})`,
      "spec.tracepoints[0].args[1].type: field 5 'unsigned int fd' is not a pointer: char_buf reads the bytes a pointer field points to",
      'spec.tracepoints[0].args[2].sizeArgIndex: sizeArgIndex applies to char_buf only',
    ]);
    expect(issues(() => compileTracepointHook('p', {
      subsystem: 'syscalls', event: 'sys_enter_write',
      args: [{ index: 6, type: 'char_buf', sizeArgIndex: 9, returnCopy: true, maxData: true }, { index: 7, type: 'char_buf', sizeArgIndex: 7 }],
    }, 'enforce', { tracingRoots }))).toEqual([
      'args[0].returnCopy: returnCopy is not supported by the tracepoint backend: a tracepoint has no return to read the buffer at (use a kprobes entry with syscall: true and return: true)',
      `args[0].maxData: ${MAX_DATA_REFUSED}`,
      `args[0].sizeArgIndex: sizeArgIndex 9 names field 8, and syscalls/sys_enter_write has fields 0..7 (${counting})`,
      "args[1].type: field 7 'size_t count' is not a pointer: char_buf reads the bytes a pointer field points to",
    ]);
    expect(issues(() => compileTracepointHook('p', { subsystem: 'test', event: 'buf_event', args: [{ index: 1, type: 'char_buf', sizeArgIndex: 2 }] }, 'enforce', { tracingRoots })))
      .toEqual([`args[0].sizeArgIndex: sizeArgIndex 2 names field 1, the buffer itself (${counting})`]);
    expect(issues(() => compileTracepointHook('p', { subsystem: 'test', event: 'buf_event', args: [{ index: 2, type: 'int' }, { index: 1, type: 'char_buf', sizeArgIndex: 4 }] }, 'enforce', { tracingRoots })))
      .toEqual(["args[1].sizeArgIndex: sizeArgIndex 4 names field 3 'char name[16]', which is not an integer length"]);
    expect(issues(() => compileTracepointHook('p', {
      subsystem: 'syscalls', event: 'sys_enter_write', args: [{ index: 6, type: 'char_buf', sizeArgIndex: 8 }],
      selectors: [{ matchArgs: [{ index: 6, operator: 'GT', values: ['1'] }] }],
    }, 'enforce', { tracingRoots }))).toEqual([
      "selectors[0].matchArgs[0].operator: operator 'GT' does not apply to char_buf field 6 (Equal, NotEqual, Prefix, NotPrefix, Postfix, NotPostfix)",
    ]);
  });
});

const checker = bpfObjectPath('sel_alignchecker');
describe.skipIf(!existsSync(checker))('tracepoint backend ABI layouts', () => {
  const all = structs(btf(checker));
  for (const [name, layout] of Object.entries(TP_LAYOUTS)) {
    it(`${name} matches the BTF of sel_alignchecker.o`, () => expectLayout(all.get(name), name, layout));
  }
  it('enum sel_tp_how is TpHow', () => {
    const e = btf(checker).find((t) => t.kind === 'ENUM' && t.name === 'sel_tp_how');
    expect(Object.fromEntries((e?.values ?? []).map((v) => [v.name.slice('SEL_TP_'.length), v.val]))).toEqual(TpHow);
  });
});
