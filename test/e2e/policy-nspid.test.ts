// matchPIDs with isNamespacePID through the agent, on the syscall tracepoint and (where the kernel runs
// it) BPF LSM backends — one engine, sel__load_process + sel_filter.h: the values are compared with the
// pid a process has in its own pid namespace. In a new namespace (`unshare --pid --fork`) the first
// process is pid 1 and its first child pid 2; in the host namespace those are init and kthreadd, which
// never open these files.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeregrineEvent } from '@peregrine/events';
import { canRunBpf, startAgent, type RunningAgent } from '../helpers/agent.js';
import { kernelFeatures, scaled } from '../helpers/kernel.js';

const dir = mkdtempSync(join(tmpdir(), 'peregrine-nspid-'));
const inDir = join(dir, 'in');
const notInDir = join(dir, 'notin');

const policy = (name: string, operator: 'In' | 'NotIn', values: number[], prefix: string, followForks = false): string => `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: ${name}}
spec:
  kprobes:
  - call: sys_openat
    syscall: true
    args: [{index: 1, type: string, label: filename}]
    selectors:
    - matchPIDs: [{operator: ${operator},${followForks ? ' followForks: true,' : ''} isNamespacePID: true, values: [${values.join(', ')}]}]
      matchArgs: [{index: 1, operator: Prefix, values: ["${prefix}/"]}]
`;

/** Runs argv as pid 1 of a new pid namespace (with its own /proc). */
const inNewPidNs = (...argv: string[]) => spawnSync('unshare', ['--pid', '--fork', '--mount-proc', ...argv], { encoding: 'utf8' });

const opened = (evs: PeregrineEvent[], policyName: string): { path: string; binary: string }[] =>
  evs.flatMap((e) => {
    if (!('process_kprobe' in e) || e.process_kprobe.policy_name !== policyName) return [];
    const k = e.process_kprobe;
    const arg = k.args.find((a) => 'string_arg' in a);
    return [{ path: arg && 'string_arg' in arg ? arg.string_arg : '', binary: k.process.binary }];
  });

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/*
 * followForks with isNamespacePID (Tetragon's semantics): the process and its real_parent ancestors, 10
 * in all, each by the pid its own pid namespace gives it. chain.sh n cmd… runs cmd as the n-th
 * descendant of the sh it starts (each sh waits for its child, which is never exec'd in its place).
 */
const chain = join(dir, 'chain.sh');
writeFileSync(chain, 'n=$1; shift\nif [ "$n" -gt 0 ]; then /bin/sh "$0" $((n - 1)) "$@"; rc=$?; exit $rc; fi\nexec "$@"\n');

/** The pids of `pid` and its ancestors as /proc shows them, each by its innermost namespace (last NSpid). */
function nsPidChain(pid: number): number[] {
  const out: number[] = [];
  for (let p = pid; p > 0 && out.length < 16;) {
    const status = readFileSync(`/proc/${p}/status`, 'utf8');
    out.push(Number(/^NSpid:.*?(\d+)\s*$/m.exec(status)![1]));
    p = Number(/^PPid:\s*(\d+)/m.exec(status)![1]);
  }
  return out;
}

describe.skipIf(!canRunBpf())('matchPIDs isNamespacePID (syscall tracepoint backend)', () => {
  let agent: RunningAgent;
  let events: PeregrineEvent[] = [];

  beforeAll(async () => {
    mkdirSync(inDir);
    mkdirSync(notInDir);
    for (const f of ['a', 'b', 'c']) {
      writeFileSync(join(inDir, f), 'x');
      writeFileSync(join(notInDir, f), 'x');
    }
    writeFileSync(join(dir, 'in.yaml'), policy('nspid-in', 'In', [2], inDir));
    writeFileSync(join(dir, 'notin.yaml'), policy('nspid-notin', 'NotIn', [1], notInDir));
    agent = await startAgent(['--tracing-policy', join(dir, 'in.yaml'), '--tracing-policy', join(dir, 'notin.yaml')]);
  });

  afterAll(() => {
    if (agent && agent.proc.exitCode === null) agent.proc.kill('SIGKILL');
  });

  it('runs the processes: sh as pid 1 and cat as pid 2 of new pid namespaces, cat on the host', () => {
    // `; true` keeps sh from exec'ing cat in its place: cat is forked, pid 2.
    const ns = inNewPidNs('/bin/sh', '-c', `echo $$; cat ${inDir}/a >/dev/null; cat ${notInDir}/a >/dev/null; true`);
    expect(ns.status).toBe(0);
    expect(ns.stdout.trim()).toBe('1');
    // cat itself as pid 1.
    expect(inNewPidNs('cat', `${notInDir}/b`).status).toBe(0);
    expect(spawnSync('cat', [`${inDir}/b`, `${notInDir}/c`]).status).toBe(0);
  });

  it('In [2]: only the cat that is pid 2 in its namespace; NotIn [1]: all but the cat that is pid 1', async () => {
    await new Promise((r) => setTimeout(r, scaled(500)));
    events = await agent.stop();
    const inEvents = opened(events, 'nspid-in');
    expect(inEvents).toHaveLength(1);
    expect(inEvents[0]).toMatchObject({ path: `${inDir}/a`, binary: expect.stringMatching(/\/cat$/) });
    const notIn = opened(events, 'nspid-notin').map((e) => e.path).sort();
    expect(notIn).toEqual([`${notInDir}/a`, `${notInDir}/c`]);
  });
});

