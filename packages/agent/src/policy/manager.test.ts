// The policy manager's event assembly with a fake backend: the event time is the report's kernel ktime,
// and a report waits until the process records before it have been handled (they travel through
// another ring), so it names the image that acted — not the one the pid runs by the time it is read.
import type { PeregrineEvent, Process } from '@peregrine/events';
import { parsePolicies } from '@peregrine/policy';
import { describe, expect, it } from 'vitest';
import type { EnforcementAdapter, HookRef, PolicyReport } from './adapter.js';
import { PolicyManager, type ProcessLookup } from './manager.js';

class FakeSyscall implements EnforcementAdapter {
  readonly backend = 'syscall_tracepoint' as const;
  refs: HookRef[] = [];
  onReports: (reports: PolicyReport[]) => void = () => {};
  compile(ref: HookRef): unknown[] {
    this.refs.push(ref);
    return [ref.ruleId];
  }
  async apply(): Promise<void> {}
  async stop(): Promise<void> {}
  stats(): Record<string, unknown> {
    return {};
  }
}

const proc = (binary: string): Process => ({ exec_id: binary, pid: 42, uid: 0, cwd: '/', binary, arguments: '', flags: 'execve', start_time: '', auid: 0, tid: 42 });

/** pid 42 ran dash from ktime 1,000 and cat from 3,000; the enricher has handled records up to `mark`. */
class FakeProcesses implements ProcessLookup {
  mark = 0n;
  processOfPid(pid: number, atNs?: bigint): { process: Process } | undefined {
    if (pid !== 42 || this.mark < 1_000n) return undefined;
    return { process: proc(atNs !== undefined && atNs < 3_000n ? '/usr/bin/dash' : this.mark >= 3_000n ? '/usr/bin/cat' : '/usr/bin/dash') };
  }
  watermarkNs(): bigint {
    return this.mark;
  }
  ktimeToIso(ns: bigint): string {
    return `t${ns}`;
  }
}

const POLICY = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: watch}
spec:
  kprobes:
  - {call: sys_openat, syscall: true, args: [{index: 1, type: string}]}
`;

async function setup(): Promise<{ fake: FakeSyscall; procs: FakeProcesses; m: PolicyManager; out: PeregrineEvent[] }> {
  const fake = new FakeSyscall();
  const procs = new FakeProcesses();
  const out: PeregrineEvent[] = [];
  const m = new PolicyManager([fake], new Set(['syscall_tracepoint']), 'node-a', procs, (evs) => out.push(...evs));
  await m.add(parsePolicies(POLICY, 'test'), 'test');
  return { fake, procs, m, out };
}

const report = (ruleId: number, ktimeNs: bigint): PolicyReport => ({ ruleId, pid: 42, args: [], selector: 0, action: 'Post', monitor: false, ktimeNs });
const binaries = (out: PeregrineEvent[]): string[] => out.flatMap((e) => ('process_kprobe' in e ? [e.process_kprobe.process.binary] : []));

describe('PolicyManager: report time and order', () => {
  it('waits for the watermark, then names the image that acted, timed by the kernel ktime', async () => {
    const { fake, procs, m, out } = await setup();
    procs.mark = 1_000n; // dash's exec handled; cat's exec (3,000) not yet
    const t0 = Date.now();
    fake.onReports([report(fake.refs[0]!.ruleId, 3_500n)]);
    expect(out).toEqual([]); // read before cat's exec record: held
    procs.mark = 3_000n; // cat's exec handled, but nothing yet at or after the report's 3,500
    m.tick(t0 + 1);
    expect(out).toEqual([]);
    procs.mark = 3_600n;
    m.tick(t0 + 2);
    expect(binaries(out)).toEqual(['/usr/bin/cat']);
    expect(out[0]?.time).toBe('t3500');
  });

  it('a report older than the last exec names the image before it', async () => {
    const { fake, procs, out } = await setup();
    procs.mark = 5_000n;
    fake.onReports([report(fake.refs[0]!.ruleId, 2_000n)]);
    expect(binaries(out)).toEqual(['/usr/bin/dash']);
  });

  it('an idle process ring does not hold a report longer than the order wait', async () => {
    const { fake, procs, m, out } = await setup();
    procs.mark = 1_000n;
    const t0 = Date.now();
    fake.onReports([report(fake.refs[0]!.ruleId, 9_000n)]);
    m.tick(t0 + 10);
    expect(out).toEqual([]);
    m.tick(t0 + 1_000);
    expect(binaries(out)).toEqual(['/usr/bin/dash']);
  });
});
