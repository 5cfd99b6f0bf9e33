// The enforcement backends this build has, one adapter each. The planner only offers a policy the
// backends listed here (and says "not implemented in this build yet" for the others).
import type { EnforcementAdapter } from './adapter.js';
import { ConnectAdapter } from './adapters/connect.js';
import { FanotifyAdapter, SharedGuard } from './adapters/fanotify.js';
import { SyscallAdapter } from './adapters/syscall.js';
import { LsmAdapter } from './adapters/lsm.js';
import { TracepointAdapter } from './adapters/tracepoint.js';
import { KfuncAdapter, SharedKfunc } from './adapters/kfunc.js';
import { RawTracepointAdapter } from './adapters/rawtp.js';

export function createAdapters(opts: { cgroup2Root: string | null }): EnforcementAdapter[] {
  const guard = new SharedGuard();
  const kf = new SharedKfunc();
  return [
    new ConnectAdapter(opts.cgroup2Root), new FanotifyAdapter(guard, 'exec'), new FanotifyAdapter(guard, 'open'), new SyscallAdapter(), new LsmAdapter(),
    new TracepointAdapter(), new KfuncAdapter('fentry', kf), new KfuncAdapter('kprobe', kf), new KfuncAdapter('fmod_ret', kf),
    new RawTracepointAdapter(kf),
  ];
}
