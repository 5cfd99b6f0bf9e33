// The seam between the policy manager and one enforcement/observation backend. An adapter compiles a
// hook of a policy into that backend's rules and applies the union of every loaded policy's rules;
// the backend's kernel or native side only looks them up.
import type { ConfigIssue, KprobeArgument } from '@peregrine/events';
import type { Backend, KprobeSpec, LsmHookSpec, TracepointSpec } from '@peregrine/policy';

export type PolicyModeName = 'enforce' | 'monitor';

/** One hook of one loaded policy, with the id its rules carry into the kernel and back in reports. */
export interface HookRef {
  ruleId: number;
  policy: string;
  /** e.g. spec.lsmhooks[0] */
  path: string;
  kind: 'lsmhooks' | 'kprobes' | 'tracepoints';
  spec: LsmHookSpec | KprobeSpec | TracepointSpec;
  mode: PolicyModeName;
}

/** What a backend saw: the rule that matched, who did it, the arguments, and what was done. */
export interface PolicyReport {
  ruleId: number;
  pid: number;
  args: KprobeArgument[];
  /** Index of the selector that matched (first match wins). */
  selector: number;
  /** The action the selector names (Post, Override, Sigkill, …). */
  action: string;
  /** True when the policy runs in monitor mode: the action was not performed. */
  monitor: boolean;
  /** The return value, for hooks that report at return. */
  ret?: KprobeArgument;
  /**
   * CLOCK_MONOTONIC ns of the kernel-side observation (bpf_ktime_get_ns, or when fanotify's event was
   * read): the event's time, and the instant its process is resolved at.
   */
  ktimeNs?: bigint;
}

export class CompileError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('; '));
  }
}

export interface EnforcementAdapter {
  readonly backend: Backend;
  /** The backend's rules for one hook; throws CompileError naming what it cannot express. */
  compile(ref: HookRef): unknown[];
  /** Replaces every rule of this backend (starting it on first use). No rules: stop and leave nothing behind. */
  apply(rules: unknown[]): Promise<void>;
  stop(): Promise<void>;
  stats(): Record<string, unknown>;
  /** Set once by the manager. */
  onReports: (reports: PolicyReport[]) => void;
}
