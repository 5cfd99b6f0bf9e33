// `tracepoints:` with `raw: true` through the agent on the real kernel: the kfunc backend's tp_btf sites
// (kf_tpbtf_N, one per event), TP_PROTO arguments typed by the policy and checked against the kernel's
// BTF; process_tracepoint events with Tetragon's argument shapes. tp_btf loads where trampolines and
// kprobes do not (the development hosts), so this runs on every kernel of the matrix. Every Sigkill rule
// names a file of this test's temporary directory.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeregrineEvent, ProcessTracepoint } from '@peregrine/events';
import { canRunBpf, startAgent, type RunningAgent } from '../helpers/agent.js';
import { kernelFeatures, scaled } from '../helpers/kernel.js';
import { request } from '../../packages/agent/src/control/client.js';

const dir = mkdtempSync(join(tmpdir(), 'peregrine-rawtp-'));
const sock = join(dir, 'ctl.sock');
const bin = (name: string): string => join(dir, 'bin', name);
const tps = (evs: PeregrineEvent[], name: string): ProcessTracepoint[] =>
  evs.flatMap((e) => ('process_tracepoint' in e && e.process_tracepoint.policy_name === name ? [e.process_tracepoint] : []));
const sh = (cmd: string, shell = '/bin/sh') => spawnSync(shell, ['-c', cmd], { encoding: 'utf8', cwd: dir, timeout: scaled(60_000) });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Ids of the loaded tp_btf site programs of the kfunc backend. */
const siteProgs = (): number[] =>
  (JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' }) || '[]') as { id: number; name?: string }[])
    .filter((p) => p.name?.startsWith('kf_tpbtf_')).map((p) => p.id);

// sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm): index 2 is the
// binprm, 1 the pid before exec. Selector 0 kills one binary by exact path; selector 1 reports execs of
// this test's bin/ by the binaries the kernel says ran (matchBinaries: the new image at this tracepoint).
const exec = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: rawtp-exec}
spec:
  tracepoints:
  - subsystem: sched
    event: sched_process_exec
    raw: true
    args: [{index: 2, type: linux_binprm, label: bprm}, {index: 1, type: int, label: old_pid}]
    message: exec via raw tracepoint
    tags: [rawtp]
    selectors:
    - matchArgs: [{index: 2, operator: Equal, values: ["${bin('victim')}"]}]
      matchActions: [{action: Sigkill}]
    - matchArgs: [{index: 2, operator: Prefix, values: ["${dir}/bin/"]}]
      matchBinaries: [{operator: In, values: ["${bin('post-true')}"]}]
`;

// signal_generate(int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result):
// an int argument at index 0, in the sender's context (this test's copy of dash).
const signal = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: rawtp-signal}
spec:
  tracepoints:
  - subsystem: signal
    event: signal_generate
    raw: true
    args: [{index: 0, type: int, label: sig}, {index: 4, type: int, label: result}]
    selectors:
    - matchArgs: [{index: 0, operator: Equal, values: ["12"]}]
      matchBinaries: [{operator: In, values: ["${bin('rootsh')}"]}]
`;

