// The hook → backend mapping on this kernel, as `./peregrine probe` prints it: one representative
// policy per kind of hook, planned by the same planner that loads real policies, so the table can
// never disagree with what `policy add` does.
import { BACKENDS, parsePolicies, planPolicy, type Backend } from '@peregrine/policy';

const OVERRIDE = 'selectors: [{matchActions: [{action: Override, argError: -1}]}]';

/** One representative hook per kind, as the spec of a policy (YAML flow style). */
const PROBES: [hook: string, spec: string][] = [
  ['lsmhooks bprm_check_security + Override (deny exec)', `lsmhooks: [{hook: bprm_check_security, args: [{index: 0, type: linux_binprm}], ${OVERRIDE}}]`],
  ['lsmhooks file_open + Override (deny open)', `lsmhooks: [{hook: file_open, args: [{index: 0, type: file}], ${OVERRIDE}}]`],
  ['lsmhooks socket_connect + Override (deny connect)', `lsmhooks: [{hook: socket_connect, args: [{index: 1, type: sockaddr}], ${OVERRIDE}}]`],
  ['lsmhooks path_unlink (any other LSM hook)', 'lsmhooks: [{hook: path_unlink}]'],
  ['kprobes syscall: true (+ Sigkill)', 'kprobes: [{call: sys_openat, syscall: true, selectors: [{matchActions: [{action: Sigkill}]}]}]'],
  ['kprobes syscall: true + Override', `kprobes: [{call: sys_openat, syscall: true, ${OVERRIDE}}]`],
  ['kprobes on a kernel function', 'kprobes: [{call: tcp_connect, syscall: false}]'],
  ['kprobes on a kernel function + Override', `kprobes: [{call: security_file_open, syscall: false, ${OVERRIDE}}]`],
  ['tracepoints (any subsystem/event)', 'tracepoints: [{subsystem: sched, event: sched_process_exec}]'],
  ['tracepoints raw: true (TP_PROTO arguments, + Sigkill)', 'tracepoints: [{subsystem: sched, event: sched_process_exec, raw: true, selectors: [{matchActions: [{action: Sigkill}]}]}]'],
];

export interface HookMapping {
  hook: string;
  backend: Backend | null;
  /** The backend's description, or why the hook cannot be provided. */
  detail: string;
}

export function hookMapping(available: ReadonlySet<string>, implemented: ReadonlySet<Backend>): HookMapping[] {
  return PROBES.map(([hook, spec]) => {
    const [p] = parsePolicies(`apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: probe}\nspec:\n  ${spec}\n`, 'probe');
    const plan = planPolicy(p!, available, implemented);
    const h = plan.hooks[0];
    return h ? { hook, backend: h.backend, detail: BACKENDS[h.backend].describe } : { hook, backend: null, detail: plan.errors[0]?.message ?? 'refused' };
  });
}

export function formatHookMapping(rows: HookMapping[]): string {
  const w = Math.max(...rows.map((r) => r.hook.length));
  return ['policy hooks on this kernel (hook → backend):', ...rows.map((r) => `  ${r.hook.padEnd(w)}  ${r.backend ? `→ ${r.backend}: ${r.detail}` : `✘ ${r.detail}`}`)].join('\n');
}
