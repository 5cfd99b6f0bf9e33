// Parsing selector values: integers, ranges, CIDRs, ports, protocols, families.
import { isIP } from 'node:net';

export function parseIntValue(v: string): bigint | null {
  const s = v.trim();
  if (!/^-?(0x[0-9a-f]+|0o[0-7]+|\d+)$/i.test(s)) return null;
  const neg = s.startsWith('-');
  const body = neg ? s.slice(1) : s;
  const n = BigInt(body);
  return neg ? -n : n;
}

/** "a:b" with a <= b. */
export function parseRange(v: string): [bigint, bigint] | null {
  const m = /^\s*(-?\w+)\s*:\s*(-?\w+)\s*$/.exec(v);
  if (!m) return null;
  const a = parseIntValue(m[1]!);
  const b = parseIntValue(m[2]!);
  if (a === null || b === null || a > b) return null;
  return [a, b];
}

export interface Cidr {
  family: 4 | 6;
  /** 4 or 16 bytes. */
  addr: Buffer;
  prefix: number;
}

/** An address or CIDR; an error message naming what is wrong, or the parsed value. */
export function parseCidr(v: string): Cidr | string {
  const [a = '', p, ...rest] = v.trim().split('/');
  if (rest.length > 0) return `invalid CIDR '${v}': more than one '/'`;
  const fam = isIP(a);
  if (fam === 0) return `invalid CIDR '${v}': '${a}' is not an IPv4 or IPv6 address`;
  const max = fam === 4 ? 32 : 128;
  let prefix = max;
  if (p !== undefined) {
    if (!/^\d+$/.test(p)) return `invalid CIDR '${v}': prefix length '${p}' is not a number`;
    prefix = Number(p);
    if (prefix > max) return `invalid CIDR '${v}': prefix length must be 0..${max}`;
  }
  const addr = fam === 4 ? Buffer.from(a.split('.').map(Number)) : ipv6Bytes(a);
  return { family: fam === 4 ? 4 : 6, addr, prefix };
}

function ipv6Bytes(a: string): Buffer {
  let s = a;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    s = s.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export function parsePort(v: string): number | null {
  if (!/^\d+$/.test(v.trim())) return null;
  const n = Number(v);
  return n >= 0 && n <= 65535 ? n : null;
}

export const PROTOCOLS: Record<string, number> = { IPPROTO_TCP: 6, IPPROTO_UDP: 17, IPPROTO_ICMP: 1, IPPROTO_ICMPV6: 58, TCP: 6, UDP: 17 };
export const FAMILIES: Record<string, number> = { AF_INET: 2, AF_INET6: 10, AF_UNIX: 1 };

export function parseProtocol(v: string): number | null {
  const n = parseIntValue(v);
  if (n !== null) return n >= 0n && n <= 255n ? Number(n) : null;
  return PROTOCOLS[v.trim().toUpperCase()] ?? null;
}

export function parseFamily(v: string): number | null {
  const n = parseIntValue(v);
  if (n !== null) return n >= 0n && n <= 64n ? Number(n) : null;
  return FAMILIES[v.trim().toUpperCase()] ?? null;
}
