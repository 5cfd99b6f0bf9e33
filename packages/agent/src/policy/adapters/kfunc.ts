// kprobes on kernel functions (and syscalls whose selectors Override) → the kfunc backend
// (packages/collector/src/kfunc): fentry, kprobe or fmod_ret programs with in-kernel selectors. The
// planner picks one of three backends per hook (fentry where it loads, else kprobe; fmod_ret to
// Override); all three adapters, and the tp_btf one for raw tracepoints (./rawtp.ts), share one
// KfuncBackend — one set of tables and one ring — and each adapter's apply() replaces its own share of
// the rules. Reports come back with the hook id (the HookRef's ruleId) and go out through the adapter
// that compiled it.
import type { KprobeArgument, ProcessCredentials } from '@peregrine/events';
import { ConfigError } from '@peregrine/events';
import { kfunc } from '@peregrine/collector';
import { CAPABILITY_NAMES, capabilityNames } from '@peregrine/enricher';
import type { KprobeSpec } from '@peregrine/policy';
import { CompileError, type EnforcementAdapter, type HookRef, type PolicyReport } from '../adapter.js';
import { bytesArg, intOrLongArg } from './lazy-backend.js';

type KfuncBackendName = 'fentry' | 'kprobe' | 'fmod_ret' | 'tp_btf';

/** An adapter whose hooks run on the shared backend: it turns their reports into PolicyReports. */
export interface KfuncOwner {
  deliver(reports: kfunc.KfuncReport[]): void;
}
const ACTION: Record<kfunc.RawKfuncRecord['action'], string> = { post: 'Post', override: 'Override', sigkill: 'Sigkill', signal: 'Signal' };
const PROTOCOLS: Record<number, string> = { 1: 'IPPROTO_ICMP', 6: 'IPPROTO_TCP', 17: 'IPPROTO_UDP', 58: 'IPPROTO_ICMPV6', 255: 'IPPROTO_RAW' };

/** Tetragon's SecureBitsType names, bit n = value 1 << n (include/uapi/linux/securebits.h). */
const SECUREBITS = [
  'SecBitNoRoot', 'SecBitNoRootLocked', 'SecBitNoSetUidFixup', 'SecBitNoSetUidFixupLocked', 'SecBitKeepCaps', 'SecBitKeepCapsLocked',
  'SecBitNoCapAmbientRaise', 'SecBitNoCapAmbientRaiseLocked',
];
/** The initial user namespace's inode number (PROC_USER_INIT_INO), what Tetragon's is_host compares with. */
const HOST_USER_NS_INUM = 0xeffffffd;

/** A struct cred as Tetragon's ProcessCredentials (process_credentials_arg). */
export function credentials(c: kfunc.KfuncCred): ProcessCredentials {
  const securebits = SECUREBITS.filter((_, bit) => (c.securebits & (1 << bit)) !== 0);
  return {
    uid: c.uid, gid: c.gid, euid: c.euid, egid: c.egid, suid: c.suid, sgid: c.sgid, fsuid: c.fsuid, fsgid: c.fsgid,
    ...(securebits.length > 0 ? { securebits } : {}),
    caps: { permitted: capabilityNames(c.permitted), effective: capabilityNames(c.effective), inheritable: capabilityNames(c.inheritable) },
    user_ns: {
      level: c.userNs.level, uid: c.userNs.uid, gid: c.userNs.gid,
      ns: { inum: c.userNs.inum, is_host: c.userNs.level === 0 || c.userNs.inum === HOST_USER_NS_INUM },
    },
  };
}

function intArgument(value: bigint, declared: string | undefined, l: { label?: string }): KprobeArgument {
  const n = BigInt.asIntN(64, value);
  if (declared === 'capability') return { capability_arg: { value: Number(n), name: CAPABILITY_NAMES[Number(n)] ?? String(n) }, ...l };
  if (declared === 'size_t') return { size_arg: BigInt.asUintN(64, value).toString(), ...l };
  return intOrLongArg(declared?.startsWith('uint') ? BigInt.asUintN(64, value) : n, l);
}

/** One reported argument in Tetragon's shape (file_arg, path_arg, linux_binprm_arg, sock_arg, sockaddr_arg, string_arg, bytes_arg, int_arg…). */
export function kfuncArgument(v: kfunc.KfuncArgValue, declared: string | undefined, label: string | undefined): KprobeArgument {
  const l = label ? { label } : {};
  switch (v.kind) {
    case 'int':
      return intArgument(v.value, declared, l);
    case 'string':
      return { string_arg: v.value, ...l };
    case 'buf':
      return bytesArg(v, l);
    case 'path':
      if (v.type === 'linux_binprm') return { linux_binprm_arg: { path: v.path }, ...l };
      if (v.type === 'path') return { path_arg: { path: v.path }, ...l };
      return { file_arg: { path: v.path }, ...l }; // file, fd
    case 'sockaddr':
      return { sockaddr_arg: { family: v.familyName, addr: v.addr, port: v.port }, ...l };
    case 'sock':
      return {
        sock_arg: {
          family: v.familyName,
          protocol: v.protocol === null ? '' : PROTOCOLS[v.protocol] ?? String(v.protocol),
          ...(v.saddr !== null ? { saddr: v.saddr } : {}),
          daddr: v.daddr ?? '',
          ...(v.sport !== null ? { sport: v.sport } : {}),
          dport: v.dport ?? 0,
        },
        ...l,
      };
    case 'cred':
      return { process_credentials_arg: v.cred ? credentials(v.cred) : {}, ...l };
  }
}