describe.skipIf(!canRunBpf())('matchPIDs isNamespacePID with followForks (syscall tracepoint backend)', () => {
  const ffIn = join(dir, 'ff-in');
  const ffNotIn = join(dir, 'ff-notin');
  let agent: RunningAgent;
  /** The file name each run opens in both directories → whether ns pid 1 is among its 10 levels. */
  const expectFound = new Map<string, boolean>();
  const runs = ['grandchild', 'ns-depth9', 'ns-depth10', 'host-depth10', 'host-child'];

  beforeAll(async () => {
    // Created before the agent starts: this process's own opens are not part of the test.
    for (const d of [ffIn, ffNotIn]) {
      mkdirSync(d);
      for (const name of runs) writeFileSync(join(d, name), 'x');
    }
    writeFileSync(join(dir, 'ff-in.yaml'), policy('nsff-in', 'In', [1], ffIn, true));
    // The idiom of Tetragon's policies: not (a descendant of) pid 0 or pid 1 of its namespace.
    writeFileSync(join(dir, 'ff-notin.yaml'), policy('nsff-notin', 'NotIn', [0, 1], ffNotIn, true));
    agent = await startAgent(['--tracing-policy', join(dir, 'ff-in.yaml'), '--tracing-policy', join(dir, 'ff-notin.yaml')]);
  });

  afterAll(() => {
    if (agent && agent.proc.exitCode === null) agent.proc.kill('SIGKILL');
  });

  const files = (name: string): string[] => [join(ffIn, name), join(ffNotIn, name)];

  it('runs cat as a grandchild of ns pid 1, at levels 9 and 10 below it, and on the host', () => {
    // sh (ns pid 1) → sh (ns pid 2) → cat (ns pid 3): pid 1 two levels up.
    const grand = inNewPidNs('/bin/sh', '-c', `/bin/sh -c 'echo $$; cat ${files('grandchild').join(' ')} >/dev/null; true'; true`);
    expect(grand.status).toBe(0);
    expect(grand.stdout.trim()).toBe('2');
    expectFound.set('grandchild', true);
    // The first sh of the chain is ns pid 1: cat is 9 levels below it (the 10th level), then 10 (the 11th).
    for (const n of [9, 10]) {
      const r = inNewPidNs('/bin/sh', chain, String(n), 'cat', ...files(`ns-depth${n}`));
      expect(r.status).toBe(0);
      expectFound.set(`ns-depth${n}`, n <= 9);
    }
    // On the host: 10 levels of fresh processes, none of them pid 0 or 1 …
    expect(spawnSync('/bin/sh', [chain, '10', 'cat', ...files('host-depth10')]).status).toBe(0);
    expectFound.set('host-depth10', false);
    // … and cat straight from this process, which descends from init (pid 1) within 10 levels or not.
    const cat = spawnSync('cat', files('host-child'));
    expect(cat.status).toBe(0);
    const levels = [cat.pid, ...nsPidChain(process.pid)].slice(0, 10);
    expectFound.set('host-child', levels.includes(1));
  });

  it('In [1] reports exactly the runs with ns pid 1 among their 10 levels, NotIn [0, 1] exactly the others', async () => {
    await new Promise((r) => setTimeout(r, scaled(500)));
    const evs = await agent.stop();
    const names = (policyName: string): string[] => {
      const got = opened(evs, policyName);
      for (const e of got) expect(e.binary).toMatch(/\/cat$/);
      return got.map((e) => e.path.split('/').pop()!).sort();
    };
    const all = [...expectFound.keys()];
    expect(all.sort()).toEqual([...runs].sort());
    expect(names('nsff-in')).toEqual(all.filter((n) => expectFound.get(n)).sort());
    expect(names('nsff-notin')).toEqual(all.filter((n) => !expectFound.get(n)).sort());
    // Both sides are exercised: the level-10 boundary in a namespace and the deep host chain.
    expect(expectFound.get('ns-depth9')).toBe(true);
    expect(names('nsff-notin')).toEqual(expect.arrayContaining(['host-depth10', 'ns-depth10']));
  });
});

