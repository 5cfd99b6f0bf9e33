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
import { TP_LAYOUTS } from './layout.js';

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

function roots(): string {
  const r = mkdtempSync(join(tmpdir(), 'tpfmt-'));
  for (const [s, e, t] of [['syscalls', 'sys_enter_openat', OPENAT], ['task', 'task_rename', RENAME]] as const) {
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
      'spec.tracepoints[0].raw: raw tracepoints are not supported by the tracepoint backend (omit raw: the format file gives every field)',
      'spec.tracepoints[0].args[0].index: syscalls/sys_enter_openat has 9 fields (0..8, common_* included): there is no field 9',
      "spec.tracepoints[0].args[1].type: field 5 'int dfd' is not a string (a string is a __data_loc char[], a char * or a char array)",
      "spec.tracepoints[0].args[2].type: argument type 'sock' is not supported by the tracepoint backend (declare an integer type such as int, uint32, long, size_t, or string)",
      'spec.tracepoints[0].selectors[0].matchArgs[0].index: field 8 is not declared in args',
      'spec.tracepoints[0].selectors[0].matchActions[0].action: Override cannot be honoured on tracepoint syscalls/sys_enter_openat: tracepoints only observe (use Sigkill, or an lsmhooks entry to deny)',
    ]);
    expect(issues(() => compileTracepointHook('p', { subsystem: 'nope', event: 'x' }, 'enforce', { tracingRoots }))[0]).toMatch(/^subsystem: tracepoint subsystem 'nope' does not exist/);
    expect(issues(() => compileTracepointHook('p', { subsystem: 'task', event: 'x' }, 'enforce', { tracingRoots }))[0]).toMatch(/^event: tracepoint task\/x does not exist/);
  });
});

const checker = bpfObjectPath('sel_alignchecker');
describe.skipIf(!existsSync(checker))('tracepoint backend ABI layouts', () => {
  const all = structs(btf(checker));
  for (const [name, layout] of Object.entries(TP_LAYOUTS)) {
    it(`${name} matches the BTF of sel_alignchecker.o`, () => expectLayout(all.get(name), name, layout));
  }
});
