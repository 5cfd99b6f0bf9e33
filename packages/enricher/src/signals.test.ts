import { describe, expect, it } from 'vitest';
import { signalName } from './signals.js';

describe('signalName', () => {
  it('names signals', () => {
    expect(signalName(9)).toBe('SIGKILL');
    expect(signalName(15)).toBe('SIGTERM');
    expect(signalName(2)).toBe('SIGINT');
  });

  it.runIf(process.platform === 'linux')('prefers the canonical alias', () => {
    expect(signalName(6)).toBe('SIGABRT');
    expect(signalName(29)).toBe('SIGIO');
  });

  it('gives "" for no signal and SIG<n> for unnamed ones', () => {
    expect(signalName(0)).toBe('');
    expect(signalName(40)).toBe('SIG40');
  });
});
