// Compiles validated connect rules into the tables of bpf/lib/net_tables.h: per-filter rule bitmaps,
// address prefixes → rule sets (closed over containment, so the longest match alone answers), and
// ports → rule sets. Pure: no maps touched here.
import { matchForm, maskBytes } from './cidr.js';
import { NET_MAX_RULES, NET_TABLE_MASKS, type NetTableMask } from './layout.js';
import type { ValidNetRule } from './rules.js';

export interface PrefixEntry {
  /** 4 or 16 bytes, host bits clear. */
  addr: Uint8Array;
  prefix: number;
  /** Rules whose list contains this prefix, including through shorter prefixes. */
  rules: bigint;
}

export interface CompiledTables {
  masks: Record<NetTableMask, bigint>;
  ruleIds: number[];
  lpm4: PrefixEntry[];
  lpm6: PrefixEntry[];
  ports: Map<number, bigint>;
}

export function compileNetRules(rules: readonly ValidNetRule[]): CompiledTables {
  if (rules.length > NET_MAX_RULES) throw new RangeError(`${rules.length} rules: at most ${NET_MAX_RULES}`);
  const masks = Object.fromEntries(NET_TABLE_MASKS.map((m) => [m, 0n])) as Record<NetTableMask, bigint>;
  const ruleIds = new Array<number>(NET_MAX_RULES).fill(0);
  const v4 = new Map<string, PrefixEntry>();
  const v6 = new Map<string, PrefixEntry>();
  const ports = new Map<number, bigint>();

  rules.forEach((r, slot) => {
    const bit = 1n << BigInt(slot);
    const set = (m: NetTableMask): void => void (masks[m] |= bit);
    ruleIds[slot] = r.id;
    set('active');
    if (r.daddrs) {
      set(r.daddrs.op === 'In' ? 'daddr_in' : 'daddr_not_in');
      for (const c of r.parsedCidrs) {
        const m = matchForm(c);
        const table = m.family === 'inet' ? v4 : v6;
        const key = prefixKey(m.addr, m.prefix);
        const e = table.get(key);
        if (e) e.rules |= bit;
        else table.set(key, { addr: m.addr, prefix: m.prefix, rules: bit });
      }
    }
    if (r.dports) {
      if (r.dports.op === 'Priv') set('dport_priv');
      else {
        set(r.dports.op === 'In' ? 'dport_in' : 'dport_not_in');
        for (const p of r.dports.ports ?? []) ports.set(p, (ports.get(p) ?? 0n) | bit);
      }
    }
    const protos = r.protocol ?? ['tcp', 'udp'];
    if (protos.includes('tcp')) set('proto_tcp');
    if (protos.includes('udp')) set('proto_udp');
    if (!r.protocol) set('proto_other');
    const fams = r.family ?? ['inet', 'inet6'];
    if (fams.includes('inet')) set('family_inet');
    if (fams.includes('inet6')) set('family_inet6');
    if (r.action !== 'allow') set('report');
    if (r.action === 'deny') set(r.monitor ? 'monitor' : 'deny');
  });
  return { masks, ruleIds, lpm4: closeOverContainment(v4), lpm6: closeOverContainment(v6), ports };
}

function prefixKey(addr: Uint8Array, prefix: number): string {
  return `${Buffer.from(addr).toString('hex')}/${prefix}`;
}

/**
 * An LPM lookup returns the longest matching prefix only, so each prefix must also carry the rules of
 * every shorter prefix containing it (10.1.0.0/16 of rule 1 inside 10.0.0.0/8 of rule 0 → {0, 1}).
 * Cost: entries × distinct prefix lengths.
 */
function closeOverContainment(entries: Map<string, PrefixEntry>): PrefixEntry[] {
  const lengths = [...new Set([...entries.values()].map((e) => e.prefix))].sort((a, b) => a - b);
  const out: PrefixEntry[] = [];
  for (const e of entries.values()) {
    let rules = e.rules;
    for (const len of lengths) {
      if (len >= e.prefix) break;
      const outer = entries.get(prefixKey(maskBytes(e.addr, len), len));
      if (outer) rules |= outer.rules;
    }
    out.push({ addr: e.addr, prefix: e.prefix, rules });
  }
  return out;
}
