// matchPIDs with isNamespacePID through the agent, on the syscall tracepoint and (where the kernel runs
// it) BPF LSM backends — one engine, sel__load_process + sel_filter.h: the values are compared with the
// pid a process has in its own pid namespace. In a new namespace (`unshare --pid --fork`) the first
// process is pid 1 and its first child pid 2; in the host namespace those are init and kthreadd, which
// never open these files.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeregrineEvent } from '@peregrine/events';
import { canRunBpf, startAgent, type RunningAgent } from '../helpers/agent.js';
import { kernelFeatures, scaled } from '../helpers/kernel.js';

const dir = mkdtempSync(join(tmpdir(), 'peregrine-nspid-'));
const inDir = join(dir, 'in');
const notInDir = join(dir, 'notin');

const policy = (name: string, operator: 'In' | 'NotIn', values: number[], prefix: string): string => `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: ${name}}
spec:
  kprobes:
  - call: sys_openat
    syscall: true
    args: [{index: 1, type: string, label: filename}]
    selectors:
    - matchPIDs: [{operator: ${operator}, isNamespacePID: true, values: [${values.join(', ')}]}]
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

// The same engine under BPF LSM (VM kernels): an Override that only the process that is pid 2 of its
// namespace gets, in the kernel before the file is opened.
describe.skipIf(!canRunBpf() || !kernelFeatures().has('bpf_lsm'))('matchPIDs isNamespacePID (bpf_lsm backend)', () => {
  const lsmDir = join(dir, 'lsm');
  let agent: RunningAgent;

  beforeAll(async () => {
    mkdirSync(lsmDir);
    writeFileSync(join(lsmDir, 'a'), 'secret\n');
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
    agent = await startAgent(['--tracing-policy', join(dir, 'lsm.yaml')]);
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
    await new Promise((r) => setTimeout(r, scaled(500)));
    const evs = (await agent.stop()).flatMap((e) => ('process_lsm' in e && e.process_lsm.policy_name === 'nspid-lsm' ? [e.process_lsm] : []));
    expect(evs).toHaveLength(1);
    expect(evs[0]?.process.binary).toMatch(/\/cat$/);
  });
});
