// Builds the canonical Process objects. Each is built once per image, frozen, and shared by every event
// that mentions the image (its exec, its exit, its children's `parent`, its descendants' `ancestors`):
// a stage that wants to add fields (pod, refcnt) must copy — `{ ...process, pod }` — never mutate.

import { ExecFlag, joinArguments } from '@peregrine/events';
import type {
  Capabilities,
  Credentials,
  NamespaceInums,
  Process,
  ProcessCapabilities,
  ProcessCgroup,
  ProcessCredentials,
  ProcessKey,
  RawClone,
  RawExec,
} from '@peregrine/events';
import { CapabilityNameCache } from './capabilities.js';
import type { Clock } from './clock.js';
import { execId } from './exec-id.js';
import { flagsString } from './flags.js';
import { NamespaceCache } from './namespaces.js';

/** (uid_t)-1: the value of ids we do not know (Tetragon reports an unset auid the same way). */
export const UNKNOWN_ID = 4294967295;

export class ProcessBuilder {
  private readonly capNames = new CapabilityNameCache();
  private readonly namespaces: NamespaceCache;
  private lastCaps: Capabilities | undefined;
  private lastCap: ProcessCapabilities | undefined;
  private lastCreds: Credentials | undefined;
  private lastCredentials: ProcessCredentials | undefined;
  private lastCgroupId = -1n;
  private lastCgroup: ProcessCgroup | undefined;
  private lastParentPid = -1;
  private lastParentKtime = -1n;
  private lastParentId = '';

  constructor(
    private readonly nodeName: string,
    hostNs: NamespaceInums,
    private readonly clock: Clock,
    /** Tetragon's --enable-process-cred / --enable-process-ns: fields left undefined are not serialised. */
    private readonly include: { cred: boolean; ns: boolean } = { cred: true, ns: true },
  ) {
    this.namespaces = new NamespaceCache(hostNs);
  }

  execId(key: ProcessKey): string {
    return execId(this.nodeName, key.ktime, key.pid);
  }

  /** execId for parent references, remembering the last one: a burst of execs usually shares one parent. */
  parentExecId(key: ProcessKey): string {
    if (key.pid !== this.lastParentPid || key.ktime !== this.lastParentKtime) {
      this.lastParentPid = key.pid;
      this.lastParentKtime = key.ktime;
      this.lastParentId = execId(this.nodeName, key.ktime, key.pid);
    }
    return this.lastParentId;
  }

  /** `extraFlags`: ExecFlag bits the enricher adds (miss). */
  fromExec(raw: RawExec, id: string, parentExecId: string | undefined, extraFlags: number): Process {
    const procFS = (raw.flags & ExecFlag.procFS) !== 0;
    const exec_id = id;
    const pid = raw.key.pid;
    const uid = raw.creds.euid;
    const cwd = raw.cwd;
    const binary = raw.binary;
    const args = raw.args.length > 1 ? joinArguments(raw.args.slice(1)) : '';
    const flags = flagsString(raw.flags | extraFlags, raw.cwd);
    const start_time = procFS ? this.clock.boottimeToIso(raw.key.ktime) : this.clock.ktimeToIso(raw.key.ktime);
    const auid = raw.auid;
    const cap = this.include.cred ? this.cap(raw.caps) : undefined;
    const ns = this.include.ns ? this.namespaces.get(raw.ns) : undefined;
    const tid = raw.tid;
    const process_credentials = this.include.cred ? this.credentials(raw.creds) : undefined;
    const cgroup = this.cgroup(raw.cgroupId, raw.cgroupName);
    // Two literals rather than a delete, which would turn the object into a slow dictionary.
    const p: Process =
      parentExecId === undefined
        ? { exec_id, pid, uid, cwd, binary, arguments: args, flags, start_time, auid, cap, ns, tid, process_credentials, cgroup }
        : {
            exec_id,
            pid,
            uid,
            cwd,
            binary,
            arguments: args,
            flags,
            start_time,
            auid,
            parent_exec_id: parentExecId,
            cap,
            ns,
            tid,
            process_credentials,
            cgroup,
          };
    if (this.include.cred && (raw.setuid !== null || raw.setgid !== null)) {
      p.binary_properties = Object.freeze(
        raw.setuid === null ? { setgid: raw.setgid as number } : raw.setgid === null ? { setuid: raw.setuid } : { setuid: raw.setuid, setgid: raw.setgid },
      );
    }
    return Object.freeze(p);
  }