/** The one KfuncBackend the three adapters share, with each adapter's share of the rules. */
export class SharedKfunc {
  readonly impl: kfunc.KfuncBackend;
  private readonly rules = new Map<KfuncBackendName, kfunc.KfuncHook[]>();
  readonly owners = new Map<number, KfuncOwner>();

  constructor(opts: kfunc.KfuncBackendOptions = {}) {
    this.impl = new kfunc.KfuncBackend(opts);
    this.impl.onReport((reports) => {
      const by = new Map<KfuncOwner, kfunc.KfuncReport[]>();
      for (const r of reports) {
        const a = this.owners.get(r.hookId);
        if (a) by.set(a, [...(by.get(a) ?? []), r]);
      }
      for (const [a, rs] of by) a.deliver(rs);
    });
  }

  async apply(backend: KfuncBackendName, rules: kfunc.KfuncHook[]): Promise<void> {
    const before = this.rules.get(backend) ?? [];
    this.rules.set(backend, rules);
    const all = [...this.rules.values()].flat();
    try {
      if (all.length === 0) {
        await this.impl.stop();
        return;
      }
      if (!this.impl.started) this.impl.start();
      this.impl.apply(all);
    } catch (e) {
      this.rules.set(backend, before);
      throw e;
    }
  }

  async stop(backend: KfuncBackendName): Promise<void> {
    await this.apply(backend, []);
  }
}

/** One record as a PolicyReport, its arguments in Tetragon's shapes, typed and labelled as the spec declares them. */
export function kfuncReport(r: kfunc.KfuncReport, spec: { args?: { index: number; type: string; label?: string }[]; returnArg?: { type: string; label?: string } } | undefined): PolicyReport {
  const args = new Map((spec?.args ?? []).map((a) => [a.index, a]));
  const report: PolicyReport = {
    ruleId: r.hookId,
    selector: r.selector,
    pid: r.tgid,
    ktimeNs: r.ktime,
    args: r.args.map((a) => kfuncArgument(a, args.get(a.index)?.type, args.get(a.index)?.label)),
    action: ACTION[r.action],
    monitor: r.monitor,
  };
  if (r.ret !== null) report.ret = intArgument(r.ret, spec?.returnArg?.type, spec?.returnArg?.label ? { label: spec.returnArg.label } : {});
  return report;
}

/**
 * An adapter whose hooks run on the shared KfuncBackend: the kprobe/fentry/fmod_ret adapters below and the
 * tp_btf one (./rawtp.ts) differ only in how a hook compiles; applying, stopping, stats and turning records
 * into PolicyReports are the same.
 */
export abstract class SharedKfuncAdapter<Spec extends Parameters<typeof kfuncReport>[1]> implements EnforcementAdapter, KfuncOwner {
  abstract readonly backend: KfuncBackendName;
  onReports: (reports: PolicyReport[]) => void = () => undefined;
  private readonly specs = new Map<number, Spec>();

  constructor(protected readonly shared: SharedKfunc) {}

  /** The hook for one policy entry; a ConfigError's issues become the CompileError's. */
  protected abstract compileHook(ref: HookRef, spec: Spec): kfunc.KfuncHook;

  compile(ref: HookRef): unknown[] {
    const spec = ref.spec as unknown as Spec; // the planner routes each hook kind to its adapter
    try {
      const hook = this.compileHook(ref, spec);
      this.specs.set(ref.ruleId, spec);
      this.shared.owners.set(ref.ruleId, this);
      return [hook];
    } catch (e) {
      if (e instanceof ConfigError) throw new CompileError(e.issues);
      throw e;
    }
  }

  async apply(rules: unknown[]): Promise<void> {
    await this.shared.apply(this.backend, rules as kfunc.KfuncHook[]);
  }

  async stop(): Promise<void> {
    await this.shared.stop(this.backend);
  }

  stats(): Record<string, unknown> {
    return this.shared.impl.started ? { ...this.shared.impl.stats() } : { started: false };
  }

  /** Reports of the hooks this adapter compiled, in Tetragon's argument shapes. */
  deliver(reports: kfunc.KfuncReport[]): void {
    const out = reports.map((r) => kfuncReport(r, this.specs.get(r.hookId)));
    if (out.length > 0) this.onReports(out);
  }
}

export class KfuncAdapter extends SharedKfuncAdapter<KprobeSpec> {
  constructor(
    readonly backend: Exclude<KfuncBackendName, 'tp_btf'>,
    shared: SharedKfunc,
    private readonly kernel?: kfunc.KernelFunctions,
  ) {
    super(shared);
  }

  protected compileHook(ref: HookRef, spec: KprobeSpec): kfunc.KfuncHook {
    return kfunc.compileKfuncHook(ref.policy, spec, ref.mode, {
      id: ref.ruleId, path: ref.path, backend: this.backend, ...(this.kernel ? { kernel: this.kernel } : {}),
    });
  }
}
