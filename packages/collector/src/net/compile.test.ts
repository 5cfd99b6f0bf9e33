import { describe, expect, it } from 'vitest';
import { ConfigError } from '@peregrine/events';
import { formatCidr } from './cidr.js';
import { compileNetRules, type PrefixEntry } from './compile.js';
import { validateNetRules, type NetRule } from './rules.js';

const compile = (rules: NetRule[]) => compileNetRules(validateNetRules(rules));
const byCidr = (es: PrefixEntry[]) =>
  Object.fromEntries(es.map((e) => [formatCidr({ family: e.addr.length === 4 ? 'inet' : 'inet6', addr: e.addr, prefix: e.prefix }), e.rules]));

describe('compileNetRules', () => {
  it('builds per-filter masks in slot order', () => {
    const t = compile([
      { id: 10, daddrs: { op: 'NotIn', cidrs: ['10.0.0.0/8'] }, dports: { op: 'In', ports: [443] }, action: 'deny', monitor: false },
      { id: 11, dports: { op: 'Priv' }, protocol: ['udp'], action: 'post', monitor: false },
      { id: 12, family: ['inet6'], action: 'deny', monitor: true },
      { id: 13, action: 'allow', monitor: false },
    ]);
    expect(t.masks.active).toBe(0b1111n);
    expect(t.masks.daddr_not_in).toBe(0b0001n);
    expect(t.masks.dport_in).toBe(0b0001n);
    expect(t.masks.dport_priv).toBe(0b0010n);
    expect(t.masks.proto_tcp).toBe(0b1101n);
    expect(t.masks.proto_udp).toBe(0b1111n);
    expect(t.masks.proto_other).toBe(0b1101n);
    expect(t.masks.family_inet).toBe(0b1011n);
    expect(t.masks.family_inet6).toBe(0b1111n);
    expect(t.masks.report).toBe(0b0111n);
    expect(t.masks.deny).toBe(0b0001n);
    expect(t.masks.monitor).toBe(0b0100n);
    expect(t.ruleIds.slice(0, 5)).toEqual([10, 11, 12, 13, 0]);
    expect([...t.ports]).toEqual([[443, 1n]]);
  });

  it('closes prefixes over containment so the longest match carries every rule', () => {
    const t = compile([
      { id: 1, daddrs: { op: 'In', cidrs: ['10.0.0.0/8', '::ffff:192.168.0.0/112'] }, action: 'deny', monitor: false },
      { id: 2, daddrs: { op: 'In', cidrs: ['10.1.0.0/16', '2001:db8::/32'] }, action: 'deny', monitor: false },
      { id: 3, daddrs: { op: 'NotIn', cidrs: ['10.1.2.0/24', '0.0.0.0/0', '2001:db8:1::/48'] }, action: 'deny', monitor: false },
    ]);
    expect(byCidr(t.lpm4)).toEqual({
      '10.0.0.0/8': 0b101n,
      '10.1.0.0/16': 0b111n,
      '10.1.2.0/24': 0b111n,
      '0.0.0.0/0': 0b100n,
      '192.168.0.0/16': 0b101n,
    });
    expect(byCidr(t.lpm6)).toEqual({ '2001:db8::/32': 0b010n, '2001:db8:1::/48': 0b110n });
  });

  it('rejects bad rules with every issue and its path', () => {
    let err: ConfigError | undefined;
    try {
      validateNetRules([
        { id: -1, action: 'kill', monitor: 'no', extra: 1 },
        { id: 1, daddrs: { op: 'In', cidrs: ['10.0.0.0/33', '::1'] }, dports: { op: 'Priv', ports: [1] }, action: 'deny', monitor: false },
        { id: 2, dports: { op: 'In', ports: [70000] }, protocol: ['icmp'], family: [], action: 'post', monitor: false },
      ]);
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.issues).toEqual([
      { path: '[0].extra', message: 'unknown field' },
      { path: '[0].id', message: 'must be an integer 0..4294967295' },
      { path: '[0].action', message: "must be 'allow', 'post' or 'deny'" },
      { path: '[0].monitor', message: 'must be a boolean' },
      { path: '[1].daddrs.cidrs[0]', message: "invalid CIDR '10.0.0.0/33': prefix length must be 0..32" },
      { path: '[1].dports.ports', message: "takes no ports with op 'Priv'" },
      { path: '[2].dports.ports[0]', message: 'port 70000 must be an integer 0..65535' },
      { path: '[2].protocol[0]', message: "must be one of 'tcp', 'udp'" },
      { path: '[2].family', message: "expected a non-empty array of 'inet', 'inet6'" },
    ]);
  });

  it('refuses more than 64 rules', () => {
    const rules = Array.from({ length: 65 }, (_, i): NetRule => ({ id: i, action: 'allow', monitor: false }));
    expect(() => validateNetRules(rules)).toThrow('65 rules: at most 64 are supported');
  });
});