// The same engine under BPF LSM (VM kernels): an Override that only the process that is pid 2 of its
// namespace gets, in the kernel before the file is opened.
describe.skipIf(!canRunBpf() || !kernelFeatures().has('bpf_lsm'))('matchPIDs isNamespacePID (bpf_lsm backend)', () => {
  const lsmDir = join(dir, 'lsm');
  const lsmFfDir = join(dir, 'lsm-ff');
  let agent: RunningAgent;

  beforeAll(async () => {
    mkdirSync(lsmDir);
    writeFileSync(join(lsmDir, 'a'), 'secret\n');
    mkdirSync(lsmFfDir);
    writeFileSync(join(lsmFfDir, 'a'), 'secret\n');
    // Tetragon's idiom with followForks: deny unless pid 0 or 1 of its namespace is among the 10 levels.
    writeFileSync(join(dir, 'lsm-ff.yaml'), `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: nspid-ff-lsm}
spec:
  lsmhooks:
  - hook: file_open
    args: [{index: 0, type: file}]
    selectors:
    - matchPIDs: [{operator: NotIn, followForks: true, isNamespacePID: true, values: [0, 1]}]
      matchArgs: [{index: 0, operator: Prefix, values: ["${lsmFfDir}/"]}]
      matchActions: [{action: Override, argError: -1}]
`);
    writeFileSync(join(dir, 'lsm.yaml'), `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: nspid-lsm}
spec:
  lsmhooks:
  - hook: file_open
    args: [{index: 0, type: file}]
    selectors:
    - matchPIDs: [{operator: In, isNamespacePID: true, values: [2]}]
      matchArgs: [{index: 0, operator: Prefix, values: ["${lsmDir}/"]}]
      matchActions: [{action: Override, argError: -1}]
`);
    agent = await startAgent(['--tracing-policy', join(dir, 'lsm.yaml'), '--tracing-policy', join(dir, 'lsm-ff.yaml')]);
  });

  afterAll(() => {
    if (agent && agent.proc.exitCode === null) agent.proc.kill('SIGKILL');
  });

  it('denies the open to pid 2 of a new namespace (EPERM), not to its pid 1 nor to the host', async () => {
    // cat is forked (pid 2): denied.
    const ns = inNewPidNs('/bin/sh', '-c', `cat ${lsmDir}/a; echo rc=$?`);
    expect(ns.stdout).toBe('rc=1\n');
    expect(ns.stderr).toMatch(/Operation not permitted/);
    // sh itself (pid 1) opens it through a redirect; a host cat opens it too.
    expect(inNewPidNs('/bin/sh', '-c', `read x < ${lsmDir}/a; echo "$x"`).stdout).toBe('secret\n');
    expect(spawnSync('cat', [`${lsmDir}/a`], { encoding: 'utf8' }).stdout).toBe('secret\n');
  });

  it('NotIn [0, 1] with followForks denies cat 10 levels below ns pid 1 and deep on the host, not 9 below', async () => {
    const run = (...argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
    const f = join(lsmFfDir, 'a');
    const deep = run('/bin/sh', chain, '10', 'cat', f);
    expect([deep.status, deep.stdout]).toEqual([1, '']);
    expect(deep.stderr).toMatch(/Operation not permitted/);
    const ns10 = inNewPidNs('/bin/sh', chain, '10', 'cat', f);
    expect([ns10.status, ns10.stdout]).toEqual([1, '']);
    expect(inNewPidNs('/bin/sh', chain, '9', 'cat', f).stdout).toBe('secret\n');
    // The test's own process tree reaches init within 10 levels in the VMs: a direct cat is allowed.
    expect(nsPidChain(process.pid).slice(0, 9)).toContain(1);
    expect(run('cat', f).stdout).toBe('secret\n');
  });

  it('reports each denial under its policy', async () => {
    await new Promise((r) => setTimeout(r, scaled(500)));
    const lsm = (await agent.stop()).flatMap((e) => ('process_lsm' in e ? [e.process_lsm] : []));
    const evs = lsm.filter((e) => e.policy_name === 'nspid-lsm');
    expect(evs).toHaveLength(1);
    expect(evs[0]?.process.binary).toMatch(/\/cat$/);
    const ff = lsm.filter((e) => e.policy_name === 'nspid-ff-lsm');
    expect(ff).toHaveLength(2);
    for (const e of ff) expect(e.process.binary).toMatch(/\/cat$/);
  });
});
