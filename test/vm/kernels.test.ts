// The kernel matrix: every BPF program Peregrine ships must load on Debian's 5.10, 6.1 and 6.12
// kernels (booted under QEMU over this machine's root filesystem, scripts/vm/), and on each of them the
// feature probe must find what those kernels offer (kprobes, fentry, BPF LSM — all refused by the dev
// kernel). One VM boot per kernel; the kernels are fetched and cached by scripts/vm/fetch-kernels.sh.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/agent.js';

const CACHE = process.env.PEREGRINE_VM_CACHE ?? '/var/cache/peregrine-vm';
const KERNELS = ['5.10', '6.1', '6.12'];
// Test fixtures of the native addon's own tests, not programs the agent loads (ringtest uses an atomic
// fetch-add that 5.10 lacks).
const FIXTURES = new Set(['ringtest.o']);
const objects = readdirSync(join(ROOT, 'bpf/.output')).filter((f) => f.endsWith('.o') && !FIXTURES.has(f) && !f.includes('alignchecker'));
const enabled = process.env.PEREGRINE_VM_MATRIX !== '0' && spawnSync('which', ['qemu-system-x86_64']).status === 0;

describe.skipIf(!enabled)('kernel matrix (QEMU)', () => {
  it.each(KERNELS)('Linux %s loads every program and offers kprobes, fentry and BPF LSM', (k) => {
    expect(existsSync(join(CACHE, k)), `kernel ${k} not fetched: scripts/vm/fetch-kernels.sh`).toBe(true);
    const cmd = `node test/vm/load-objects.cjs ${objects.map((o) => `bpf/.output/${o}`).join(' ')} && echo ==PROBE== && node packages/agent/dist/main.js probe`;
    const r = spawnSync(join(ROOT, 'scripts/vm/vm-run.sh'), [cmd], {
      cwd: ROOT,
      env: { ...process.env, VM_KERNEL: k, VM_QUIET: '1', VM_TIMEOUT: '900' },
      encoding: 'utf8',
      timeout: 1_000_000,
    });
    const out = r.stdout;
    const failed = out.split('\n').filter((l) => l.startsWith('FAIL'));
    expect(failed, out + r.stderr).toEqual([]);
    expect(out.split('\n').filter((l) => l.startsWith('ok')).length).toBeGreaterThan(30);
    const probe = out.slice(out.indexOf('==PROBE=='));
    for (const f of ['kprobe', 'fentry', 'fmod_ret', 'bpf_lsm', 'tp_btf', 'cgroup_sock_addr', 'fanotify_exec_perm']) {
      expect(probe, probe).toMatch(new RegExp(`^${f}\\s+✔`, 'm'));
    }
    expect(r.status).toBe(0);
  }, 1_000_000);
});
