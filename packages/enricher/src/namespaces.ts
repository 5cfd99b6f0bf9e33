// Namespace inode numbers → Tetragon's {inum, is_host} pairs (is_host: same namespace as the agent's host).

import type { NamespaceInums, ProcessNamespaces } from '@peregrine/events';

export const NAMESPACE_KINDS = [
  'uts',
  'ipc',
  'mnt',
  'pid',
  'pid_for_children',
  'net',
  'time',
  'time_for_children',
  'cgroup',
  'user',
] as const satisfies readonly (keyof NamespaceInums)[];

export function namespaces(ns: NamespaceInums, host: NamespaceInums): ProcessNamespaces {
  return {
    uts: { inum: ns.uts, is_host: ns.uts === host.uts },
    ipc: { inum: ns.ipc, is_host: ns.ipc === host.ipc },
    mnt: { inum: ns.mnt, is_host: ns.mnt === host.mnt },
    pid: { inum: ns.pid, is_host: ns.pid === host.pid },
    pid_for_children: { inum: ns.pid_for_children, is_host: ns.pid_for_children === host.pid_for_children },
    net: { inum: ns.net, is_host: ns.net === host.net },
    time: { inum: ns.time, is_host: ns.time === host.time },
    time_for_children: { inum: ns.time_for_children, is_host: ns.time_for_children === host.time_for_children },
    cgroup: { inum: ns.cgroup, is_host: ns.cgroup === host.cgroup },
    user: { inum: ns.user, is_host: ns.user === host.user },
  };
}

export function sameNamespaces(a: NamespaceInums, b: NamespaceInums): boolean {
  for (const k of NAMESPACE_KINDS) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * namespaces() remembering the last result: consecutive execs (a burst in one container or on the host)
 * almost always share every namespace, so they share one frozen object.
 */
export class NamespaceCache {
  private lastInums: NamespaceInums | undefined;
  private last: ProcessNamespaces | undefined;
  constructor(private readonly host: NamespaceInums) {}

  get(ns: NamespaceInums): ProcessNamespaces {
    if (this.last !== undefined && this.lastInums !== undefined && sameNamespaces(ns, this.lastInums)) return this.last;
    const built = namespaces(ns, this.host);
    for (const k of NAMESPACE_KINDS) Object.freeze(built[k]);
    this.lastInums = { ...ns };
    this.last = Object.freeze(built);
    return this.last;
  }
}
