import { describe, expect, it } from 'vitest';
import { parseCmdline } from './read-process.js';

const buf = (s: string) => Buffer.from(s, 'utf8');

describe('parseCmdline', () => {
  it('splits NUL-terminated arguments', () => {
    expect(parseCmdline(buf('/usr/bin/curl\0-sS\0https://example.com\0'))).toEqual(['/usr/bin/curl', '-sS', 'https://example.com']);
    expect(parseCmdline(buf(''))).toEqual([]);
    expect(parseCmdline(buf('no-terminator'))).toEqual(['no-terminator']);
  });

  it('keeps one empty argument, as in `cmd ""` and `cmd "" x`', () => {
    expect(parseCmdline(buf('cmd\0\0'))).toEqual(['cmd', '']);
    expect(parseCmdline(buf('cmd\0\0x\0'))).toEqual(['cmd', '', 'x']);
  });

  it("drops the NUL padding a retitled daemon leaves after its title (redis-server's cmdline)", () => {
    expect(parseCmdline(Buffer.concat([buf('redis-server 127.0.0.1:6390'), Buffer.alloc(190)]))).toEqual(['redis-server 127.0.0.1:6390']);
    expect(parseCmdline(buf('sshd: alice@pts/0\0\0\0'))).toEqual(['sshd: alice@pts/0']);
  });
});
