// Reading one process from /proc, for the processes that existed before the agent started.
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { ExecFlag, type NamespaceInums, type ProcessKey, type RawExec } from '@peregrine/events';

const PF_KTHREAD = 0x00200000;
/** /proc/<pid>/stat start times are USER_HZ (100) ticks of boot time; the kernel side rounds the same way. */
export const PROCFS_TICK_NS = 10_000_000n;

export interface ProcStat {
  pid: number;
  ppid: number;
  flags: number;
  /** Boot-time ns, rounded to procfs ticks: the key's ktime for a process found in /proc. */
  startKtime: bigint;
}

/** Parses /proc/<pid>/stat; the comm field may hold spaces and parentheses, so split after the last ')'. */
export function parseStat(text: string): ProcStat {
  const pid = Number.parseInt(text, 10);
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): field N is rest[N - 3].
  return {
    pid,
    ppid: Number(rest[1]),
    flags: Number(rest[6]),
    startKtime: BigInt(rest[19] ?? '0') * PROCFS_TICK_NS,
  };
}

export function readStat(pid: number, proc = '/proc'): ProcStat | null {
  try {
    return parseStat(readFileSync(`${proc}/${pid}/stat`, 'latin1'));
  } catch {
    return null; // exited meanwhile
  }
}

export function isKernelThread(stat: ProcStat): boolean {
  return (stat.flags & PF_KTHREAD) !== 0;
}

function statusFields(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return m;
}

function ids(v: string | undefined): number[] {
  return (v ?? '').split(/\s+/).map(Number);
}

const NS_NAMES: (keyof NamespaceInums)[] = [
  'uts', 'ipc', 'mnt', 'pid', 'pid_for_children', 'net', 'time', 'time_for_children', 'cgroup', 'user',
];

export function readNamespaces(pid: number | 'self', proc = '/proc'): NamespaceInums {
  const ns = {} as NamespaceInums;
  for (const name of NS_NAMES) {
    try {
      const link = readlinkSync(`${proc}/${pid}/ns/${name}`);
      ns[name] = Number(/\[(\d+)\]/.exec(link)?.[1] ?? 0);
    } catch {
      ns[name] = 0;
    }
  }
  return ns;
}

/**
 * The host's namespaces: those of pid 1 (the agent may run in its own mount namespace in a pod with
 * hostPID), each falling back to the agent's own where pid 1's is unreadable (ptrace-restricted).
 */
export function hostNamespaces(proc = '/proc'): NamespaceInums {
  const init = readNamespaces(1, proc);
  const self = readNamespaces('self', proc);
  for (const name of NS_NAMES) if (init[name] === 0) init[name] = self[name];
  return init;
}

function readlinkOr(path: string, fallback: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return fallback;
  }
}

/** The cgroup v2 path of a process ("0::/a/b" line) and its id (the directory's inode). */
function readCgroup(pid: number, proc: string, cgroup2Root: string | null): { id: bigint; name: string } {
  try {
    const line = readFileSync(`${proc}/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
    if (!line) return { id: 0n, name: '' };
    const path = line.slice(3);
    const name = path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1);
    if (!cgroup2Root) return { id: 0n, name };
    return { id: BigInt(statSync(`${cgroup2Root}${path === '/' ? '' : path}`, { bigint: true }).ino), name };
  } catch {
    return { id: 0n, name: '' };
  }
}

/**
 * /proc/PID/cmdline → arguments. A daemon that retitled itself (setproctitle: redis, nginx, postgres, sshd)
 * leaves its title followed by the NUL padding of its old argv area, which would read as a run of empty
 * arguments: two or more trailing empty ones are that padding and are dropped (a single one, `cmd ""`, is
 * an argument and kept).
 */
export function parseCmdline(cmdline: Buffer): string[] {
  if (cmdline.length === 0) return [];
  const args = cmdline.toString('utf8').split('\0');
  if (cmdline[cmdline.length - 1] === 0) args.pop();
  let end = args.length;
  while (end > 0 && args[end - 1] === '') end--;
  return args.length - end >= 2 ? args.slice(0, end) : args;
}

/** A RawExec for a process that was running before the agent: flag procFS. Null if it is gone or a kernel thread. */
export function readProcess(stat: ProcStat, parent: ProcessKey | null, cgroup2Root: string | null, proc = '/proc'): RawExec | null {
  const pid = stat.pid;
  if (isKernelThread(stat)) return null;
  let status: Map<string, string>;
  let cmdline: Buffer;
  try {
    status = statusFields(readFileSync(`${proc}/${pid}/status`, 'utf8'));
    cmdline = readFileSync(`${proc}/${pid}/cmdline`);
  } catch {
    return null;
  }
  const [uid = 0, euid = 0, suid = 0, fsuid = 0] = ids(status.get('Uid'));
  const [gid = 0, egid = 0, sgid = 0, fsgid = 0] = ids(status.get('Gid'));
  const hex = (k: string): bigint => BigInt(`0x${status.get(k) ?? '0'}`);
  let auid = 0xffffffff;
  try {
    auid = Number(readFileSync(`${proc}/${pid}/loginuid`, 'utf8'));
  } catch {
    /* no audit support: stays unset like the kernel side's NO_ID */
  }
  const args = parseCmdline(cmdline);
  const cwd = readlinkOr(`${proc}/${pid}/cwd`, '');
  const cg = readCgroup(pid, proc, cgroup2Root);
  let flags = ExecFlag.procFS;
  if (cwd === '/') flags |= ExecFlag.rootcwd;
  if (!parent) flags |= ExecFlag.noParent;
  return {
    kind: 'exec',
    ktime: stat.startKtime,
    key: { pid, ktime: stat.startKtime },
    parent,
    replaces: null,
    tid: pid,
    flags,
    auid,
    creds: { uid, gid, euid, egid, suid, sgid, fsuid, fsgid },
    caps: { permitted: hex('CapPrm'), effective: hex('CapEff'), inheritable: hex('CapInh') },
    ns: readNamespaces(pid, proc),
    cgroupId: cg.id,
    cgroupName: cg.name,
    binary: readlinkOr(`${proc}/${pid}/exe`, args[0] ?? ''),
    args,
    cwd,
    setuid: null,
    setgid: null,
  };
}
