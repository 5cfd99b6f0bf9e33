import { describe, expect, it } from 'vitest';
import type { KprobeArgument, PeregrineEvent } from '@peregrine/events';
import { execEvent, exitEvent } from '../testdata/events.js';
import { useColor } from './color.js';
import { formatCompact } from './format.js';

const NODE = 'worker-1.example.internal';
const ESC = '\u001b';
const blue = (s: string): string => `${ESC}[34m${s}${ESC}[39m`;
const green = (s: string): string => `${ESC}[32m${s}${ESC}[39m`;
const magenta = (s: string): string => `${ESC}[35m${s}${ESC}[39m`;
const cyan = (s: string): string => `${ESC}[36m${s}${ESC}[39m`;
const red = (s: string): string => `${ESC}[31m${s}${ESC}[39m`;

describe('formatCompact', () => {
  it('formats exec and exit like tetra getevents -o compact', () => {
    const exec = execEvent(42, { binary: '/usr/bin/curl', arguments: 'https://example.com' });
    expect(formatCompact(exec, { color: false })).toBe(`🚀 process ${NODE} /usr/bin/curl https://example.com`);
    expect(formatCompact(exitEvent(42, { status: 60 }, { binary: '/usr/bin/curl', arguments: 'https://example.com' }), { color: false })).toBe(
      `💥 exit    ${NODE} /usr/bin/curl https://example.com 60`,
    );
    expect(formatCompact(exitEvent(42, { status: 0, signal: 'SIGKILL' }, { binary: '/bin/sleep', arguments: '100' }), { color: false })).toBe(
      `💥 exit    ${NODE} /bin/sleep 100 SIGKILL`,
    );
  });

  it('omits empty arguments', () => {
    expect(formatCompact(execEvent(1, { binary: '/bin/ls', arguments: '' }), { color: false })).toBe(`🚀 process ${NODE} /bin/ls`);
    expect(formatCompact(exitEvent(1, { status: 2 }, { binary: '/bin/ls', arguments: '' }), { color: false })).toBe(`💥 exit    ${NODE} /bin/ls 2`);
  });

  it('colours type blue, node green, binary magenta, arguments cyan, status red', () => {
    expect(formatCompact(execEvent(1, { binary: '/bin/ls', arguments: '-la' }), { color: true })).toBe(
      `${blue('🚀 process')} ${green(NODE)} ${magenta('/bin/ls')} ${cyan('-la')}`,
    );
    expect(formatCompact(exitEvent(1, { signal: 'SIGSEGV' }, { binary: '/bin/ls', arguments: '-la' }), { color: true })).toBe(
      `${blue('💥 exit   ')} ${green(NODE)} ${magenta('/bin/ls')} ${cyan('-la')} ${red('SIGSEGV')}`,
    );
  });

  it('flags CAP_SYS_ADMIN', () => {
    const ev = execEvent(1, { binary: '/bin/mount', arguments: '', cap: { permitted: [], effective: ['CAP_CHOWN', 'CAP_SYS_ADMIN'], inheritable: [] } });
    expect(formatCompact(ev, { color: false })).toBe(`🚀 process ${NODE} /bin/mount 🛑 CAP_SYS_ADMIN`);
  });

  it('escapes control and bidi characters so one event stays one harmless line', () => {
    const ev = execEvent(1, { binary: '/tmp/x\u001b[2J', arguments: 'a\nb\tc \u202eevil\u0007 \u0085' });
    const line = formatCompact(ev, { color: false });
    expect(line).toBe(`🚀 process ${NODE} /tmp/x\\e[2J a\\nb\\tc \\u202eevil\\x07 \\x85`);
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    // With colour on, the only escapes are picocolors' own.
    const coloured = formatCompact(ev, { color: true });
    expect(coloured.replace(/\u001b\[\d+m/g, '')).toBe(line);
  });

  it('shows char_buf bytes escaped, at most 64 of them, with the full length when there is more or the buffer was cut', () => {
    const base = execEvent(3, { binary: '/usr/bin/python3', arguments: '' });
    const write = (args: KprobeArgument[]): PeregrineEvent => ({
      process_kprobe: { process: base.process_exec.process, function_name: 'sys_write', args, action: 'KPROBE_ACTION_POST', policy_name: 'w' },
      node_name: NODE,
      time: base.time,
    });
    const b64 = (b: Buffer | string): string => Buffer.from(b).toString('base64');
    expect(formatCompact(write([{ int_arg: 1, label: 'fd' }, { bytes_arg: b64(Buffer.from([0x68, 0x69, 0, 10, 0x5c, 0xff, 0x1b, 0x20, 0x7e])), label: 'buf' }]), { color: false }))
      .toBe(`📝 write    ${NODE} /usr/bin/python3 1 hi\\0\\n\\\\\\xff\\x1b ~ [w: post]`);
    expect(formatCompact(write([{ bytes_arg: b64('a'.repeat(100)) }]), { color: false })).toContain(` ${'a'.repeat(64)}…(100 bytes) [w: post]`);
    expect(formatCompact(write([{ truncated_bytes_arg: { bytes_arg: b64('b'.repeat(10)), orig_size: '4096' } }]), { color: false }))
      .toContain(` ${'b'.repeat(10)}…(4096 bytes) [w: post]`);
    expect(formatCompact(write([{ bytes_arg: '' }, { int_arg: 0 }]), { color: false })).toContain('/usr/bin/python3  0 [w: post]');
  });
});

describe('useColor', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };

  it('auto: colour on a TTY only', () => {
    expect(useColor('auto', tty, {})).toBe(true);
    expect(useColor('auto', pipe, {})).toBe(false);
    expect(useColor('auto', {}, {})).toBe(false);
  });

  it('auto: NO_COLOR with any non-empty value disables, empty does not', () => {
    expect(useColor('auto', tty, { NO_COLOR: '1' })).toBe(false);
    expect(useColor('auto', tty, { NO_COLOR: 'false' })).toBe(false);
    expect(useColor('auto', tty, { NO_COLOR: '' })).toBe(true);
  });

  it('auto: TERM=dumb disables', () => {
    expect(useColor('auto', tty, { TERM: 'dumb' })).toBe(false);
    expect(useColor('auto', tty, { TERM: 'xterm-256color' })).toBe(true);
  });

  it('always/never win over the environment', () => {
    expect(useColor('always', pipe, { NO_COLOR: '1', TERM: 'dumb' })).toBe(true);
    expect(useColor('never', tty, {})).toBe(false);
  });
});
