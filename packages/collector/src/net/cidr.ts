// CIDR parsing for destination-address rules: IPv4, IPv6 and IPv4-mapped IPv6, with errors that name
// the input and what is wrong with it ("invalid CIDR '10.0.0.0/33': prefix length must be 0..32").
import { PeregrineError } from '@peregrine/events';

export type AddressFamily = 'inet' | 'inet6';

export interface Cidr {
  family: AddressFamily;
  /** Network address, host bits cleared: 4 or 16 bytes in network order. */
  addr: Uint8Array;
  prefix: number;
}

export class CidrError extends PeregrineError {
  override readonly name = 'CidrError';
  readonly input: string;
  readonly reason: string;

  constructor(input: string, reason: string) {
    super('ERR_CIDR', `invalid CIDR '${input}': ${reason}`);
    this.input = input;
    this.reason = reason;
  }
}

/** The IPv6 prefix ::ffff:0:0/96 under which IPv4 addresses are mapped. */
const V4_MAPPED_PREFIX = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff);

/**
 * Parses "a.b.c.d[/n]" or an IPv6 address "[/n]" (a bare address is a /32 or /128). Host bits are
 * cleared (as Go's net.ParseCIDR does, which Tetragon uses). Zone indexes are rejected.
 */
export function parseCidr(input: string): Cidr {
  const fail = (reason: string): never => {
    throw new CidrError(input, reason);
  };
  if (typeof input !== 'string') fail('not a string');
  if (input.length === 0) fail('empty');
  if (input.trim() !== input) fail('surrounding whitespace');
  const slash = input.indexOf('/');
  if (slash !== input.lastIndexOf('/')) fail("more than one '/'");
  const addrText = slash < 0 ? input : input.slice(0, slash);
  const isV6 = addrText.includes(':');
  const addr = isV6 ? parseIpv6(addrText, fail) : parseIpv4(addrText, fail);
  const max = addr.length * 8;
  let prefix = max;
  if (slash >= 0) {
    const p = input.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(p)) fail(p === '' ? 'missing prefix length after /' : `prefix length '${p}' is not a decimal number`);
    prefix = Number(p);
    if (prefix > max) fail(`prefix length must be 0..${max}`);
  }
  return { family: isV6 ? 'inet6' : 'inet', addr: maskBytes(addr, prefix), prefix };
}

function parseIpv4(text: string, fail: (reason: string) => never): Uint8Array {
  const parts = text.split('.');
  if (parts.length !== 4) fail(`'${text}' is not an IPv4 address (expected 4 dot-separated octets)`);
  const out = new Uint8Array(4);
  parts.forEach((p, i) => {
    if (!/^[0-9]{1,3}$/.test(p)) fail(p === '' ? 'empty octet' : `octet '${p}' is not a decimal number`);
    if (p.length > 1 && p.startsWith('0')) fail(`octet '${p}' has a leading zero (ambiguous: octal in some parsers)`);
    const v = Number(p);
    if (v > 255) fail(`octet ${v} is out of range 0..255`);
    out[i] = v;
  });
  return out;
}

function parseIpv6(text: string, fail: (reason: string) => never): Uint8Array {
  if (text.includes('%')) fail('zone index (%…) is not allowed');
  const dbl = text.indexOf('::');
  if (dbl >= 0 && text.indexOf('::', dbl + 1) >= 0) fail("more than one '::'");
  const groups: number[] = [];
  const parseGroups = (s: string, allowV4Tail: boolean): number[] => {
    if (s === '') return [];
    const parts = s.split(':');
    const out: number[] = [];
    parts.forEach((p, i) => {
      if (allowV4Tail && i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p, fail);
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        return;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) fail(p === '' ? "empty group (a single ':' at an end?)" : `group '${p}' is not 1-4 hex digits`);
      out.push(parseInt(p, 16));
    });
    return out;
  };
  if (dbl >= 0) {
    const head = parseGroups(text.slice(0, dbl), false);
    const tail = parseGroups(text.slice(dbl + 2), true);
    if (head.length + tail.length > 7) fail("'::' stands for no group: too many groups");
    groups.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  } else {
    groups.push(...parseGroups(text, true));
    if (groups.length !== 8) fail(`'${text}' has ${groups.length} groups, an IPv6 address has 8 (or uses '::')`);
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

export function maskBytes(addr: Uint8Array, prefix: number): Uint8Array {
  const out = Uint8Array.from(addr);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - 8 * i));
    out[i] = out[i]! & ((0xff00 >> keep) & 0xff);
  }
  return out;
}

/** Whether an IPv6 CIDR lies inside ::ffff:0:0/96 (an IPv4-mapped range). */
export function isV4Mapped(c: Cidr): boolean {
  return c.family === 'inet6' && c.prefix >= 96 && V4_MAPPED_PREFIX.every((b, i) => c.addr[i] === b);
}

/**
 * The CIDR as the kernel side matches it. IPv4 destinations — AF_INET sockets and v4-mapped
 * destinations of AF_INET6 sockets alike — are looked up among IPv4 prefixes, so a v4-mapped CIDR
 * (::ffff:10.0.0.0/104) becomes the IPv4 CIDR it denotes (10.0.0.0/8). Other IPv6 CIDRs, even ::/0,
 * match IPv6 destinations only.
 */
export function matchForm(c: Cidr): Cidr {
  if (!isV4Mapped(c)) return c;
  return { family: 'inet', addr: c.addr.slice(12, 16), prefix: c.prefix - 96 };
}

export function formatCidr(c: Cidr): string {
  return `${formatAddress(c.addr)}/${c.prefix}`;
}

/** 4 bytes → dotted quad; 16 bytes → RFC 5952 text (v4-mapped as ::ffff:a.b.c.d). */
export function formatAddress(a: Uint8Array): string {
  if (a.length === 4) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  if (V4_MAPPED_PREFIX.every((b, i) => a[i] === b)) return `::ffff:${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((a[i]! << 8) | a[i + 1]!);
  // The longest run of ≥2 zero groups (the first one on ties) becomes '::'.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}