  /** A forked image: the parent's binary, arguments, cwd, credentials, capabilities and namespaces. */
  fromClone(raw: RawClone, id: string, parent: Process, extraFlags: number): Process {
    const cgroupId = String(raw.cgroupId);
    const p: Process = {
      exec_id: id,
      pid: raw.key.pid,
      uid: parent.uid,
      cwd: parent.cwd,
      binary: parent.binary,
      arguments: parent.arguments,
      flags: flagsString(raw.flags | ExecFlag.clone | extraFlags),
      start_time: this.clock.ktimeToIso(raw.key.ktime),
      auid: parent.auid,
      parent_exec_id: parent.exec_id,
      cap: parent.cap,
      ns: parent.ns,
      tid: raw.key.pid,
      process_credentials: parent.process_credentials,
      // A child starts in its parent's cgroup unless cloned with CLONE_INTO_CGROUP; we then know only the id.
      cgroup: parent.cgroup?.id === cgroupId ? parent.cgroup : Object.freeze({ id: cgroupId, name: '' }),
    };
    return Object.freeze(p);
  }

  /** What we know of an image we never saw: pid, tid and its exec_id; the rest unknown. */
  unknown(key: ProcessKey, tid: number, id: string, flags: string, parentExecId?: string): Process {
    const p: Process = {
      exec_id: id,
      pid: key.pid,
      uid: UNKNOWN_ID,
      cwd: '',
      binary: '',
      arguments: '',
      flags,
      start_time: this.clock.ktimeToIso(key.ktime),
      auid: UNKNOWN_ID,
      tid,
    };
    if (parentExecId !== undefined) p.parent_exec_id = parentExecId;
    return Object.freeze(p);
  }

  private cap(c: Capabilities): ProcessCapabilities {
    const last = this.lastCaps;
    if (
      this.lastCap !== undefined &&
      last !== undefined &&
      last.permitted === c.permitted &&
      last.effective === c.effective &&
      last.inheritable === c.inheritable
    ) {
      return this.lastCap;
    }
    this.lastCaps = { permitted: c.permitted, effective: c.effective, inheritable: c.inheritable };
    this.lastCap = Object.freeze({
      permitted: this.capNames.get(c.permitted) as string[],
      effective: this.capNames.get(c.effective) as string[],
      inheritable: this.capNames.get(c.inheritable) as string[],
    });
    return this.lastCap;
  }

  private credentials(c: Credentials): ProcessCredentials {
    const last = this.lastCreds;
    if (
      this.lastCredentials !== undefined &&
      last !== undefined &&
      last.uid === c.uid &&
      last.gid === c.gid &&
      last.euid === c.euid &&
      last.egid === c.egid &&
      last.suid === c.suid &&
      last.sgid === c.sgid &&
      last.fsuid === c.fsuid &&
      last.fsgid === c.fsgid
    ) {
      return this.lastCredentials;
    }
    const copy = {
      uid: c.uid,
      gid: c.gid,
      euid: c.euid,
      egid: c.egid,
      suid: c.suid,
      sgid: c.sgid,
      fsuid: c.fsuid,
      fsgid: c.fsgid,
    };
    this.lastCreds = copy;
    this.lastCredentials = Object.freeze({ ...copy });
    return this.lastCredentials;
  }

  private cgroup(id: bigint, name: string): ProcessCgroup {
    if (this.lastCgroup !== undefined && this.lastCgroupId === id && this.lastCgroup.name === name) return this.lastCgroup;
    this.lastCgroupId = id;
    this.lastCgroup = Object.freeze({ id: String(id), name });
    return this.lastCgroup;
  }
}
