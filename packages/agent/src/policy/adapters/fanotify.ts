// bprm_check_security / file_open hooks → fanotify permission-event rules answered by the native
// responder thread (packages/collector/src/fanotify). One rule per selector, in order; the rule id
// packs the hook's ruleId and the selector index.
import type { ConfigIssue, KprobeArgument } from '@peregrine/events';
import { fanotify } from '@peregrine/collector';
import type { LsmHookSpec, Selector } from '@peregrine/policy';
import { CompileError, type EnforcementAdapter, type HookRef, type PolicyReport } from '../adapter.js';

const SELECTOR_BITS = 3;
const FILE_OPS: Record<string, 'equal' | 'prefix' | 'postfix'> = { Equal: 'equal', Prefix: 'prefix', Postfix: 'postfix' };
const PROC_OPS = { In: 'in', NotIn: 'notIn', Prefix: 'prefix', NotPrefix: 'notPrefix', Postfix: 'postfix', NotPostfix: 'notPostfix' } as const;

interface RuleInfo {
  action: string;
  argType: 'linux_binprm' | 'file';
  label?: string;
}

function ruleFor(ref: HookRef, event: 'exec' | 'open', sel: Selector | undefined, si: number, issues: ConfigIssue[]): fanotify.FanotifyPolicyRule {
  const at = `${ref.path}.selectors[${si}]`;
  const actions = (sel?.matchActions ?? []).map((a) => a.action);
  const deny = actions.includes('Override');
  const rule: fanotify.FanotifyPolicyRule = {
    id: (ref.ruleId << SELECTOR_BITS) | si,
    event,
    action: deny ? 'deny' : 'allow',
    monitor: ref.mode === 'monitor',
    report: !actions.includes('NoPost'),
  };
  const args = sel?.matchArgs ?? [];
  if (args.length > 1) issues.push({ path: `${at}.matchArgs`, message: 'the fanotify backend evaluates one condition on the file per selector' });
  const a = args[0];
  if (a) {
    const op = FILE_OPS[a.operator];
    if (!op) issues.push({ path: `${at}.matchArgs[0].operator`, message: `the fanotify backend cannot evaluate ${a.operator} on the file (Equal, Prefix, Postfix)` });
    else rule.file = { op, paths: a.values };
  } else if (deny && ref.mode === 'enforce') {
    issues.push({ path: `${at}.matchArgs`, message: `an Override without a condition on the file would deny every ${event} on the machine: name the files` });
  }
  const bins = sel?.matchBinaries ?? [];
  if (bins.length > 1) issues.push({ path: `${at}.matchBinaries`, message: 'the fanotify backend evaluates one matchBinaries filter per selector' });
  const b = bins[0];
  if (b) {
    if (b.followChildren) issues.push({ path: `${at}.matchBinaries[0].followChildren`, message: 'followChildren needs BPF LSM (the fanotify backend sees only the accessing executable)' });
    rule.process = { op: PROC_OPS[b.operator], paths: b.values };
  }
  return rule;
}

export class FanotifyAdapter implements EnforcementAdapter {
  readonly backend: 'fanotify_exec' | 'fanotify_open';
  onReports: (reports: PolicyReport[]) => void = () => undefined;
  private readonly info = new Map<number, RuleInfo>();

  /** Both adapters (exec and open) share one guard: one fanotify group, one table. */
  constructor(
    private readonly shared: SharedGuard,
    private readonly event: 'exec' | 'open',
  ) {
    this.backend = event === 'exec' ? 'fanotify_exec' : 'fanotify_open';
    shared.listeners.set(event, (r) => this.onReport(r));
  }

  compile(ref: HookRef): unknown[] {
    const spec = ref.spec as LsmHookSpec;
    const issues: ConfigIssue[] = [];
    const sels = spec.selectors?.length ? spec.selectors : [undefined];
    const rules = sels.map((s, i) => ruleFor(ref, this.event, s, i, issues));
    if (issues.length > 0) throw new CompileError(issues);
    const arg = spec.args.find((x) => x.type === 'linux_binprm' || x.type === 'file');
    for (const [i, r] of rules.entries()) {
      const acts = (sels[i]?.matchActions ?? []).map((x) => x.action);
      this.info.set(r.id, {
        action: acts.includes('Override') ? 'Override' : acts.includes('NoPost') ? 'NoPost' : 'Post',
        argType: this.event === 'exec' ? 'linux_binprm' : 'file',
        ...(arg?.label ? { label: arg.label } : {}),
      });
    }
    return rules;
  }

  async apply(rules: unknown[]): Promise<void> {
    this.shared.rules.set(this.event, rules as fanotify.FanotifyPolicyRule[]);
    this.shared.apply();
  }

  async stop(): Promise<void> {
    this.shared.rules.set(this.event, []);
    this.shared.apply();
  }

  stats(): Record<string, unknown> {
    return { ...this.shared.stats() };
  }

  private onReport(r: fanotify.FanotifyReport): void {
    const info = this.info.get(r.ruleId);
    const base = info?.argType === 'file' ? { file_arg: { path: r.path } } : { linux_binprm_arg: { path: r.path } };
    const arg = { ...base, ...(info?.label ? { label: info.label } : {}) } as KprobeArgument;
    this.onReports([
      {
        ruleId: r.ruleId >>> SELECTOR_BITS,
        selector: r.ruleId & ((1 << SELECTOR_BITS) - 1),
        pid: r.pid,
        ktimeNs: r.ktimeNs,
        args: [arg],
        action: info?.action ?? 'Post',
        monitor: r.monitor,
      },
    ]);
  }
}

/** The one fanotify group both hooks use; started with the first rule, closed with the last. */
export class SharedGuard {
  readonly rules = new Map<'exec' | 'open', fanotify.FanotifyPolicyRule[]>();
  readonly listeners = new Map<'exec' | 'open', (r: fanotify.FanotifyReport) => void>();
  private backend: fanotify.FanotifyBackend | null = null;

  apply(): void {
    const all = [...(this.rules.get('exec') ?? []), ...(this.rules.get('open') ?? [])];
    if (all.length === 0) {
      this.backend?.stop();
      this.backend = null;
      return;
    }
    if (!this.backend) {
      const b = new fanotify.FanotifyBackend({ responseTimeoutMs: 1000, watchdogMs: 2000 });
      b.onReport = (r) => this.listeners.get(r.event)?.(r);
      b.start();
      this.backend = b;
    }
    this.backend.apply(all);
  }

  stats(): Record<string, unknown> {
    return this.backend ? { ...this.backend.stats() } : { started: false };
  }
}
