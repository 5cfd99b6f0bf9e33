// The planner: for each hook of a policy, the best backend the probed kernel offers that can honour
// the hook's selectors and actions — or an error naming the hook, the missing kernel feature and what
// would work instead. Never a silent downgrade.
import type { ConfigIssue } from '@peregrine/events';
import { renderPath } from './path.js';
import type { Selector, TracingPolicy } from './schema.js';

export type Backend =
  | 'bpf_lsm'
  | 'fmod_ret'
  | 'kprobe'
  | 'fentry'
  | 'fanotify_exec'
  | 'fanotify_open'
  | 'cgroup_connect'
  | 'syscall_tracepoint'
  | 'tracepoint'
  | 'tp_btf';

interface BackendInfo {
  /** The feature name of the kernel probe (packages/collector/src/probe) it needs. */
  feature: string;
  canDeny: boolean;
  canKill: boolean;
  /** Selector kinds it evaluates. */
  selectors: ReadonlySet<keyof Selector>;
  describe: string;
}

const ALL_SELECTORS = new Set<keyof Selector>([
  'matchArgs', 'matchBinaries', 'matchParentBinaries', 'matchPIDs', 'matchNamespaces', 'matchCapabilities', 'matchActions',
]);

export const BACKENDS: Record<Backend, BackendInfo> = {
  bpf_lsm: {
    feature: 'bpf_lsm',
    canDeny: true,
    canKill: true,
    selectors: ALL_SELECTORS,
    describe: 'BPF LSM program',
  },
  fmod_ret: { feature: 'fmod_ret', canDeny: true, canKill: true, selectors: ALL_SELECTORS, describe: 'fmod_ret program' },
  kprobe: { feature: 'kprobe', canDeny: false, canKill: true, selectors: ALL_SELECTORS, describe: 'kprobe' },
  fentry: { feature: 'fentry', canDeny: false, canKill: true, selectors: ALL_SELECTORS, describe: 'fentry program' },
  fanotify_exec: {
    feature: 'fanotify_exec_perm',
    canDeny: true,
    canKill: false,
    selectors: new Set(['matchArgs', 'matchBinaries', 'matchActions']),
    describe: 'fanotify FAN_OPEN_EXEC_PERM, answered by a native thread',
  },
  fanotify_open: {
    feature: 'fanotify_open_perm',
    canDeny: true,
    canKill: false,
    selectors: new Set(['matchArgs', 'matchBinaries', 'matchActions']),
    describe: 'fanotify FAN_OPEN_PERM, answered by a native thread',
  },
  cgroup_connect: {
    feature: 'cgroup_sock_addr',
    canDeny: true,
    canKill: false,
    selectors: new Set(['matchArgs', 'matchActions']),
    describe: 'cgroup/connect4 + connect6 programs on the cgroup2 root',
  },
  syscall_tracepoint: {
    feature: 'syscall_tracepoint',
    canDeny: false,
    canKill: true,
    selectors: new Set(['matchArgs', 'matchBinaries', 'matchParentBinaries', 'matchPIDs', 'matchNamespaces', 'matchCapabilities', 'matchActions']),
    describe: 'typed programs on the raw syscall tracepoints sys_enter (and sys_exit), in-kernel selectors',
  },
  tracepoint: { feature: 'tracepoint', canDeny: false, canKill: true, selectors: ALL_SELECTORS, describe: 'a tracepoint program per subsystem/event (generic_tp.o), in-kernel selectors' },
  tp_btf: {
    feature: 'tp_btf',
    canDeny: false,
    canKill: true,
    selectors: ALL_SELECTORS,
    describe: 'a typed raw tracepoint program (tp_btf) per event, TP_PROTO arguments from BTF, in-kernel selectors (kfunc.o)',
  },
};

/** Where each LSM hook can run when BPF LSM is refused. */
const LSM_FALLBACK: Record<string, Backend> = {
  bprm_check_security: 'fanotify_exec',
  file_open: 'fanotify_open',
  socket_connect: 'cgroup_connect',
};

export interface HookPlan {
  /** e.g. spec.lsmhooks[0] */
  path: string;
  /** e.g. "lsmhooks bprm_check_security" */
  hook: string;
  backend: Backend;
  describe: string;
}

export interface PolicyPlan {
  hooks: HookPlan[];
  errors: ConfigIssue[];
}

function actionsOf(selectors: Selector[] | undefined): Set<string> {
  return new Set((selectors ?? []).flatMap((s) => (s.matchActions ?? []).map((a) => a.action)));
}

function usedSelectors(selectors: Selector[] | undefined): Set<keyof Selector> {
  const used = new Set<keyof Selector>();
  for (const s of selectors ?? []) for (const k of Object.keys(s) as (keyof Selector)[]) if (s[k] !== undefined) used.add(k);
  return used;
}

