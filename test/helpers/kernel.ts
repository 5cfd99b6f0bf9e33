// What the tests need to know about the kernel they run on, looked up rather than assumed: where cgroup2
// is mounted, and which features the agent's probe finds (so a test can assert the backend the planner
// must choose on this kernel). The time scale lives in ./time.ts and is re-exported here.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { bpfObjectPath } from '../../packages/collector/src/paths.js';
import { probeKernelSync } from '../../packages/collector/src/probe/index.js';

export { TIME_SCALE, scaled } from './time.js';

/** The cgroup2 mount point (/sys/fs/cgroup on a unified layout, /sys/fs/cgroup/unified on a hybrid one), or null. */
export function cgroup2Mount(): string | null {
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, target, type] = line.split(' ');
    if (type === 'cgroup2' && target) return target.replace(/\\040/g, ' ');
  }
  return null;
}

let features: Set<string> | undefined;

/** Names of the kernel features the agent's probe finds available here (probed once per test file). */
export function kernelFeatures(): Set<string> {
  if (!features) {
    try {
      const r = probeKernelSync({ objectPath: bpfObjectPath('features'), mountMissing: false });
      features = new Set(r.features.filter((f) => f.available).map((f) => f.name));
    } catch {
      features = new Set();
    }
  }
  return features;
}

/** The backend the planner must pick for an LSM hook on this kernel: BPF LSM where it works, else the fallback. */
export function expectedLsmBackend(hook: 'bprm_check_security' | 'file_open' | 'socket_connect'): string {
  if (kernelFeatures().has('bpf_lsm')) return 'bpf_lsm';
  return { bprm_check_security: 'fanotify_exec', file_open: 'fanotify_open', socket_connect: 'cgroup_connect' }[hook];
}

const bpftoolJson = <T>(...args: string[]): T => JSON.parse(execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8' }).trim() || '[]') as T;

/**
 * Names of the BPF programs attached to a cgroup. `bpftool cgroup show` where it works; on kernels where
 * bpftool 7.1's cgroup query fails as a whole (Linux 5.10: exit 255, "[]"), from the cgroup links
 * (`bpftool link show`: type cgroup, cgroup_id = the directory's inode), which is how libbpf attaches.
 */
export function cgroupProgramNames(cgroupPath: string): string[] {
  try {
    return bpftoolJson<{ name?: string }[]>('cgroup', 'show', cgroupPath).map((p) => p.name ?? '');
  } catch {
    const id = statSync(cgroupPath).ino;
    const names = new Map(bpftoolJson<{ id: number; name?: string }[]>('prog', 'show').map((p) => [p.id, p.name ?? '']));
    return bpftoolJson<{ type?: string; prog_id: number; cgroup_id?: number }[]>('link', 'show')
      .filter((l) => l.type === 'cgroup' && l.cgroup_id === id)
      .map((l) => names.get(l.prog_id) ?? '');
  }
}

/**
 * Ids of the BPF programs attached somewhere: through a BPF link (`bpftool link show`) or, for
 * tracepoints on kernels before 5.15 (no perf_event links), through a perf event (`bpftool perf show`).
 */
export function attachedProgramIds(): Set<number> {
  return new Set([
    ...bpftoolJson<{ prog_id: number }[]>('link', 'show').map((l) => l.prog_id),
    ...bpftoolJson<{ prog_id: number }[]>('perf', 'show').map((p) => p.prog_id),
  ]);
}
