// The agent's LsmAdapter (backend 'bpf_lsm'): compile errors as CompileErrors with policy paths,
// reported arguments in Tetragon's shape, and — where the kernel runs BPF LSM (a VM) — a TracingPolicy
// through the PolicyManager: planned onto bpf_lsm, the open denied, a process_lsm event with file_arg
// and KPROBE_ACTION_OVERRIDE.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parsePolicies } from '@peregrine/policy';
import type { PeregrineEvent } from '@peregrine/events';
import { LsmAdapter, lsmArgument } from '../../packages/agent/src/policy/adapters/lsm.js';
import { CompileError } from '../../packages/agent/src/policy/adapter.js';
import { PolicyManager } from '../../packages/agent/src/policy/manager.js';
import { bpfObjectPath } from '../../packages/collector/src/paths.js';
import { probeKernelSync } from '../../packages/collector/src/probe/index.js';

// The adapter takes `lsm` from @peregrine/collector; provide it whether or not the package index exports it yet.
vi.mock('@peregrine/collector', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  lsm: await import('../../packages/collector/src/lsm/index.js'),
}));

function lsmWorks(): boolean {
  if (process.geteuid?.() !== 0 || !existsSync(bpfObjectPath('lsm')) || !existsSync(bpfObjectPath('features'))) return false;
  try {
    return probeKernelSync({ objectPath: bpfObjectPath('features'), mountMissing: false }).features.find((f) => f.name === 'bpf_lsm')?.available === true;
  } catch {
    return false;
  }
}

const policy = (name: string, hooks: string, mode = 'enforce'): ReturnType<typeof parsePolicies>[number] =>
  parsePolicies(
    `apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: ${name}}\nspec:\n  options: [{name: policy-mode, value: ${mode}}]\n  lsmhooks:\n${hooks}`,
    name,
  )[0]!;

describe('LsmAdapter', () => {

  it('compiles an lsmhooks entry into one LsmHook carrying the rule id; refusals are CompileErrors with paths', () => {
    const a = new LsmAdapter();
    const p = policy('a', '  - hook: file_open\n    args: [{index: 0, type: file}]\n    selectors: [{matchArgs: [{index: 0, operator: Prefix, values: [/etc/]}], matchActions: [{action: Override, argError: -13}]}]\n');
    const rules = a.compile({ ruleId: 5, policy: 'a', path: 'spec.lsmhooks[0]', kind: 'lsmhooks', spec: p.spec.lsmhooks![0]!, mode: 'enforce' });
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ id: 5, hook: 'file_open', errors: [-13], monitor: false });
    const bad = policy('b', '  - hook: socket_connect\n    args: [{index: 1, type: sockaddr}]\n    selectors: [{matchArgs: [{index: 1, operator: Protocol, values: [TCP]}]}]\n');
    try {
      a.compile({ ruleId: 6, policy: 'b', path: 'spec.lsmhooks[0]', kind: 'lsmhooks', spec: bad.spec.lsmhooks![0]!, mode: 'enforce' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CompileError);
      expect((e as CompileError).issues[0]!.path).toBe('spec.lsmhooks[0].selectors[0].matchArgs[0].operator');
    }
  });

  it('reports arguments as linux_binprm_arg, file_arg, path_arg, sockaddr_arg, int_arg with their labels', () => {
    expect(lsmArgument({ index: 0, kind: 'path', type: 'linux_binprm', path: '/bin/x', truncated: false, fault: false }, 'exe')).toEqual({ linux_binprm_arg: { path: '/bin/x' }, label: 'exe' });
    expect(lsmArgument({ index: 0, kind: 'path', type: 'file', path: '/etc/x', truncated: false, fault: false }, undefined)).toEqual({ file_arg: { path: '/etc/x' } });
    expect(lsmArgument({ index: 1, kind: 'path', type: 'path', path: '/d/e', truncated: false, fault: false }, undefined)).toEqual({ path_arg: { path: '/d/e' } });
    expect(lsmArgument({ index: 1, kind: 'sockaddr', family: 2, familyName: 'AF_INET', addr: '10.0.0.1', port: 443 }, 'dst')).toEqual({
      sockaddr_arg: { family: 'AF_INET', addr: '10.0.0.1', port: 443 }, label: 'dst',
    });
    expect(lsmArgument({ index: 2, kind: 'int', value: 0xffffffffffffffffn }, undefined)).toEqual({ int_arg: -1 });
  });

  describe.skipIf(!lsmWorks())('through the PolicyManager (real kernel)', () => {
    const work = mkdtempSync(join(tmpdir(), 'peregrine-lsm-adapter-'));
    const secret = join(work, 'secret');
    writeFileSync(secret, 'x\n');
    const events: PeregrineEvent[] = [];
    const manager = new PolicyManager([new LsmAdapter()], new Set(['bpf_lsm']), 'vm', { processOfPid: () => undefined }, (e) => events.push(...e));

    afterAll(async () => {
      await manager.stop();
      rmSync(work, { recursive: true, force: true });
    });

    it('plans lsmhooks onto bpf_lsm, denies the open and emits process_lsm with file_arg', async () => {
      const st = await manager.add([
        policy('deny-secret', `  - hook: file_open\n    message: secret read\n    args: [{index: 0, type: file, label: target}]\n    selectors: [{matchArgs: [{index: 0, operator: Equal, values: [${secret}]}], matchActions: [{action: Override, argError: -1}]}]\n`),
      ], 'test');
      expect(st[0]!.hooks).toMatchObject([{ backend: 'bpf_lsm', status: 'attached' }]);
      const r = spawnSync('/bin/cat', [secret], { encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/not permitted/i);
      const end = Date.now() + 3000;
      while (events.length === 0 && Date.now() < end) {
        await new Promise((res) => setTimeout(res, 20));
        manager.tick(Date.now() + 5000); // no process cache here: emit without waiting for one
      }
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        process_lsm: {
          function_name: 'file_open', policy_name: 'deny-secret', action: 'KPROBE_ACTION_OVERRIDE', message: 'secret read',
          args: [{ file_arg: { path: secret }, label: 'target' }],
        },
        node_name: 'vm',
      });
      await manager.delete('deny-secret');
      expect(spawnSync('/bin/cat', [secret], { encoding: 'utf8' }).stdout).toBe('x\n');
    });
  });
});
