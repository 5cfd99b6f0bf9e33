// The canonical event model: Tetragon's JSON shape (api/v1/tetragon/events.proto, snake_case names).

export interface NamespaceField {
  inum: number;
  is_host: boolean;
}

export interface ProcessNamespaces {
  uts: NamespaceField;
  ipc: NamespaceField;
  mnt: NamespaceField;
  pid: NamespaceField;
  pid_for_children: NamespaceField;
  net: NamespaceField;
  time: NamespaceField;
  time_for_children: NamespaceField;
  cgroup: NamespaceField;
  user: NamespaceField;
}

export interface ProcessCapabilities {
  permitted: string[];
  effective: string[];
  inheritable: string[];
}

/** Tetragon's UserNamespace: the namespace a cred's ids and capabilities are relative to. */
export interface UserNamespace {
  /** Nesting level; 0 is the initial (host) user namespace. */
  level: number;
  /** The namespace's owner. */
  uid: number;
  gid: number;
  ns: NamespaceField;
}

export interface ProcessCredentials {
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  suid: number;
  sgid: number;
  fsuid: number;
  fsgid: number;
  /** SecureBitsType names (SecBitNoRoot, SecBitKeepCaps…); absent when none is set. */
  securebits?: string[];
  caps?: ProcessCapabilities;
  user_ns?: UserNamespace;
}

export interface BinaryProperties {
  setuid?: number;
  setgid?: number;
}

export interface ProcessCgroup {
  /** cgroup v2 id (the cgroup directory's inode number), decimal. */
  id: string;
  name: string;
}

export interface Process {
  exec_id: string;
  pid: number;
  /** Effective uid, as Tetragon reports it. */
  uid: number;
  cwd: string;
  binary: string;
  /** argv[1..] joined with spaces; arguments containing spaces, quotes or backslashes are double-quoted (see joinArguments). */
  arguments: string;
  flags: string;
  start_time: string;
  auid: number;
  parent_exec_id?: string;
  refcnt?: number;
  cap?: ProcessCapabilities;
  ns?: ProcessNamespaces;
  tid: number;
  process_credentials?: ProcessCredentials;
  binary_properties?: BinaryProperties;
  cgroup?: ProcessCgroup;
}
