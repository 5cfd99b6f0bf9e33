// Loaded policies: validation → plan (backend per hook, from what the kernel probe found) → compile →
// apply, atomically: a policy either loads whole or not at all, and a failed apply restores the rule
// sets that were in force before.
import { POLICY_ACTIONS, type PeregrineEvent, type PolicyActionName } from '@peregrine/events';
import { planPolicy, policyMode, PolicyError, type Backend, type TracingPolicy } from '@peregrine/policy';
import type { EnforcementAdapter, HookRef, PolicyModeName, PolicyReport } from './adapter.js';
import { CompileError } from './adapter.js';

export interface HookStatus {
  path: string;
  hook: string;
  backend: Backend;
  describe: string;
  status: 'attached' | 'error';
}

export interface PolicyStatus {
  name: string;
  kind: string;
  state: 'loaded' | 'error';
  reason?: string;
  mode: PolicyModeName;
  hooks: HookStatus[];
  events: number;
  actions: Record<string, number>;
}

interface Loaded {
  policy: TracingPolicy;
  mode: PolicyModeName;
  hooks: { ref: HookRef; backend: Backend; status: HookStatus; rules: unknown[] }[];
  events: number;
  actions: Record<string, number>;
}

export interface ProcessLookup {
  /** The image pid ran at ktime atNs (CLOCK_MONOTONIC ns; default: now), with its parent. */
  processOfPid(pid: number, atNs?: bigint): { process: import('@peregrine/events').Process; parent?: import('@peregrine/events').Process } | undefined;
  /** Every process record up to this ktime has been handled (the enricher's high-water mark). */
  watermarkNs?(): bigint;
  /** CLOCK_MONOTONIC ns → RFC3339, on the same clock as the process events. */
  ktimeToIso?(ns: bigint): string;
}

export class PolicyManager {
  private readonly loaded = new Map<string, Loaded>();
  private readonly byRule = new Map<number, { name: string; ref: HookRef }>();
  private nextRuleId = 1;
  private readonly adapters: Map<Backend, EnforcementAdapter>;
  private chain: Promise<unknown> = Promise.resolve();
  readonly counters = { reports: 0, unknownRule: 0, unknownProcess: 0 };

  constructor(
    adapters: EnforcementAdapter[],
    private readonly available: ReadonlySet<string>,
    private readonly nodeName: string,
    private readonly processes: ProcessLookup,
    private readonly emit: (events: PeregrineEvent[]) => void,
  ) {
    this.adapters = new Map(adapters.map((a) => [a.backend, a]));
    for (const a of adapters) a.onReports = (r) => this.onReports(r);
  }

