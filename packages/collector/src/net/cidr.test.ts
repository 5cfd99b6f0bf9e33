import { describe, expect, it } from 'vitest';
import { CidrError, formatAddress, formatCidr, matchForm, parseCidr } from './cidr.js';

const text = (s: string): string => formatCidr(parseCidr(s));

describe('parseCidr', () => {
  it('parses IPv4, IPv6 and bare addresses, clearing host bits', () => {
    expect(text('10.0.0.0/8')).toBe('10.0.0.0/8');
    expect(text('10.1.2.3/8')).toBe('10.0.0.0/8');
    expect(text('192.168.1.1')).toBe('192.168.1.1/32');
    expect(text('0.0.0.0/0')).toBe('0.0.0.0/0');
    expect(text('::1')).toBe('::1/128');
    expect(text('::/0')).toBe('::/0');
    expect(text('2001:DB8::1/32')).toBe('2001:db8::/32');
    expect(text('fe80:0:0:0:1:2:3:4/64')).toBe('fe80::/64');
    expect(text('1:2:3:4:5:6:7:8')).toBe('1:2:3:4:5:6:7:8/128');
    expect(text('::ffff:10.0.0.0/104')).toBe('::ffff:10.0.0.0/104');
    expect(text('64:ff9b::192.0.2.1/128')).toBe('64:ff9b::c000:201/128');
  });

  it.each([
    ['10.0.0.0/33', 'prefix length must be 0..32'],
    ['::/129', 'prefix length must be 0..128'],
    ['10.0.0.256/8', 'octet 256 is out of range 0..255'],
    ['10.0.0/8', "'10.0.0' is not an IPv4 address (expected 4 dot-separated octets)"],
    ['010.0.0.0/8', "octet '010' has a leading zero (ambiguous: octal in some parsers)"],
    ['10.0.0.0/', 'missing prefix length after /'],
    ['10.0.0.0/8/8', "more than one '/'"],
    ['10.0.0.0/-1', "prefix length '-1' is not a decimal number"],
    ['1::2::3', "more than one '::'"],
    ['fe80::1%eth0', 'zone index (%…) is not allowed'],
    ['1:2:3:4:5:6:7', "'1:2:3:4:5:6:7' has 7 groups, an IPv6 address has 8 (or uses '::')"],
    ['12345::', "group '12345' is not 1-4 hex digits"],
    ['', 'empty'],
    [' 10.0.0.0/8', 'surrounding whitespace'],
    ['example.com', "'example.com' is not an IPv4 address (expected 4 dot-separated octets)"],
  ])('rejects %j: %s', (input, reason) => {
    expect(() => parseCidr(input)).toThrow(new CidrError(input, reason));
    expect(() => parseCidr(input)).toThrow(`invalid CIDR '${input}': ${reason}`);
  });

  it('matches v4-mapped CIDRs as the IPv4 CIDR they denote; other IPv6 CIDRs stay IPv6', () => {
    expect(formatCidr(matchForm(parseCidr('::ffff:10.0.0.0/104')))).toBe('10.0.0.0/8');
    expect(formatCidr(matchForm(parseCidr('::ffff:0:0/96')))).toBe('0.0.0.0/0');
    expect(formatCidr(matchForm(parseCidr('::ffff:127.0.0.1')))).toBe('127.0.0.1/32');
    expect(matchForm(parseCidr('::/0')).family).toBe('inet6');
    expect(matchForm(parseCidr('::ffff:0:0/95')).family).toBe('inet6');
  });

  it('formats addresses as RFC 5952', () => {
    expect(formatAddress(Uint8Array.from([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]))).toBe('2001:db8::1:0:0:1');
    expect(formatAddress(new Uint8Array(16))).toBe('::');
  });
});
