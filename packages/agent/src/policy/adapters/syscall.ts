// kprobes with syscall: true → the syscall tracepoint backend (packages/collector/src/syscall): hook
// tables with in-kernel selectors; reports come back with the hook id, which is the HookRef's ruleId.
import type { KprobeArgument } from '@peregrine/events';
import { syscall } from '@peregrine/collector';
import type { KprobeSpec } from '@peregrine/policy';
import type { EnforcementAdapter, HookRef, PolicyReport } from '../adapter.js';
import { LazyBackend, bytesArg, compileOrThrow, intOrLongArg } from './lazy-backend.js';

const ACTION: Record<string, string> = { post: 'Post', sigkill: 'Sigkill', signal: 'Signal' };

function argOf(v: syscall.SyscallArgValue, label: string | undefined): KprobeArgument {
  const l = label ? { label } : {};
  if (v.kind === 'int') return intOrLongArg(v.value, l);
  if (v.kind === 'buf') return bytesArg(v, l);
  return { string_arg: v.value, ...l };
}

export class SyscallAdapter implements EnforcementAdapter {
  readonly backend = 'syscall_tracepoint' as const;
  onReports: (reports: PolicyReport[]) => void = () => undefined;
  private readonly impl = new syscall.SyscallBackend();
  private readonly lazy = new LazyBackend(this.impl);
  private readonly specs = new Map<number, KprobeSpec>();

  constructor() {
    this.impl.onReport((reports) => this.onBatch(reports));
  }

  compile(ref: HookRef): unknown[] {
    const spec = ref.spec as KprobeSpec;
    const hook = compileOrThrow(() => syscall.compileSyscallHook(ref.policy, spec, ref.mode, { id: ref.ruleId, path: ref.path }));
    this.specs.set(ref.ruleId, spec);
    return [hook];
  }

  async apply(rules: unknown[]): Promise<void> {
    await this.lazy.apply(rules as syscall.SyscallHook[]);
  }

  async stop(): Promise<void> {
    await this.lazy.stop();
  }

  stats(): Record<string, unknown> {
    return this.lazy.stats();
  }

  private onBatch(reports: syscall.SyscallReport[]): void {
    const out: PolicyReport[] = [];
    for (const r of reports) {
      const spec = this.specs.get(r.hookId);
      const labels = new Map((spec?.args ?? []).map((a) => [a.index, a.label]));
      const report: PolicyReport = {
        ruleId: r.hookId,
        selector: r.selector,
        pid: r.tgid,
        ktimeNs: r.ktime,
        args: r.args.map((a) => argOf(a, labels.get(a.index))),
        action: ACTION[r.action] ?? 'Post',
        monitor: r.monitor,
      };
      if (r.ret !== null) report.ret = argOf({ index: 0, kind: 'int', value: r.ret }, spec?.returnArg?.label);
      out.push(report);
    }
    if (out.length > 0) this.onReports(out);
  }
}
