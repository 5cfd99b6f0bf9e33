// Exec and open deny policies (bprm_check_security / file_open) through the agent, on the backend the
// planner must pick on this kernel (BPF LSM where it works, else fanotify): the effect is stopped before
// it happens, every bypass of the README's table is tried, monitor mode, and a SIGKILLed agent leaves a
// working machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeregrineEvent } from '@peregrine/events';
import { ROOT, canRunBpf, startAgent, type RunningAgent } from '../helpers/agent.js';
import { request } from '../../packages/agent/src/control/client.js';
import { expectedLsmBackend, scaled } from '../helpers/kernel.js';

const dir = mkdtempSync(join(tmpdir(), 'peregrine-fan-'));
const bypass = join(dir, 'bypass');
const touch = join(dir, 'mytouch');
const secret = join(dir, 'secret');
const allowedCat = join(dir, 'allowed-cat');
const sock = join(dir, 'ctl.sock');

const policy = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: deny-mytouch}
spec:
  lsmhooks:
  - hook: bprm_check_security
    args: [{index: 0, type: linux_binprm, label: binary}]
    selectors:
    - matchArgs: [{index: 0, operator: Equal, values: ["${touch}"]}]
      matchActions: [{action: Override, argError: -1}]
---
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: deny-secret-read}
spec:
  lsmhooks:
  - hook: file_open
    args: [{index: 0, type: file}]
    selectors:
    - matchArgs: [{index: 0, operator: Equal, values: ["${secret}"]}]
      matchBinaries: [{operator: NotIn, values: ["${allowedCat}"]}]
      matchActions: [{action: Override, argError: -1}]