  /** Serialises control operations: one change at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  implemented(): Set<Backend> {
    return new Set(this.adapters.keys());
  }

  add(policies: TracingPolicy[], source: string, modeOverride?: PolicyModeName): Promise<PolicyStatus[]> {
    return this.serial(async () => {
      const issues: { path: string; message: string }[] = [];
      const staged: Loaded[] = [];
      for (const p of policies) {
        const name = p.metadata.name;
        if (this.loaded.has(name)) {
          issues.push({ path: 'metadata.name', message: `a policy named '${name}' is already loaded (delete it first)` });
          continue;
        }
        const plan = planPolicy(p, this.available, this.implemented());
        issues.push(...plan.errors);
        const mode = modeOverride ?? policyMode(p);
        const l: Loaded = { policy: p, mode, hooks: [], events: 0, actions: {} };
        for (const h of plan.hooks) {
          const [, kind, idx] = /^spec\.(\w+)\[(\d+)\]$/.exec(h.path) ?? [];
          const list = p.spec[kind as 'lsmhooks' | 'kprobes' | 'tracepoints'] ?? [];
          const spec = list[Number(idx)];
          if (!spec) continue;
          const ref: HookRef = { ruleId: this.nextRuleId++, policy: name, path: h.path, kind: kind as HookRef['kind'], spec, mode };
          try {
            const rules = this.adapters.get(h.backend)!.compile(ref);
            l.hooks.push({ ref, backend: h.backend, rules, status: { ...h, status: 'attached' } });
          } catch (e) {
            if (!(e instanceof CompileError)) throw e;
            issues.push(...e.issues);
          }
        }
        staged.push(l);
      }
      if (issues.length > 0) throw new PolicyError(`policy ${source}`, issues);
      const touched = new Set(staged.flatMap((l) => l.hooks.map((h) => h.backend)));
      for (const l of staged) this.loaded.set(l.policy.metadata.name, l);
      try {
        await this.applyBackends(touched);
      } catch (e) {
        for (const l of staged) this.loaded.delete(l.policy.metadata.name);
        await this.applyBackends(touched).catch(() => undefined);
        throw e;
      }
      for (const l of staged) for (const h of l.hooks) this.byRule.set(h.ref.ruleId, { name: l.policy.metadata.name, ref: h.ref });
      return staged.map((l) => this.status(l));
    });
  }

  delete(name: string): Promise<void> {
    return this.serial(async () => {
      const l = this.loaded.get(name);
      if (!l) throw new PolicyError('policy delete', [{ path: name, message: 'no policy of that name is loaded' }]);
      this.loaded.delete(name);
      for (const h of l.hooks) this.byRule.delete(h.ref.ruleId);
      await this.applyBackends(new Set(l.hooks.map((h) => h.backend)));
    });
  }

  setMode(name: string, mode: PolicyModeName): Promise<PolicyStatus> {
    return this.serial(async () => {
      const l = this.loaded.get(name);
      if (!l) throw new PolicyError('policy mode', [{ path: name, message: 'no policy of that name is loaded' }]);
      const before = l.mode;
      l.mode = mode;
      for (const h of l.hooks) {
        h.ref = { ...h.ref, mode };
        h.rules = this.adapters.get(h.backend)!.compile(h.ref);
        this.byRule.set(h.ref.ruleId, { name, ref: h.ref });
      }
      try {
        await this.applyBackends(new Set(l.hooks.map((h) => h.backend)));
      } catch (e) {
        l.mode = before;
        throw e;
      }
      return this.status(l);
    });
  }

  list(): PolicyStatus[] {
    return [...this.loaded.values()].map((l) => this.status(l));
  }

  /** The counters of every backend that loaded policies use (decisions, caches, drops). */
  backendStats(): Record<string, Record<string, unknown>> {
    const used = new Set([...this.loaded.values()].flatMap((l) => l.hooks.map((h) => h.backend)));
    return Object.fromEntries([...used].flatMap((b) => {
      const a = this.adapters.get(b);
      return a ? [[b, a.stats()]] : [];
    }));
  }

  /** Stops every backend (each drains its reports first), emits what still waited, unloads all. */
  async stop(): Promise<void> {
    await this.serial(async () => {
      for (const a of this.adapters.values()) await a.stop();
      this.tick(Number.POSITIVE_INFINITY);
      this.loaded.clear();
      this.byRule.clear();
    });
  }

  private async applyBackends(backends: Set<Backend>): Promise<void> {
    for (const b of backends) {
      const rules = [...this.loaded.values()].flatMap((l) => l.hooks.filter((h) => h.backend === b).flatMap((h) => h.rules));
      await this.adapters.get(b)!.apply(rules);
    }
  }

  private status(l: Loaded): PolicyStatus {
    return {
      name: l.policy.metadata.name,
      kind: l.policy.kind,
      state: 'loaded',
      mode: l.mode,
      hooks: l.hooks.map((h) => h.status),
      events: l.events,
      actions: { ...l.actions },
    };
  }

