// tracepoints with raw: true → the kfunc backend's tp_btf sites (packages/collector/src/kfunc/rawtp.ts):
// a typed raw tracepoint program per event, its TP_PROTO arguments read as the policy types them, the
// kfunc backend's in-kernel selectors. It shares the KfuncBackend of the kprobe adapters (one set of
// tables, one ring); reports become process_tracepoint events (subsys, event) with Tetragon's
// argument shapes (linux_binprm_arg, file_arg, sock_arg, int_arg…).
import { kfunc } from '@peregrine/collector';
import type { TracepointSpec } from '@peregrine/policy';
import type { HookRef } from '../adapter.js';
import { SharedKfuncAdapter, type SharedKfunc } from './kfunc.js';

export class RawTracepointAdapter extends SharedKfuncAdapter<TracepointSpec> {
  readonly backend = 'tp_btf' as const;

  constructor(
    shared: SharedKfunc,
    private readonly btf?: kfunc.KernelBtf,
  ) {
    super(shared);
  }

  protected compileHook(ref: HookRef, spec: TracepointSpec): kfunc.KfuncHook {
    return kfunc.compileRawTracepointHook(ref.policy, spec, ref.mode, { id: ref.ruleId, path: ref.path, ...(this.btf ? { btf: this.btf } : {}) });
  }
}