`;

/** Runs a shell line; returns exit code and stderr. */
function sh(line: string): { code: number | null; err: string; out: string } {
  const r = spawnSync('/bin/sh', ['-c', line], { encoding: 'utf8', timeout: scaled(20_000) });
  return { code: r.status, err: r.stderr, out: r.stdout };
}

/** Whether this kernel's exec/open deny backend matches files by inode (fanotify) or by path only (BPF LSM). */
const FANOTIFY = canRunBpf() && expectedLsmBackend('bprm_check_security') !== 'bpf_lsm';

const lsm = (evs: PeregrineEvent[], name: string) => evs.flatMap((e) => ('process_lsm' in e && e.process_lsm.policy_name === name ? [e.process_lsm] : []));

describe.skipIf(!canRunBpf())('exec and open deny policies (BPF LSM or fanotify backend)', () => {
  let agent: RunningAgent;
  let events: PeregrineEvent[] = [];

  beforeAll(async () => {
    execFileSync('cc', ['-O2', '-o', bypass, join(ROOT, 'test/e2e/fixtures/bypass.c')]);
    copyFileSync('/usr/bin/touch', touch);
    chmodSync(touch, 0o755);
    copyFileSync('/usr/bin/cat', allowedCat);
    chmodSync(allowedCat, 0o755);
    writeFileSync(secret, 'TOP SECRET\n');
    writeFileSync(join(dir, 'policy.yaml'), policy);
    agent = await startAgent(['--tracing-policy', join(dir, 'policy.yaml'), '--server-socket', sock]);
  });

  afterAll(() => {
    if (agent && agent.proc.exitCode === null) agent.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('each hook runs on the backend the planner must pick on this kernel', async () => {
    const r = (await request(sock, { op: 'policy.list' })) as { ok: boolean; policies?: { name: string; hooks: { backend: string }[] }[] };
    expect(r.ok).toBe(true);
    const backends = Object.fromEntries((r.policies ?? []).map((p) => [p.name, p.hooks.map((h) => h.backend)]));
    expect(backends).toEqual({
      'deny-mytouch': [expectedLsmBackend('bprm_check_security')],
      'deny-secret-read': [expectedLsmBackend('file_open')],
    });
  });

  it('denied exec exits 126 "Operation not permitted" and none of its code runs', () => {
    const r = sh(`${touch} ${dir}/marker-direct`);
    expect(r.code).toBe(126);
    expect(r.err).toMatch(/Operation not permitted/);
    expect(existsSync(join(dir, 'marker-direct'))).toBe(false);
    // The original binary is not affected.
    expect(sh(`/usr/bin/touch ${dir}/marker-original`).code).toBe(0);
  });

  it.each([
    ['a relative path', `cd ${dir} && ./mytouch ${dir}/m-rel`, 'm-rel'],
    ['a symlink', `ln -sf ${touch} ${dir}/sym && ${dir}/sym ${dir}/m-sym`, 'm-sym'],
    ['/proc/self/root/…', `/proc/self/root${touch} ${dir}/m-proc`, 'm-proc'],
    ['execveat with a dirfd', `${bypass} execveat ${dir} mytouch ${dir}/m-execveat`, 'm-execveat'],
    ['execveat(AT_EMPTY_PATH) on an fd', `${bypass} fexecve ${touch} ${dir}/m-fexecve`, 'm-fexecve'],
  ])('catches exec through %s', (_, line, marker) => {
    const r = sh(line);
    expect(r.code).not.toBe(0);
    expect(existsSync(join(dir, marker))).toBe(false);
  });

  // Both backends match the file's inode as well as its path (fanotify: the mark's inode; BPF LSM: the
  // (dev, ino) each Equal value named at apply), so a hard link or a renamed file is the same file.
  it('catches exec through a hard link (inode)', () => {
    const r = sh(`ln -f ${touch} ${dir}/hard && ${dir}/hard ${dir}/m-hard`);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/Operation not permitted/);
    expect(existsSync(join(dir, 'm-hard'))).toBe(false);
  });

  it('catches exec of the binary renamed (inode)', () => {
    renameSync(touch, `${touch}-moved`);
    try {
      const r = sh(`${touch}-moved ${dir}/m-moved`);
      expect(r.code).not.toBe(0);
      expect(existsSync(join(dir, 'm-moved'))).toBe(false);
    } finally {
      renameSync(`${touch}-moved`, touch);
    }
  });

  it.runIf(FANOTIFY)('policy list shows the fanotify counters; a binary no rule names is cached after its first exec', () => {
    const free = join(dir, 'free-true');
    copyFileSync('/usr/bin/true', free);
    chmodSync(free, 0o755);
    for (let i = 0; i < 3; i++) expect(sh(free).code).toBe(0);
    const r = spawnSync(process.execPath, [join(ROOT, 'packages/agent/dist/main.js'), 'policy', 'list', '--socket', sock], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('backend fanotify_exec:'));
    expect(line, r.stdout).toBeDefined();
    expect(Number(/ cached=(\d+)/.exec(line!)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/ denied=(\d+)/.exec(line!)?.[1])).toBeGreaterThanOrEqual(1);
    // the denied binary is never cached: still denied after all the execs above
    expect(sh(`${touch} ${dir}/m-after-cache`).code).toBe(126);
  });

  it('does not catch a renamed copy (a new file: path and inode both differ) — as the README states', () => {
    copyFileSync(touch, join(dir, 'copy-of-touch'));
    chmodSync(join(dir, 'copy-of-touch'), 0o755);
    expect(sh(`${dir}/copy-of-touch ${dir}/m-copy`).code).toBe(0);
    expect(existsSync(join(dir, 'm-copy'))).toBe(true);
  });

  it('denied open gets EPERM and reads no byte; the allow-listed binary reads it', () => {
    const r = sh(`cat ${secret}`);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/Operation not permitted/);
    expect(r.out).toBe('');
    expect(sh(`${allowedCat} ${secret}`).out).toBe('TOP SECRET\n');
  });

  it.each([
    ['a relative path', `cd ${dir} && cat ./secret`],
    ['a symlink', `ln -sf ${secret} ${dir}/secret-sym && cat ${dir}/secret-sym`],
    ['/proc/self/root/…', `cat /proc/self/root${secret}`],
    ['openat2', `${bypass} openat2 ${secret}`],
  ])('catches open through %s', (_, line) => {
    const r = sh(line);
    expect(r.code).not.toBe(0);
    expect(r.out).not.toContain('TOP SECRET');
    expect(r.out).not.toMatch(/read=\d/);
  });

  it('catches open through a hard link (inode)', () => {
    const r = sh(`ln -f ${secret} ${dir}/secret-hard && cat ${dir}/secret-hard`);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/Operation not permitted/);
    expect(r.out).not.toContain('TOP SECRET');
  });

  it('catches open of the file renamed (inode)', () => {
    renameSync(secret, `${secret}-moved`);
    try {
      const r = sh(`cat ${secret}-moved`);
      expect(r.code).not.toBe(0);
      expect(r.out).not.toContain('TOP SECRET');
    } finally {
      renameSync(`${secret}-moved`, secret);
    }
  });

  it('monitor mode lets both through and reports what would have been denied', async () => {
    for (const name of ['deny-mytouch', 'deny-secret-read']) {
      expect((await request(sock, { op: 'policy.mode', name, mode: 'monitor' })).ok).toBe(true);
    }
    expect(sh(`${touch} ${dir}/m-monitor`).code).toBe(0);
    expect(existsSync(join(dir, 'm-monitor'))).toBe(true);
    expect(sh(`cat ${secret}`).out).toBe('TOP SECRET\n');
    for (const name of ['deny-mytouch', 'deny-secret-read']) {
      expect((await request(sock, { op: 'policy.mode', name, mode: 'enforce' })).ok).toBe(true);
    }
    expect(sh(`${touch} ${dir}/m-after`).code).toBe(126);
  });

  it('events name the policy, the action, the process and the file', async () => {
    await new Promise((r) => setTimeout(r, scaled(500)));
    events = await agent.stop();
    const execs = lsm(events, 'deny-mytouch');
    const opens = lsm(events, 'deny-secret-read');
    const enforced = execs.filter((e) => !e.policy_mode);
    expect(enforced.length).toBeGreaterThanOrEqual(7);
    // Emission order follows the enricher (an event can wait for its process), not the test order.
    const SH = execFileSync('readlink', ['-f', '/bin/sh'], { encoding: 'utf8' }).trim();
    const direct = enforced.find((e) => JSON.stringify(e.args[0]) === JSON.stringify({ linux_binprm_arg: { path: touch }, label: 'binary' }) && e.process.binary === SH);
    expect(direct, JSON.stringify(enforced.map((e) => [e.args[0], e.process.binary]))).toMatchObject({ function_name: 'bprm_check_security', action: 'KPROBE_ACTION_OVERRIDE' });
    expect(enforced.every((e) => e.function_name === 'bprm_check_security' && e.action === 'KPROBE_ACTION_OVERRIDE')).toBe(true);
    expect(execs.filter((e) => e.policy_mode === 'monitor').length).toBeGreaterThanOrEqual(1);
    expect(opens.some((e) => e.action === 'KPROBE_ACTION_OVERRIDE' && 'file_arg' in e.args[0]! && e.process.binary === '/usr/bin/cat')).toBe(true);
    expect(opens.some((e) => e.policy_mode === 'monitor')).toBe(true);
  });
});

describe.skipIf(!canRunBpf())('agent SIGKILLed with an exec deny policy active (fanotify or BPF LSM)', () => {
  it('leaves a machine where exec and open work at once (enforcement ends with the agent)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'peregrine-fankill-'));
    const t = join(d, 'mytouch');
    copyFileSync('/usr/bin/touch', t);
    chmodSync(t, 0o755);
    writeFileSync(
      join(d, 'p.yaml'),
      policy.split('---')[0]!.replaceAll(touch, t),
    );
    const agent = await startAgent(['--tracing-policy', join(d, 'p.yaml'), '--server-socket', join(d, 'ctl.sock')]);
    expect(sh(`${t} ${d}/m1`).code).toBe(126);
    agent.proc.kill('SIGKILL');
    await new Promise((r) => agent.proc.on('exit', r));
    const t0 = Date.now();
    expect(sh(`${t} ${d}/m2`).code).toBe(0);
    expect(sh(`cat /etc/hostname`).code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(scaled(5000));
    rmSync(d, { recursive: true, force: true });
  });
});
