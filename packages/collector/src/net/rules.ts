// Connect rules: what a TracingPolicy's socket_connect selectors compile to. Each rule is one
// selector: its filters AND, the values inside one filter OR; rules are evaluated in order and the
// first matching rule decides (Tetragon's selector semantics). At most 64 rules (one u64 bitmap).
import { ConfigError, type ConfigIssue } from '@peregrine/events';
import { CidrError, parseCidr, type Cidr } from './cidr.js';
import { NET_MAX_RULES } from './layout.js';

export interface NetRule {
  /** Carried in every report of this rule (e.g. policy and selector index, packed by the caller); u32. */
  id: number;
  /** DAddr (In) / NotDAddr (NotIn): IPv4, IPv6 or IPv4-mapped CIDRs or bare addresses. */
  daddrs?: { op: 'In' | 'NotIn'; cidrs: string[] };
  /** DPort (In) / NotDPort (NotIn) over `ports`; DPortPriv (Priv): port < 1024, `ports` empty or absent. */
  dports?: { op: 'In' | 'NotIn' | 'Priv'; ports?: number[] };
  /** Protocol: any of these (absent: any protocol). */
  protocol?: ('tcp' | 'udp')[];
  /** Family of the destination: any of these (absent: both). A v4-mapped destination is 'inet'. */
  family?: ('inet' | 'inet6')[];
  /** allow: silently (NoPost); post: report and allow (Post); deny: report and fail with EPERM (Override). */
  action: 'allow' | 'post' | 'deny';
  /** policy-mode monitor: a deny is reported as would-deny and the connect proceeds. */
  monitor: boolean;
}

/** A rule whose CIDRs have been parsed. */
export interface ValidNetRule extends NetRule {
  parsedCidrs: Cidr[];
}

const RULE_KEYS = new Set(['id', 'daddrs', 'dports', 'protocol', 'family', 'action', 'monitor']);

/** Checks every rule, collecting every problem with its path; throws one ConfigError listing them all. */
export function validateNetRules(rules: unknown): ValidNetRule[] {
  const issues: ConfigIssue[] = [];
  const out: ValidNetRule[] = [];
  if (!Array.isArray(rules)) throw new ConfigError('connect rules', [{ path: '', message: 'expected an array of rules' }]);
  if (rules.length > NET_MAX_RULES) {
    issues.push({ path: '', message: `${rules.length} rules: at most ${NET_MAX_RULES} are supported` });
  }
  rules.forEach((r: unknown, i) => {
    const at = (p: string): string => `[${i}]${p}`;
    const issue = (p: string, message: string): void => void issues.push({ path: at(p), message });
    if (typeof r !== 'object' || r === null || Array.isArray(r)) return issue('', 'expected an object');
    const rule = r as Record<string, unknown>;
    for (const k of Object.keys(rule)) if (!RULE_KEYS.has(k)) issue(`.${k}`, 'unknown field');
    const { id, daddrs, dports, protocol, family, action, monitor } = rule;
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) > 0xffffffff) issue('.id', 'must be an integer 0..4294967295');
    if (action !== 'allow' && action !== 'post' && action !== 'deny') issue('.action', "must be 'allow', 'post' or 'deny'");
    if (typeof monitor !== 'boolean') issue('.monitor', 'must be a boolean');
    const parsedCidrs: Cidr[] = [];
    if (daddrs !== undefined) {
      const d = daddrs as Record<string, unknown>;
      if (typeof d !== 'object' || d === null) issue('.daddrs', 'expected {op, cidrs}');
      else {
        for (const k of Object.keys(d)) if (k !== 'op' && k !== 'cidrs') issue(`.daddrs.${k}`, 'unknown field');
        if (d.op !== 'In' && d.op !== 'NotIn') issue('.daddrs.op', "must be 'In' (DAddr) or 'NotIn' (NotDAddr)");
        if (!Array.isArray(d.cidrs) || d.cidrs.length === 0) issue('.daddrs.cidrs', 'expected a non-empty array of CIDRs');
        else
          d.cidrs.forEach((c: unknown, j) => {
            try {
              parsedCidrs.push(parseCidr(c as string));
            } catch (e) {
              if (!(e instanceof CidrError)) throw e;
              issue(`.daddrs.cidrs[${j}]`, e.message);
            }
          });
      }
    }
    if (dports !== undefined) {
      const d = dports as Record<string, unknown>;
      if (typeof d !== 'object' || d === null) issue('.dports', 'expected {op, ports}');
      else {
        for (const k of Object.keys(d)) if (k !== 'op' && k !== 'ports') issue(`.dports.${k}`, 'unknown field');
        if (d.op !== 'In' && d.op !== 'NotIn' && d.op !== 'Priv') {
          issue('.dports.op', "must be 'In' (DPort), 'NotIn' (NotDPort) or 'Priv' (DPortPriv)");
        }
        if (d.op === 'Priv') {
          const empty = d.ports === undefined || (Array.isArray(d.ports) && d.ports.length === 0);
          if (!empty) issue('.dports.ports', "takes no ports with op 'Priv'");
        } else if (!Array.isArray(d.ports) || d.ports.length === 0) issue('.dports.ports', 'expected a non-empty array of ports');
        else
          d.ports.forEach((p: unknown, j) => {
            const ok = Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 65535;
            if (!ok) issue(`.dports.ports[${j}]`, `port ${String(p)} must be an integer 0..65535`);
          });
      }
    }
    const checkSet = (name: string, v: unknown, allowed: string[]): void => {
      if (v === undefined) return;
      const list = allowed.map((a) => `'${a}'`).join(', ');
      if (!Array.isArray(v) || v.length === 0) return issue(`.${name}`, `expected a non-empty array of ${list}`);
      v.forEach((x: unknown, j) => {
        if (!allowed.includes(x as string)) issue(`.${name}[${j}]`, `must be one of ${list}`);
      });
    };
    checkSet('protocol', protocol, ['tcp', 'udp']);
    checkSet('family', family, ['inet', 'inet6']);
    out.push({ ...(rule as unknown as NetRule), parsedCidrs });
  });
  if (issues.length > 0) throw new ConfigError('connect rules', issues);
  return out;
}
