// tracepoints → the tracepoint backend (packages/collector/src/tracepoint): the syscall backend's
// in-kernel selectors over the fields of any subsystem/event; reports come back with the hook id,
// which is the HookRef's ruleId, and become process_tracepoint events.
import type { KprobeArgument } from '@peregrine/events';
import { tracepoint } from '@peregrine/collector';
import type { TracepointSpec } from '@peregrine/policy';
import type { EnforcementAdapter, HookRef, PolicyReport } from '../adapter.js';
import { LazyBackend, bytesArg, compileOrThrow, intOrLongArg } from './lazy-backend.js';

const ACTION: Record<string, string> = { post: 'Post', sigkill: 'Sigkill', signal: 'Signal' };

function argOf(v: tracepoint.TracepointReport['args'][number], field: tracepoint.TpField | undefined): KprobeArgument {
  const l = field?.label ? { label: field.label } : {};
  if (v.kind === 'int') {
    // The kernel sign-extended signed types to 64 bits.
    const n = BigInt.asIntN(64, v.value);
    const signed = field ? !/^u|size_t/.test(field.type) : true;
    return intOrLongArg(signed ? n : v.value, l);
  }
  if (v.kind === 'buf') return bytesArg(v, l);
  return { string_arg: v.value, ...l };
}

export class TracepointAdapter implements EnforcementAdapter {
  readonly backend = 'tracepoint' as const;
  onReports: (reports: PolicyReport[]) => void = () => undefined;
  private readonly impl = new tracepoint.TracepointBackend();
  private readonly lazy = new LazyBackend(this.impl);

  constructor() {
    this.impl.onReport((reports) => this.onBatch(reports));
  }

  compile(ref: HookRef): unknown[] {
    const spec = ref.spec as TracepointSpec;
    return [compileOrThrow(() => tracepoint.compileTracepointHook(ref.policy, spec, ref.mode, { id: ref.ruleId, path: ref.path }))];
  }

  async apply(rules: unknown[]): Promise<void> {
    await this.lazy.apply(rules as tracepoint.TracepointHook[]);
  }

  async stop(): Promise<void> {
    await this.lazy.stop();
  }

  stats(): Record<string, unknown> {
    return this.lazy.stats();
  }

  private onBatch(reports: tracepoint.TracepointReport[]): void {
    const out: PolicyReport[] = [];
    for (const r of reports) {
      const fields = r.hook?.fields ?? [];
      out.push({
        ruleId: r.hookId,
        selector: r.selector,
        pid: r.tgid,
        ktimeNs: r.ktime,
        // Records carry argument slots 0..n-1: the declared fields in order.
        args: r.args.map((a) => argOf(a, fields[a.index])),
        action: ACTION[r.action] ?? 'Post',
        monitor: r.monitor,
      });
    }
    if (out.length > 0) this.onReports(out);
  }
}
