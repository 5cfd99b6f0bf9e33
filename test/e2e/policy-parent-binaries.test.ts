// matchParentBinaries on syscall kprobes (syscall_tracepoint backend on this kernel) through the agent:
// NotIn, Prefix and Postfix on the executable of the opener's parent, evaluated in the kernel. The
// opener is always cat; its parent is bash, dash or a copy of dash under this test's directory.
// Then, where BPF LSM loads (the VMs), an lsmhooks file_open policy that denies by matchParentBinaries
// and by matchBinaries followChildren, through the agent's planner and LSM adapter.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeregrineEvent, ProcessKprobe, ProcessLsm } from '@peregrine/events';
import { canRunBpf, startAgent, type RunningAgent } from '../helpers/agent.js';
import { kernelFeatures, scaled } from '../helpers/kernel.js';

const dir = mkdtempSync(join(tmpdir(), 'peregrine-parent-'));
const BASH = realpathSync('/usr/bin/bash');
const DASH = realpathSync('/bin/dash');
const ROOTSH = join(dir, 'bin/rootsh');

const policy = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: parent-binaries}
spec:
  kprobes:
  - call: sys_openat
    syscall: true
    args: [{index: 1, type: string, label: filename}]
    selectors:
    - matchArgs: [{index: 1, operator: Prefix, values: ["${dir}/notin/"]}]
      matchParentBinaries: [{operator: NotIn, values: ["${BASH}"]}]
    - matchArgs: [{index: 1, operator: Prefix, values: ["${dir}/prefix/"]}]
      matchParentBinaries: [{operator: Prefix, values: ["${dir}/bin/"]}]
    - matchArgs: [{index: 1, operator: Prefix, values: ["${dir}/postfix/"]}]
      matchParentBinaries: [{operator: Postfix, values: ["/rootsh"]}]
`;

const kprobes = (evs: PeregrineEvent[]): ProcessKprobe[] =>
  evs.flatMap((e) => ('process_kprobe' in e && e.process_kprobe.policy_name === 'parent-binaries' ? [e.process_kprobe] : []));
const pathOf = (e: ProcessKprobe): string | undefined => {
  const a = e.args.find((x) => x.label === 'filename');
  return a && 'string_arg' in a ? a.string_arg : undefined;
};

describe.skipIf(!canRunBpf())('matchParentBinaries on syscall kprobes', () => {
  let agent: RunningAgent;

  beforeAll(async () => {
    for (const d of ['bin', 'notin', 'prefix', 'postfix']) mkdirSync(join(dir, d));
    copyFileSync(DASH, ROOTSH);
    chmodSync(ROOTSH, 0o755);
    for (const d of ['notin', 'prefix', 'postfix']) for (const who of ['bash', 'dash', 'rootsh']) writeFileSync(join(dir, d, who), 'x');
    writeFileSync(join(dir, 'policy.yaml'), policy);
    agent = await startAgent(['--tracing-policy', join(dir, 'policy.yaml'), '--server-socket', join(dir, 'ctl.sock')]);
  });

  afterAll(() => {
    if (agent && agent.proc.exitCode === null) agent.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('NotIn, Prefix and Postfix on the parent: exactly the expected opens are reported', async () => {
    // `; true`: a shell given one command would exec cat in place (cat's parent would be the runner).
    for (const [who, shell] of [['bash', BASH], ['dash', DASH], ['rootsh', ROOTSH]] as const) {
      const line = ['notin', 'prefix', 'postfix'].map((d) => `cat ${dir}/${d}/${who} > /dev/null`).join('; ');
      expect(spawnSync(shell, ['-c', `${line}; true`]).status).toBe(0);
    }
    await new Promise((r) => setTimeout(r, scaled(1000)));
    const evs = kprobes(await agent.stop());
    const got = evs.map(pathOf).filter((p): p is string => p !== undefined).sort();
    expect(got).toEqual([
      `${dir}/notin/dash`, // not under bash
      `${dir}/notin/rootsh`,
      `${dir}/postfix/rootsh`, // parent path ends in /rootsh
      `${dir}/prefix/rootsh`, // parent under <dir>/bin/
    ]);
    for (const e of evs) {
      expect(e.process.binary).toBe(realpathSync('/usr/bin/cat'));
      expect(e.parent?.binary).toBe(pathOf(e)!.endsWith('/dash') ? DASH : ROOTSH);
    }
  });
});

const lsmPolicy = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: lsm-parent-binaries}
spec:
  lsmhooks:
  - hook: file_open
    args: [{index: 0, type: file, label: target}]
    selectors:
    - matchArgs: [{index: 0, operator: Equal, values: ["${dir}/lsm/parent"]}]
      matchParentBinaries: [{operator: In, values: ["${ROOTSH}"]}]
      matchActions: [{action: Override, argError: -1}]
    - matchArgs: [{index: 0, operator: Equal, values: ["${dir}/lsm/follow"]}]
      matchBinaries: [{operator: In, values: ["${ROOTSH}"], followChildren: true}]
      matchActions: [{action: Override, argError: -1}]
`;