/** Why a backend cannot take a hook, or null if it can. */
function refusal(b: Backend, selectors: Selector[] | undefined, available: ReadonlySet<string>, implemented: ReadonlySet<Backend>): string | null {
  const info = BACKENDS[b];
  if (!available.has(info.feature)) return `${info.describe}: not available on this kernel (feature ${info.feature})`;
  if (!implemented.has(b)) return `${info.describe}: this backend is not implemented in this build yet`;
  const actions = actionsOf(selectors);
  if (actions.has('Override') && !info.canDeny) return `${info.describe}: can only observe, it cannot honour Override`;
  if ((actions.has('Sigkill') || actions.has('Signal')) && !info.canKill) return `${info.describe}: cannot send signals (use Override to deny)`;
  const unsupported = [...usedSelectors(selectors)].filter((k) => !info.selectors.has(k));
  if (unsupported.length > 0) return `${info.describe}: cannot evaluate ${unsupported.join(', ')}`;
  return null;
}

function choose(
  path: PropertyKey[],
  hook: string,
  candidates: Backend[],
  selectors: Selector[] | undefined,
  available: ReadonlySet<string>,
  implemented: ReadonlySet<Backend>,
  alternative: string,
  out: PolicyPlan,
): void {
  const reasons: string[] = [];
  for (const b of candidates) {
    const why = refusal(b, selectors, available, implemented);
    if (why === null) {
      out.hooks.push({ path: renderPath(path), hook, backend: b, describe: BACKENDS[b].describe });
      return;
    }
    reasons.push(why);
  }
  const message = `${hook} cannot be provided on this kernel: ${reasons.join('; ')}.${alternative ? ` ${alternative}` : ''}`;
  out.errors.push({ path: renderPath(path), message });
}

/**
 * Plans every hook. `available` holds the names of the kernel features the probe found; `implemented`
 * the backends this build has.
 */
export function planPolicy(p: TracingPolicy, available: ReadonlySet<string>, implemented: ReadonlySet<Backend>): PolicyPlan {
  const out: PolicyPlan = { hooks: [], errors: [] };
  (p.spec.lsmhooks ?? []).forEach((h, i) => {
    const fallback = LSM_FALLBACK[h.hook];
    const candidates: Backend[] = fallback ? ['bpf_lsm', fallback] : ['bpf_lsm'];
    choose(['spec', 'lsmhooks', i], `lsmhooks ${h.hook}`, candidates, h.selectors, available, implemented,
      fallback ? '' : `Without BPF LSM, Peregrine enforces bprm_check_security, file_open and socket_connect (through fanotify and cgroup programs).`,
      out);
  });
  (p.spec.kprobes ?? []).forEach((k, i) => {
    const name = k.call.replace(/^(__x64_|__arm64_)?sys_/, '');
    if (k.syscall) {
      const candidates: Backend[] = actionsOf(k.selectors).has('Override') ? ['fmod_ret'] : ['syscall_tracepoint', 'kprobe'];
      choose(['spec', 'kprobes', i], `kprobes ${k.call} (syscall ${name})`, candidates, k.selectors, available, implemented,
        'To deny exec, open or connect on this kernel use lsmhooks bprm_check_security, file_open or socket_connect (BPF LSM, or fanotify and cgroup programs where it is absent).', out);
    } else if (actionsOf(k.selectors).has('Override')) {
      // Tetragon's rule: Override on a kernel function needs fmod_ret (or bpf_override_return) on a security_* hook or an
      // ALLOW_ERROR_INJECTION function; whether this one is, the kfunc backend checks when it compiles the hook.
      choose(['spec', 'kprobes', i], `kprobes ${k.call}`, ['fmod_ret'], k.selectors, available, implemented,
        'Override on a kernel function needs fmod_ret on a security_* hook or an ALLOW_ERROR_INJECTION function; to deny exec, open or connect on this kernel use lsmhooks bprm_check_security, file_open or socket_connect.', out);
    } else {
      // fentry where it loads (BTF-typed, cheaper); the kfunc backend falls back to a kprobe per function where fentry is refused.
      choose(['spec', 'kprobes', i], `kprobes ${k.call}`, ['fentry', 'kprobe'], k.selectors, available, implemented,
        'Kernel functions need kprobes or fentry; use tracepoints, syscall kprobes (syscall: true) or lsmhooks instead.', out);
    }
  });
  (p.spec.tracepoints ?? []).forEach((t, i) => {
    if (t.raw) {
      // Tetragon's raw tracepoints: the TP_PROTO arguments, typed by the kernel's BTF — tp_btf programs (5.5+, CONFIG_DEBUG_INFO_BTF).
      choose(['spec', 'tracepoints', i], `tracepoints ${t.subsystem}/${t.event} (raw)`, ['tp_btf'], t.selectors, available, implemented,
        'Raw tracepoints need typed raw tracepoint programs (tp_btf) and the kernel\'s BTF; omit raw: to read the format-file fields with the tracepoint backend.', out);
    } else {
      choose(['spec', 'tracepoints', i], `tracepoints ${t.subsystem}/${t.event}`, ['tracepoint'], t.selectors, available, implemented, '', out);
    }
  });
  return out;
}
