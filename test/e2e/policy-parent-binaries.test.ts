// matchParentBinaries on syscall kprobes (syscall_tracepoint backend on this kernel) through the agent:
// NotIn, Prefix and Postfix on the executable of the opener's parent, evaluated in the kernel. The
// opener is always cat; its parent is bash, dash or a copy of dash under this test's directory.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeregrineEvent, ProcessKprobe } from '@peregrine/events';
import { canRunBpf, startAgent, type RunningAgent } from '../helpers/agent.js';
import { scaled } from '../helpers/kernel.js';

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
