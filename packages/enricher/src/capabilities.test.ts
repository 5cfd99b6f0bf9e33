import { describe, expect, it } from 'vitest';
import { CAPABILITY_NAMES, CapabilityNameCache, capabilityNames } from './capabilities.js';

describe('capabilityNames', () => {
  it('knows every capability up to CAP_CHECKPOINT_RESTORE', () => {
    expect(CAPABILITY_NAMES).toHaveLength(41);
    expect(CAPABILITY_NAMES[0]).toBe('CAP_CHOWN');
    expect(CAPABILITY_NAMES[21]).toBe('CAP_SYS_ADMIN');
    expect(CAPABILITY_NAMES[31]).toBe('CAP_SETFCAP');
    expect(CAPABILITY_NAMES[38]).toBe('CAP_PERFMON');
    expect(CAPABILITY_NAMES[39]).toBe('CAP_BPF');
    expect(CAPABILITY_NAMES[40]).toBe('CAP_CHECKPOINT_RESTORE');
  });

  it('names the set bits lowest first, across the 32-bit boundary', () => {
    expect(capabilityNames(0n)).toEqual([]);
    expect(capabilityNames((1n << 21n) | 1n | (1n << 39n))).toEqual(['CAP_CHOWN', 'CAP_SYS_ADMIN', 'CAP_BPF']);
    expect(capabilityNames((1n << 31n) | (1n << 32n))).toEqual(['CAP_SETFCAP', 'CAP_MAC_OVERRIDE']);
    expect(capabilityNames(0x1ffffffffffn)).toEqual(CAPABILITY_NAMES);
  });

  it('keeps bits the list does not know', () => {
    expect(capabilityNames(1n << 45n)).toEqual(['CAP_UNKNOWN_45']);
  });

  it('memoises frozen arrays', () => {
    const cache = new CapabilityNameCache(2);
    const a = cache.get(5n);
    expect(cache.get(5n)).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    cache.get(6n);
    cache.get(7n); // over the bound: cleared, still correct
    expect(cache.get(5n)).toEqual(['CAP_CHOWN', 'CAP_DAC_READ_SEARCH']);
  });
});
