import { describe, expect, it } from 'vitest';
import { cString, utf8Text } from './text.js';

describe('record text fields', () => {
  it('cString stops at the first NUL, or takes the whole field', () => {
    const b = Buffer.alloc(20, 0x78); // 'x'
    Buffer.from('cat\0junk').copy(b, 2);
    expect(cString(b, 2, 16)).toBe('cat');
    expect(cString(Buffer.from('0123456789abcdefXYZ'), 0, 16)).toBe('0123456789abcdef');
  });

  it('invalid UTF-8 decodes with replacement characters instead of throwing', () => {
    const b = Buffer.from([0x61, 0xff, 0x62, 0]);
    expect(cString(b, 0, 4)).toBe('a\ufffdb');
    expect(utf8Text(b, 1, 2)).toBe('\ufffdb');
  });
});
