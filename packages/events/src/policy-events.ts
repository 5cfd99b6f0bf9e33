// Policy events (process_kprobe, process_tracepoint, process_lsm) in Tetragon's JSON shape.
import type { Process, ProcessCredentials } from './process.js';

/** One typed argument, Tetragon's oneof plus the label the policy gave it. */
export type KprobeArgument = { label?: string } & (
  | { string_arg: string }
  /** A char_buf's bytes, base64 (protojson renders proto bytes so). */
  | { bytes_arg: string }
  /** A char_buf cut short: the bytes read, base64, and the buffer's length (a uint64, as protojson writes it: decimal text). */
  | { truncated_bytes_arg: { bytes_arg: string; orig_size: string } }
  | { int_arg: number }
  | { long_arg: string }
  | { size_arg: string }
  | { file_arg: { path: string; permission?: string } }
  | { path_arg: { path: string } }
  | { linux_binprm_arg: { path: string } }
  | { sockaddr_arg: { family: string; addr: string; port: number } }
  | { sock_arg: { family: string; type?: string; protocol: string; saddr?: string; daddr: string; sport?: number; dport: number } }
  | { capability_arg: { value: number; name: string } }
  /** A struct cred (Tetragon's process_credentials_arg); empty when it could not be read. */
  | { process_credentials_arg: ProcessCredentials | Record<string, never> }
);

export const POLICY_ACTIONS = {
  Post: 'KPROBE_ACTION_POST',
  NoPost: 'KPROBE_ACTION_NOPOST',
  Sigkill: 'KPROBE_ACTION_SIGKILL',
  Signal: 'KPROBE_ACTION_SIGNAL',
  Override: 'KPROBE_ACTION_OVERRIDE',
} as const;
export type PolicyActionName = (typeof POLICY_ACTIONS)[keyof typeof POLICY_ACTIONS];

interface PolicyEventBody {
  process: Process;
  parent?: Process;
  ancestors?: Process[];
  args: KprobeArgument[];
  /** The action the matching selector names; in monitor mode it was not performed. */
  action: PolicyActionName;
  policy_name: string;
  /** Present (= "monitor") when the policy runs in monitor mode. */
  policy_mode?: 'monitor';
  message?: string;
  tags?: string[];
}

export interface ProcessKprobe extends PolicyEventBody {
  function_name: string;
  return?: KprobeArgument;
}

export interface ProcessTracepoint extends PolicyEventBody {
  subsys: string;
  event: string;
}

export interface ProcessLsm extends PolicyEventBody {
  function_name: string;
}