describe.skipIf(!canRunBpf() || !kernelFeatures().has('bpf_lsm'))('matchParentBinaries and followChildren on lsmhooks (bpf_lsm)', () => {
  let agent: RunningAgent;
  const lsmDir = join(dir, 'lsm');

  beforeAll(async () => {
    mkdirSync(join(dir, 'bin'), { recursive: true });
    mkdirSync(lsmDir, { recursive: true });
    copyFileSync(DASH, ROOTSH);
    chmodSync(ROOTSH, 0o755);
    for (const f of ['parent', 'follow']) writeFileSync(join(lsmDir, f), `${f}\n`);
    writeFileSync(join(dir, 'lsm.yaml'), lsmPolicy);
    agent = await startAgent(['--tracing-policy', join(dir, 'lsm.yaml'), '--server-socket', join(dir, 'lsm.sock')]);
  });

  afterAll(() => {
    if (agent && agent.proc.exitCode === null) agent.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (shell: string, script: string): { stdout: string; stderr: string } => {
    const r = spawnSync(shell, ['-c', script], { encoding: 'utf8' });
    return { stdout: r.stdout, stderr: r.stderr };
  };

  it('denies by the parent (a child of the copied shell) and by lineage (its grandchild); others read the files', async () => {
    // `; true`: a shell given one command would exec cat in place.
    const byParent = run(ROOTSH, `cat ${lsmDir}/parent; true`);
    expect(byParent.stdout).toBe('');
    expect(byParent.stderr).toMatch(/not permitted/i);
    expect(run(DASH, `cat ${lsmDir}/parent; true`).stdout).toBe('parent\n');
    // rootsh → dash → cat: the parent is dash, the lineage is rootsh's.
    expect(run(ROOTSH, `${DASH} -c 'cat ${lsmDir}/parent; true'; true`).stdout).toBe('parent\n');
    const byLineage = run(ROOTSH, `${DASH} -c 'cat ${lsmDir}/follow; true'; true`);
    expect(byLineage.stdout).toBe('');
    expect(byLineage.stderr).toMatch(/not permitted/i);
    expect(run(DASH, `${DASH} -c 'cat ${lsmDir}/follow; true'; true`).stdout).toBe('follow\n');
    await new Promise((r) => setTimeout(r, scaled(1000)));
    const evs = (await agent.stop()).flatMap((e): ProcessLsm[] =>
      'process_lsm' in e && e.process_lsm.policy_name === 'lsm-parent-binaries' ? [e.process_lsm] : []);
    const path = (e: ProcessLsm): string => (e.args[0] && 'file_arg' in e.args[0] ? e.args[0].file_arg.path : '');
    expect(evs.sort((a, b) => path(a).localeCompare(path(b))).map((e) => [e.action, e.args[0]])).toEqual([
      ['KPROBE_ACTION_OVERRIDE', { file_arg: { path: `${lsmDir}/follow` }, label: 'target' }],
      ['KPROBE_ACTION_OVERRIDE', { file_arg: { path: `${lsmDir}/parent` }, label: 'target' }],
    ]);
    for (const e of evs) expect(e.process.binary).toBe(realpathSync('/usr/bin/cat'));
  });
});
