// tracepoints with raw: true → the kfunc backend's tp_btf sites (packages/collector/src/kfunc/rawtp.ts):
// a typed raw tracepoint program per event, its TP_PROTO arguments read as the policy types them, the
// kfunc backend's in-kernel selectors. It shares the KfuncBackend of the kprobe adapters (one set of
// tables, one ring); reports become process_tracepoint events (subsys, event) with Tetragon's
// argument shapes (linux_binprm_arg, file_arg, sock_arg, int_arg…).
import { ConfigError } from '@peregrine/events';
import { kfunc } from '@peregrine/collector';
import type { TracepointSpec } from '@peregrine/policy';
import { CompileError, type EnforcementAdapter, type HookRef } from '../adapter.js';
import { kfuncReport, type KfuncOwner, type SharedKfunc } from './kfunc.js';

export class RawTracepointAdapter implements EnforcementAdapter, KfuncOwner {
  readonly backend = 'tp_btf' as const;
  onReports: EnforcementAdapter['onReports'] = () => undefined;
  private readonly specs = new Map<number, TracepointSpec>();

  constructor(
    private readonly shared: SharedKfunc,
    private readonly btf?: kfunc.KernelBtf,
  ) {}

  compile(ref: HookRef): unknown[] {
    const spec = ref.spec as TracepointSpec;
    try {
      const hook = kfunc.compileRawTracepointHook(ref.policy, spec, ref.mode, { id: ref.ruleId, path: ref.path, ...(this.btf ? { btf: this.btf } : {}) });
      this.specs.set(ref.ruleId, spec);
      this.shared.owners.set(ref.ruleId, this);
      return [hook];
    } catch (e) {
      if (e instanceof ConfigError) throw new CompileError(e.issues);
      throw e;
    }
  }

  async apply(rules: unknown[]): Promise<void> {
    await this.shared.apply(this.backend, rules as kfunc.KfuncHook[]);
  }

  async stop(): Promise<void> {
    await this.shared.stop(this.backend);
  }

  stats(): Record<string, unknown> {
    return this.shared.impl.started ? { ...this.shared.impl.stats() } : { started: false };
  }

  deliver(reports: kfunc.KfuncReport[]): void {
    const out = reports.map((r) => kfuncReport(r, this.specs.get(r.hookId)));
    if (out.length > 0) this.onReports(out);
  }
}
