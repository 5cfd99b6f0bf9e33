// fanotify permission events, the enforcement path for exec/open on kernels without BPF LSM: can a
// FAN_CLASS_CONTENT group mark a whole filesystem for FAN_OPEN_EXEC_PERM / FAN_OPEN_PERM?
import { loadNative } from './addon.js';
import type { ProbeContext } from './environment.js';
import { builtWithout } from './kernel-config.js';
import type { Feature } from './report.js';

const ERRNO = { EPERM: 1, ENOSYS: 38, EINVAL: 22, ENODEV: 19, EXDEV: 18, EOPNOTSUPP: 95 } as const;

function reason(errno: number, mask: string, ctx: ProbeContext): string {
  switch (errno) {
    case ERRNO.EPERM:
      return ctx.root ? 'refused with EPERM' : 'refused with EPERM (needs root: CAP_SYS_ADMIN)';
    case ERRNO.ENOSYS:
      return 'fanotify_init failed with ENOSYS (kernel built without CONFIG_FANOTIFY)';
    case ERRNO.EINVAL:
      return builtWithout(ctx.config, 'CONFIG_FANOTIFY_ACCESS_PERMISSIONS')
        ? 'refused with EINVAL (kernel built without CONFIG_FANOTIFY_ACCESS_PERMISSIONS)'
        : `refused with EINVAL (${mask} needs Linux 5.0, FAN_MARK_FILESYSTEM 4.20)`;
    case ERRNO.ENODEV:
    case ERRNO.EXDEV:
    case ERRNO.EOPNOTSUPP:
      return 'refused: the root filesystem cannot be marked as a whole (no usable fsid)';
    default:
      return `refused with errno ${errno}`;
  }
}

export function probeFanotifyFeatures(ctx: ProbeContext): Feature[] {
  const native = loadNative();
  const checks = [
    { name: 'fanotify_exec_perm', mask: 'exec', flag: 'FAN_OPEN_EXEC_PERM' },
    { name: 'fanotify_open_perm', mask: 'open', flag: 'FAN_OPEN_PERM' },
  ] as const;
  return checks.map(({ name, mask, flag }) => {
    const r = native.probeFanotify('/', mask);
    if (r.ok) return { name, available: true, detail: `${flag} marks on the root filesystem (FAN_MARK_FILESYSTEM) accepted` };
    return { name, available: false, detail: `${reason(r.errno, flag, ctx)}: ${r.message}` };
  });
}
