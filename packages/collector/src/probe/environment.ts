// Environment checks that come before any program: privileges, BTF, the pseudo-filesystems libbpf
// needs (mounted when missing and we are root), cgroup2, the active LSMs, and facts used later to
// explain failures.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { readKernelConfig, type KernelConfig } from './kernel-config.js';
import { ensureMounted, readMounts } from './mounts.js';
import type { Feature } from './report.js';

export interface ProbeContext {
  root: boolean;
  btf: boolean;
  /** libbpf resolves tracepoint ids and legacy kprobes through tracefs. */
  tracefs: boolean;
  cgroup2: string | null;
  /** Active LSMs from /sys/kernel/security/lsm; null when unknown (see lsmUnknownReason). */
  lsms: string[] | null;
  lsmUnknownReason: string;
  libc: string | null;
  config: KernelConfig | null;
  /** Reading ftrace's function list is refused: evidence that trampolines are locked down too. */
  ftraceRefused: boolean;
}

const TRACEFS_TARGETS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'] as const;

/** Absolute path of the libc mapped into this process (uprobe target). */
export function findLibc(maps: string): string | null {
  for (const line of maps.split('\n')) {
    const path = line.trim().split(/\s+/)[5];
    if (path !== undefined && /\/(libc\.so[.\d]*|libc-[\d.]+\.so|ld-musl-[^/]*\.so[.\d]*)$/.test(path)) return path;
  }
  return null;
}

function ftraceRefused(tracefs: boolean): boolean {
  if (!tracefs) return false;
  for (const dir of TRACEFS_TARGETS) {
    const file = `${dir}/available_filter_functions`;
    if (!existsSync(file)) continue;
    try {
      const fd = openSync(file, 'r');
      try {
        readSync(fd, Buffer.alloc(1));
      } finally {
        closeSync(fd);
      }
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  return false;
}

function readLsms(securityfs: boolean, securityfsDetail: string): { lsms: string[] | null; reason: string } {
  if (!securityfs) return { lsms: null, reason: `securityfs ${securityfsDetail}` };
  try {
    return { lsms: readFileSync('/sys/kernel/security/lsm', 'utf8').trim().split(',').filter(Boolean), reason: '' };
  } catch (e) {
    return { lsms: null, reason: `cannot read /sys/kernel/security/lsm: ${(e as Error).message}` };
  }
}

export function checkEnvironment(allowMount: boolean): { features: Feature[]; ctx: ProbeContext } {
  const root = process.geteuid?.() === 0;
  const mayMount = allowMount && root;
  const btf = existsSync('/sys/kernel/btf/vmlinux');
  const bpffs = ensureMounted('bpf', ['/sys/fs/bpf'], mayMount);
  const tracefs = ensureMounted('tracefs', TRACEFS_TARGETS, mayMount);
  const securityfs = ensureMounted('securityfs', ['/sys/kernel/security'], mayMount);
  const cgroup2 = readMounts().find((m) => m.type === 'cgroup2')?.target ?? null;
  const lsm = readLsms(securityfs.mounted, securityfs.detail);
  let libc: string | null = null;
  try {
    libc = findLibc(readFileSync('/proc/self/maps', 'utf8'));
  } catch {
    // no procfs: the uprobe check reports it
  }

  const features: Feature[] = [
    {
      name: 'root',
      available: root,
      detail: root ? 'running as root (euid 0)' : `euid ${process.geteuid?.() ?? '?'}: loading BPF programs needs root`,
    },
    {
      name: 'btf',
      available: btf,
      detail: btf
        ? 'kernel BTF at /sys/kernel/btf/vmlinux'
        : '/sys/kernel/btf/vmlinux is missing (kernel built without CONFIG_DEBUG_INFO_BTF): CO-RE programs cannot load',
    },
    { name: 'bpffs', available: bpffs.mounted, detail: bpffs.detail },
    {
      name: 'tracefs',
      available: tracefs.mounted,
      detail: tracefs.mounted ? tracefs.detail : `${tracefs.detail}: libbpf cannot attach tracepoints`,
    },
    {
      name: 'securityfs',
      available: securityfs.mounted,
      detail: securityfs.mounted ? securityfs.detail : `${securityfs.detail}: the active LSMs cannot be read`,
    },
    {
      name: 'cgroup2',
      available: cgroup2 !== null,
      detail: cgroup2 !== null ? `mounted at ${cgroup2}` : 'no cgroup2 filesystem is mounted: cgroup programs have nothing to attach to',
    },
  ];
  const ctx: ProbeContext = {
    root,
    btf,
    tracefs: tracefs.mounted,
    cgroup2,
    lsms: lsm.lsms,
    lsmUnknownReason: lsm.reason,
    libc,
    config: readKernelConfig(),
    ftraceRefused: ftraceRefused(tracefs.mounted),
  };
  return { features, ctx };
}