  /**
   * Reports whose pid the enricher does not know yet: a report can overtake the exec record of its
   * process (they travel through different rings). Retried on tick() until RESOLVE_WAIT_MS.
   */
  private waiting: { r: PolicyReport; at: number; time: string }[] = [];
  private static readonly RESOLVE_WAIT_MS = 1000;
  /**
   * How long a report waits for the process records that precede it (the exec of the process that
   * acted travels through another ring): until the enricher's watermark passes the report's ktime, at
   * most this long (an idle process ring moves no watermark).
   */
  private static readonly ORDER_WAIT_MS = 50;
  private static readonly MAX_WAITING = 65536;

  /** Retries reports waiting for their process; the agent calls it on its tick. */
  tick(now = Date.now()): void {
    if (this.waiting.length === 0) return;
    const list = this.waiting;
    this.waiting = [];
    this.resolve(list, now);
  }

  private onReports(reports: PolicyReport[]): void {
    const arrival = new Date().toISOString();
    const toIso = this.processes.ktimeToIso?.bind(this.processes);
    this.counters.reports += reports.length;
    const now = Date.now();
    this.resolve(reports.map((r) => ({ r, at: now, time: r.ktimeNs !== undefined && toIso ? toIso(r.ktimeNs) : arrival })), now);
  }

  private resolve(items: { r: PolicyReport; at: number; time: string }[], now: number): void {
    const out: PeregrineEvent[] = [];
    for (const item of items) {
      const { r, time } = item;
      const owner = this.byRule.get(r.ruleId);
      const l = owner && this.loaded.get(owner.name);
      if (!owner || !l) {
        this.counters.unknownRule++;
        continue;
      }
      const waited = now - item.at;
      const behind = r.ktimeNs !== undefined && this.processes.watermarkNs !== undefined && this.processes.watermarkNs() < r.ktimeNs;
      if (r.action !== 'NoPost' && behind && waited < PolicyManager.ORDER_WAIT_MS && this.waiting.length < PolicyManager.MAX_WAITING) {
        this.waiting.push(item);
        continue;
      }
      const ctx = r.action === 'NoPost' ? undefined : this.processes.processOfPid(r.pid, r.ktimeNs);
      if (r.action !== 'NoPost' && !ctx && waited < PolicyManager.RESOLVE_WAIT_MS && this.waiting.length < PolicyManager.MAX_WAITING) {
        this.waiting.push(item);
        continue;
      }
      const key = r.monitor ? `monitor_${r.action}` : r.action;
      l.actions[key] = (l.actions[key] ?? 0) + 1;
      if (r.action === 'NoPost') continue;
      l.events++;
      if (!ctx) this.counters.unknownProcess++;
      const process = ctx?.process ?? minimalProcess(r.pid);
      const body = {
        process,
        ...(ctx?.parent ? { parent: ctx.parent } : {}),
        args: r.args,
        action: (POLICY_ACTIONS[r.action as keyof typeof POLICY_ACTIONS] ?? 'KPROBE_ACTION_POST') as PolicyActionName,
        policy_name: owner.name,
        ...(r.monitor ? { policy_mode: 'monitor' as const } : {}),
        ...(owner.ref.spec.message ? { message: owner.ref.spec.message } : {}),
        ...(owner.ref.spec.tags ? { tags: owner.ref.spec.tags } : {}),
      };
      const spec = owner.ref.spec;
      if ('hook' in spec) out.push({ process_lsm: { function_name: spec.hook, ...body }, node_name: this.nodeName, time });
      else if ('call' in spec) {
        out.push({ process_kprobe: { function_name: spec.call, ...body, ...(r.ret ? { return: r.ret } : {}) }, node_name: this.nodeName, time });
      }
      else out.push({ process_tracepoint: { subsys: spec.subsystem, event: spec.event, ...body }, node_name: this.nodeName, time });
    }
    if (out.length > 0) this.emit(out);
  }
}

function minimalProcess(pid: number): import('@peregrine/events').Process {
  return { exec_id: '', pid, uid: 0xffffffff, cwd: '', binary: '', arguments: '', flags: 'unknown', start_time: '', auid: 0xffffffff, tid: pid };
}
