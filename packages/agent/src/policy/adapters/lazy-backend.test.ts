import { ConfigError } from '@peregrine/events';
import { describe, expect, it } from 'vitest';
import { CompileError } from '../adapter.js';
import { LazyBackend, bytesArg, compileOrThrow, intOrLongArg } from './lazy-backend.js';

function fake(failStart = false) {
  const calls: string[] = [];
  return {
    calls,
    start: () => {
      calls.push('start');
      if (failStart) throw new Error('no BPF');
    },
    apply: (hooks: number[]) => void calls.push(`apply ${hooks.join(',')}`),
    stop: async () => void calls.push('stop'),
    stats: () => ({ hooks: 1 }),
  };
}

describe('LazyBackend', () => {
  it('starts on the first apply with rules, applies every time, stops when none are left', async () => {
    const b = fake();
    const lazy = new LazyBackend(b);
    expect(lazy.stats()).toEqual({ started: false });
    await lazy.apply([]); // nothing to stop yet
    await lazy.apply([1]);
    await lazy.apply([1, 2]);
    expect(lazy.stats()).toEqual({ hooks: 1 });
    await lazy.apply([]);
    await lazy.stop(); // idempotent
    expect(b.calls).toEqual(['start', 'apply 1', 'apply 1,2', 'stop']);
    expect(lazy.started).toBe(false);
  });

  it('a start that fails leaves it stopped and throws the cause; the next apply starts again', async () => {
    const b = fake(true);
    const lazy = new LazyBackend(b);
    await expect(lazy.apply([1])).rejects.toThrow('no BPF');
    expect(lazy.started).toBe(false);
    await expect(lazy.apply([1])).rejects.toThrow('no BPF');
    expect(b.calls).toEqual(['start', 'start']);
  });
});

describe('compileOrThrow / intOrLongArg', () => {
  it('turns a ConfigError into a CompileError with the same issues; other errors pass through', () => {
    const issues = [{ path: 'spec.kprobes[0].call', message: 'no such syscall' }];
    expect(() => compileOrThrow(() => { throw new ConfigError('p', issues); })).toThrow(CompileError);
    try {
      compileOrThrow(() => { throw new ConfigError('p', issues); });
    } catch (e) {
      expect((e as CompileError).issues).toEqual(issues);
    }
    expect(() => compileOrThrow(() => { throw new TypeError('bug'); })).toThrow(TypeError);
    expect(compileOrThrow(() => 7)).toBe(7);
  });

  it('int_arg while exact, long_arg (decimal text) beyond 2^53', () => {
    expect(intOrLongArg(-5n, {})).toEqual({ int_arg: -5 });
    expect(intOrLongArg(2n ** 60n, { label: 'x' })).toEqual({ long_arg: '1152921504606846976', label: 'x' });
  });
});

describe('bytesArg', () => {
  const raw = Buffer.from([0x68, 0x69, 0, 0xff, 0xfe]);
  it("is Tetragon's bytes_arg (base64, no UTF-8 decoding) when the buffer was read whole", () => {
    expect(bytesArg({ bytes: raw, size: 5n, fault: false }, { label: 'buf' })).toEqual({ bytes_arg: 'aGkA//4=', label: 'buf' });
    expect(bytesArg({ bytes: Buffer.alloc(0), size: 0n, fault: false }, {})).toEqual({ bytes_arg: '' });
  });

  it('is truncated_bytes_arg with orig_size (a uint64 as decimal text) when the buffer was longer than what was read', () => {
    expect(bytesArg({ bytes: raw, size: 400n, fault: false }, {})).toEqual({ truncated_bytes_arg: { bytes_arg: 'aGkA//4=', orig_size: '400' } });
    expect(bytesArg({ bytes: raw, size: 0xffff_ffff_ffff_ffffn, fault: false }, {}))
      .toEqual({ truncated_bytes_arg: { bytes_arg: 'aGkA//4=', orig_size: '18446744073709551615' } });
  });

  it('an unreadable buffer is an empty bytes_arg, whatever its length', () => {
    expect(bytesArg({ bytes: Buffer.alloc(0), size: 10n, fault: true }, { label: 'buf' })).toEqual({ bytes_arg: '', label: 'buf' });
  });
});
