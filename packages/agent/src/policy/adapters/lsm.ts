// lsmhooks → the bpf_lsm backend (packages/collector/src/lsm): BPF LSM programs with in-kernel
// selectors that deny (Override → the errno, before the operation), kill or report. One LsmHook per
// lsmhooks entry; reports come back with the hook id, which is the HookRef's ruleId.
import type { KprobeArgument } from '@peregrine/events';
import { lsm } from '@peregrine/collector';
import type { LsmHookSpec } from '@peregrine/policy';
import type { EnforcementAdapter, HookRef, PolicyReport } from '../adapter.js';
import { LazyBackend, compileOrThrow, intOrLongArg } from './lazy-backend.js';

const ACTION: Record<lsm.RawLsmRecord['action'], string> = { post: 'Post', override: 'Override', sigkill: 'Sigkill', signal: 'Signal' };

/** One reported argument in Tetragon's shape: linux_binprm_arg / file_arg / path_arg / sockaddr_arg / int_arg. */
export function lsmArgument(v: lsm.LsmArgValue, label: string | undefined): KprobeArgument {
  const l = label ? { label } : {};
  switch (v.kind) {
    case 'path':
      if (v.type === 'linux_binprm') return { linux_binprm_arg: { path: v.path }, ...l };
      if (v.type === 'file') return { file_arg: { path: v.path }, ...l };
      return { path_arg: { path: v.path }, ...l };
    case 'sockaddr':
      return { sockaddr_arg: { family: v.familyName, addr: v.addr, port: v.port }, ...l };
    case 'int':
      return intOrLongArg(BigInt.asIntN(64, v.value), l);
  }
}

export class LsmAdapter implements EnforcementAdapter {
  readonly backend = 'bpf_lsm' as const;
  onReports: (reports: PolicyReport[]) => void = () => undefined;
  private readonly lazy: LazyBackend<lsm.LsmHook>;
  private readonly labels = new Map<number, Map<number, string | undefined>>();

  constructor(opts: lsm.LsmBackendOptions = {}) {
    const impl = new lsm.LsmBackend(opts);
    impl.onReport((reports) => this.onBatch(reports));
    this.lazy = new LazyBackend(impl);
  }

  compile(ref: HookRef): unknown[] {
    const spec = ref.spec as LsmHookSpec;
    const hook = compileOrThrow(() => lsm.compileLsmHook(ref.policy, spec, ref.mode, { id: ref.ruleId, path: ref.path }));
    this.labels.set(ref.ruleId, new Map(spec.args.map((a) => [a.index, a.label])));
    return [hook];
  }

  async apply(rules: unknown[]): Promise<void> {
    await this.lazy.apply(rules as lsm.LsmHook[]);
  }

  async stop(): Promise<void> {
    await this.lazy.stop();
  }

  stats(): Record<string, unknown> {
    return this.lazy.stats();
  }

  private onBatch(reports: lsm.LsmReport[]): void {
    const out: PolicyReport[] = [];
    for (const r of reports) {
      const labels = this.labels.get(r.hookId);
      out.push({
        ruleId: r.hookId,
        selector: r.selector,
        pid: r.tgid,
        ktimeNs: r.ktime,
        args: r.args.map((a) => lsmArgument(a, labels?.get(a.index))),
        action: ACTION[r.action],
        monitor: r.monitor,
      });
    }
    if (out.length > 0) this.onReports(out);
  }
}
