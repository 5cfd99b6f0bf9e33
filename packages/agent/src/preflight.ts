// What the agent needs from the machine, each missing piece said in one sentence.
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { PeregrineError } from '@peregrine/events';

export class PreflightError extends PeregrineError {
  override readonly name = 'PreflightError';
}

export function isMounted(path: string, fstype: string): boolean {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((l) => {
      const [, mnt, type] = l.split(' ');
      return mnt === path && type === fstype;
    });
}

/** The cgroup2 mount (unified, or the hybrid's /sys/fs/cgroup/unified), or null. */
export function cgroup2Root(): string | null {
  for (const l of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, mnt, type] = l.split(' ');
    if (type === 'cgroup2' && mnt) return mnt;
  }
  return null;
}

export function preflight(): { notes: string[] } {
  const notes: string[] = [];
  if (process.geteuid?.() !== 0) {
    throw new PreflightError('ERR_NOT_ROOT', 'Peregrine must run as root: it loads BPF programs into the kernel (try: sudo ./peregrine run).');
  }
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    throw new PreflightError(
      'ERR_NO_BTF',
      'This kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing): Peregrine needs a kernel built with CONFIG_DEBUG_INFO_BTF=y.',
    );
  }
  if (!isMounted('/sys/fs/bpf', 'bpf')) {
    try {
      mkdirSync('/sys/fs/bpf', { recursive: true });
      execFileSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf'], { stdio: 'ignore' });
      notes.push('mounted bpffs at /sys/fs/bpf');
    } catch (e) {
      throw new PreflightError('ERR_NO_BPFFS', 'The BPF filesystem is not mounted at /sys/fs/bpf and mounting it failed (mount -t bpf bpf /sys/fs/bpf).', {
        cause: e,
      });
    }
  }
  return { notes };
}