describe.skipIf(!canRunBpf() || !kernelFeatures().has('tp_btf'))('raw tracepoints (tp_btf sites of the kfunc backend)', () => {
  let agent: RunningAgent;
  let events: PeregrineEvent[] = [];
  let progs: number[] = [];

  beforeAll(async () => {
    mkdirSync(join(dir, 'bin'));
    for (const b of ['post-true', 'other-true']) copyFileSync('/bin/true', bin(b));
    for (const b of ['victim', 'rootsh']) copyFileSync('/bin/dash', bin(b));
    for (const b of ['post-true', 'other-true', 'victim', 'rootsh']) chmodSync(bin(b), 0o755);
    writeFileSync(join(dir, 'exec.yaml'), exec);
    writeFileSync(join(dir, 'signal.yaml'), signal);
    agent = await startAgent(['--tracing-policy', join(dir, 'exec.yaml'), '--tracing-policy', join(dir, 'signal.yaml'), '--server-socket', sock]);
  });

  afterAll(() => {
    if (agent && agent.proc.exitCode === null) agent.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the hooks as attached on the tp_btf backend, one site program per event', async () => {
    const r = await request(sock, { op: 'policy.list' });
    expect(r.ok).toBe(true);
    const hooks = (r.ok ? r.policies ?? [] : []).flatMap((p) => p.hooks);
    expect(hooks).toContainEqual(expect.objectContaining({ path: 'spec.tracepoints[0]', hook: 'tracepoints sched/sched_process_exec (raw)', backend: 'tp_btf', status: 'attached' }));
    expect(hooks).toContainEqual(expect.objectContaining({ hook: 'tracepoints signal/signal_generate (raw)', backend: 'tp_btf', status: 'attached' }));
    progs = siteProgs();
    expect(progs.length).toBeGreaterThanOrEqual(2);
  });

  it('Sigkill on an exact binprm path: the exec dies (137) before the binary writes its marker', () => {
    const r = sh(`${bin('victim')} -c 'echo after > ${dir}/marker'; echo rc=$?`);
    expect(r.stdout.trim()).toBe('rc=137');
    expect(existsSync(join(dir, 'marker'))).toBe(false);
  });

  it('Post on Prefix + matchBinaries: the listed binary is reported, another binary of the same directory is not', () => {
    expect(sh(`${bin('post-true')}; ${bin('other-true')}; /bin/true`).status).toBe(0);
  });

  it('int arguments: a SIGUSR2 sent by the listed binary is reported, a SIGUSR1 is not', () => {
    // To itself, with a handler: delivered (result 0), whatever the timing.
    expect(sh(`trap : USR1 USR2; kill -USR1 $$; kill -USR2 $$; true`, bin('rootsh')).status).toBe(0);
  });

  it('refuses Override, an index past TP_PROTO, a type that does not fit and an unknown event, with precise paths', async () => {
    const bad = async (yaml: string) => {
      const r = await request(sock, { op: 'policy.add', yaml, source: 'test' });
      expect(r.ok).toBe(false);
      return r.ok ? [] : (r.issues ?? []).map((i) => `${i.path}: ${i.message}`);
    };
    const base = (body: string) => `apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: rawtp-bad}\nspec:\n  tracepoints:\n${body}`;
    const tp = 'subsystem: sched, event: sched_process_exec, raw: true';
    expect((await bad(base(`  - {${tp}, args: [{index: 2, type: linux_binprm}], selectors: [{matchArgs: [{index: 2, operator: Prefix, values: [/x/]}], matchActions: [{action: Override, argError: -1}]}]}\n`))).join('\n'))
      .toMatch(/spec\.tracepoints\[0\]\.selectors\[0\]\.matchActions\[0\]\.action: Override/);
    expect(await bad(base(`  - {${tp}, args: [{index: 0, type: int}, {index: 3, type: file}]}\n`))).toEqual([
      'spec.tracepoints[0].args[1].index: raw tracepoint sched/sched_process_exec has 3 arguments (0: struct task_struct *, 1: pid_t, 2: struct linux_binprm *; counted from 0 in TP_PROTO order): there is no argument 3',
    ]);
    expect(await bad(base(`  - {${tp}, args: [{index: 0, type: linux_binprm}]}\n`))).toEqual([
      "spec.tracepoints[0].args[0].type: argument 0 of raw tracepoint sched/sched_process_exec is 'struct task_struct *': linux_binprm reads a 'struct linux_binprm *'",
    ]);
    expect(await bad(base(`  - {subsystem: sched, event: sched_no_such_event, raw: true}\n`)))
      .toEqual(['spec.tracepoints[0].event: raw tracepoint sched/sched_no_such_event does not exist on this kernel (its BTF has no btf_trace_sched_no_such_event): check the name (and the kernel version)']);
  });

  it('monitor mode reports the kill it withheld and lets the process run', async () => {
    expect((await request(sock, { op: 'policy.mode', name: 'rawtp-exec', mode: 'monitor' })).ok).toBe(true);
    const r = sh(`${bin('victim')} -c 'echo after > ${dir}/marker2'; echo rc=$?`);
    expect(r.stdout.trim()).toBe('rc=0');
    expect(existsSync(join(dir, 'marker2'))).toBe(true);
  });

  it('runtime delete detaches and unloads the site programs', async () => {
    // Reports wait up to 1 s for their process's exec record; deleting the policy first would drop them.
    await sleep(scaled(1200));
    for (const name of ['rawtp-exec', 'rawtp-signal']) expect((await request(sock, { op: 'policy.delete', name })).ok).toBe(true);
    // A raw tracepoint link lets go of its program after an RCU grace period (asynchronously): poll.
    const gone = async (): Promise<number[]> => {
      const end = Date.now() + scaled(5000);
      for (;;) {
        const left = new Set(siteProgs());
        const still = progs.filter((id) => left.has(id));
        if (still.length === 0 || Date.now() > end) return still;
        await sleep(50);
      }
    };
    expect(await gone()).toEqual([]);
  });

  it('events: exactly the expected ones, with subsys/event, typed and labelled args, policy, action', async () => {
    await sleep(scaled(300));
    events = await agent.stop();
    const ex = tps(events, 'rawtp-exec');
    const paths = ex.map((e) => e.args.find((a) => a.label === 'bprm'));
    const killed = ex.filter((e) => e.action === 'KPROBE_ACTION_SIGKILL' && !e.policy_mode);
    expect(killed).toHaveLength(1);
    expect(killed[0]).toMatchObject({ subsys: 'sched', event: 'sched_process_exec', policy_name: 'rawtp-exec', message: 'exec via raw tracepoint', tags: ['rawtp'] });
    expect(killed[0]?.args).toEqual([{ linux_binprm_arg: { path: bin('victim') }, label: 'bprm' }, { int_arg: killed[0]?.process.pid, label: 'old_pid' }]);
    const posted = ex.filter((e) => e.action === 'KPROBE_ACTION_POST');
    expect(posted.map((e) => e.args[0])).toEqual([{ linux_binprm_arg: { path: bin('post-true') }, label: 'bprm' }]);
    expect(posted[0]?.args[1]).toEqual({ int_arg: posted[0]?.process.pid, label: 'old_pid' });
    expect(paths).not.toContainEqual(expect.objectContaining({ linux_binprm_arg: { path: bin('other-true') } }));
    expect(paths).not.toContainEqual(expect.objectContaining({ linux_binprm_arg: { path: '/bin/true' } }));
    const monitored = ex.filter((e) => e.policy_mode === 'monitor');
    expect(monitored.map((e) => [e.action, e.args[0]])).toEqual([['KPROBE_ACTION_SIGKILL', { linux_binprm_arg: { path: bin('victim') }, label: 'bprm' }]]);

    const sig = tps(events, 'rawtp-signal');
    expect(sig.map((e) => e.args)).toEqual([[{ int_arg: 12, label: 'sig' }, { int_arg: 0, label: 'result' }]]);
    expect(sig[0]).toMatchObject({ subsys: 'signal', event: 'signal_generate', action: 'KPROBE_ACTION_POST', policy_name: 'rawtp-signal' });
    expect(sig[0]?.process.binary).toBe(bin('rootsh'));
  });
});
