// kprobes with syscall: true → the syscall tracepoint backend (packages/collector/src/syscall): hook
// tables with in-kernel selectors; reports come back with the hook id, which is the HookRef's ruleId.
import type { KprobeArgument } from '@peregrine/events';
import { ConfigError } from '@peregrine/events';
import { syscall } from '@peregrine/collector';
import type { KprobeSpec } from '@peregrine/policy';
import { CompileError, type EnforcementAdapter, type HookRef, type PolicyReport } from '../adapter.js';

const ACTION: Record<string, string> = { post: 'Post', sigkill: 'Sigkill', signal: 'Signal' };

function argOf(v: syscall.SyscallArgValue, label: string | undefined): KprobeArgument {
  const l = label ? { label } : {};
  if (v.kind === 'int') {
    const n = v.value;
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? { int_arg: Number(n), ...l } : { long_arg: n.toString(), ...l };
  }
  return { string_arg: v.value, ...l };
}

export class SyscallAdapter implements EnforcementAdapter {
  readonly backend = 'syscall_tracepoint' as const;
  onReports: (reports: PolicyReport[]) => void = () => undefined;
  private readonly impl = new syscall.SyscallBackend();
  private started = false;
  private readonly specs = new Map<number, KprobeSpec>();

  constructor() {
    this.impl.onReport((reports) => this.onBatch(reports));
  }

  compile(ref: HookRef): unknown[] {
    const spec = ref.spec as KprobeSpec;
    try {
      const hook = syscall.compileSyscallHook(ref.policy, spec, ref.mode, { id: ref.ruleId, path: ref.path });
      this.specs.set(ref.ruleId, spec);
      return [hook];
    } catch (e) {
      if (e instanceof ConfigError) throw new CompileError(e.issues);
      throw e;
    }
  }

  async apply(rules: unknown[]): Promise<void> {
    if (rules.length === 0) {
      await this.stop();
      return;
    }
    if (!this.started) {
      this.impl.start();
      this.started = true;
    }
    this.impl.apply(rules as syscall.SyscallHook[]);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.impl.stop();
  }

  stats(): Record<string, unknown> {
    return this.started ? { ...this.impl.stats() } : { started: false };
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
