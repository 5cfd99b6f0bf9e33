// socket_connect hooks → cgroup/connect4 + connect6 rules (packages/collector/src/net). One rule per
// selector, in order (first match wins); the rule id packs the hook's ruleId and the selector index.
import type { ConfigIssue, KprobeArgument } from '@peregrine/events';
import { net } from '@peregrine/collector';
import type { LsmHookSpec, Selector } from '@peregrine/policy';
import { CompileError, type EnforcementAdapter, type HookRef, type PolicyReport } from '../adapter.js';

const SELECTOR_BITS = 3;
const FAMILY: Record<string, 'inet' | 'inet6'> = { AF_INET: 'inet', '2': 'inet', AF_INET6: 'inet6', '10': 'inet6' };
const PROTO: Record<string, 'tcp' | 'udp'> = { IPPROTO_TCP: 'tcp', TCP: 'tcp', '6': 'tcp', IPPROTO_UDP: 'udp', UDP: 'udp', '17': 'udp' };

interface RuleInfo {
  action: string;
  label?: string;
}

function ruleFor(ref: HookRef, sel: Selector | undefined, si: number, issues: ConfigIssue[]): net.NetRule {
  const at = `${ref.path}.selectors[${si}]`;
  const rule: net.NetRule = { id: (ref.ruleId << SELECTOR_BITS) | si, action: 'post', monitor: ref.mode === 'monitor' };
  for (const [mi, m] of (sel?.matchArgs ?? []).entries()) {
    const p = `${at}.matchArgs[${mi}]`;
    switch (m.operator) {
      case 'DAddr':
      case 'NotDAddr':
        rule.daddrs = { op: m.operator === 'DAddr' ? 'In' : 'NotIn', cidrs: m.values };
        break;
      case 'DPort':
      case 'NotDPort':
        rule.dports = { op: m.operator === 'DPort' ? 'In' : 'NotIn', ports: m.values.map(Number) };
        break;
      case 'DPortPriv':
        rule.dports = { op: 'Priv' };
        break;
      case 'Protocol': {
        const ps = m.values.map((v) => PROTO[v.toUpperCase()]);
        if (ps.some((x) => x === undefined)) issues.push({ path: `${p}.values`, message: 'the connect backend matches IPPROTO_TCP and IPPROTO_UDP only' });
        rule.protocol = ps.filter((x): x is 'tcp' | 'udp' => x !== undefined);
        break;
      }
      case 'Family': {
        const fs = m.values.map((v) => FAMILY[v.toUpperCase()]);
        if (fs.some((x) => x === undefined)) issues.push({ path: `${p}.values`, message: 'the connect backend matches AF_INET and AF_INET6 only' });
        rule.family = fs.filter((x): x is 'inet' | 'inet6' => x !== undefined);
        break;
      }
      default:
        issues.push({ path: `${p}.operator`, message: `the connect backend (cgroup/connect4+6) cannot evaluate ${m.operator} (it sees the destination: DAddr, NotDAddr, DPort, NotDPort, DPortPriv, Protocol, Family)` });
    }
  }
  const actions = (sel?.matchActions ?? []).map((a) => a.action);
  if (actions.includes('Override')) rule.action = 'deny';
  else if (actions.includes('NoPost')) rule.action = 'allow';
  return rule;
}

export class ConnectAdapter implements EnforcementAdapter {
  readonly backend = 'cgroup_connect' as const;
  onReports: (reports: PolicyReport[]) => void = () => undefined;
  private readonly backendImpl: net.ConnectBackend;
  private readonly info = new Map<number, RuleInfo>();

  constructor(private readonly cgroup2Root: string | null) {
    this.backendImpl = new net.ConnectBackend({ udpSendmsg: true });
    this.backendImpl.onReport((reports) => this.onBatch(reports));
  }

  compile(ref: HookRef): unknown[] {
    const spec = ref.spec as LsmHookSpec;
    const issues: ConfigIssue[] = [];
    const sels = spec.selectors?.length ? spec.selectors : [undefined];
    const label = spec.args.find((a) => a.type === 'sockaddr' || a.type === 'sock')?.label;
    const rules = sels.map((s, i) => ruleFor(ref, s, i, issues));
    if (issues.length > 0) throw new CompileError(issues);
    for (const [i, r] of rules.entries()) {
      const acts = (sels[i]?.matchActions ?? []).map((a) => a.action);
      this.info.set(r.id, { action: acts.includes('Override') ? 'Override' : acts.includes('NoPost') ? 'NoPost' : 'Post', ...(label ? { label } : {}) });
    }
    return rules;
  }

  async apply(rules: unknown[]): Promise<void> {
    if (rules.length === 0) {
      await this.backendImpl.stop();
      return;
    }
    if (!this.backendImpl.started) {
      if (!this.cgroup2Root) throw new CompileError([{ path: '', message: 'no cgroup v2 mount: the connect backend needs one' }]);
      this.backendImpl.start(this.cgroup2Root);
    }
    this.backendImpl.apply(rules as net.NetRule[]);
  }

  async stop(): Promise<void> {
    await this.backendImpl.stop();
  }

  stats(): Record<string, unknown> {
    return { ...this.backendImpl.stats() };
  }

  private onBatch(reports: net.ConnectReport[]): void {
    const out: PolicyReport[] = [];
    for (const r of reports) {
      const info = this.info.get(r.ruleId);
      const arg: KprobeArgument = {
        sockaddr_arg: { family: r.family === 'inet6' ? 'AF_INET6' : r.family === 'inet' ? 'AF_INET' : String(r.family), addr: r.daddr, port: r.dport },
        ...(info?.label ? { label: info.label } : {}),
      };
      out.push({
        ruleId: r.ruleId >>> SELECTOR_BITS,
        selector: r.ruleId & ((1 << SELECTOR_BITS) - 1),
        pid: r.pid,
        ktimeNs: r.ktime,
        args: [arg],
        action: info?.action ?? 'Post',
        monitor: r.verdict === 'monitor',
      });
    }
    if (out.length > 0) this.onReports(out);
  }
}
