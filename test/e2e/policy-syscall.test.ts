// Syscall kprobes (syscall: true) through the agent, on syscall tracepoints with in-kernel selectors:
// Sigkill before the process can use what it opened, Post with typed args, monitor mode.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeregrineEvent } from '@peregrine/events';
import { ROOT, canRunBpf, startAgent, type RunningAgent } from '../helpers/agent.js';
import { request } from '../../packages/agent/src/control/client.js';
import { scaled } from '../helpers/kernel.js';

const dir = mkdtempSync(join(tmpdir(), 'peregrine-sys-'));
const etc = join(dir, 'etc');
const sock = join(dir, 'ctl.sock');
const kprobes = (evs: PeregrineEvent[], name: string) =>
  evs.flatMap((e) => ('process_kprobe' in e && e.process_kprobe.policy_name === name ? [e.process_kprobe] : []));

describe.skipIf(!canRunBpf())('syscall kprobes (syscall tracepoint backend)', () => {
  let agent: RunningAgent;
  let events: PeregrineEvent[] = [];

  beforeAll(async () => {
    mkdirSync(etc);
    // The example policy, scoped to this test's directory instead of /etc.
    const example = (await import('node:fs')).readFileSync(resolve(ROOT, 'examples/policies/kill-etc-writer.yaml'), 'utf8');
    writeFileSync(join(dir, 'kill.yaml'), example.replace('"/etc/"', `"${etc}/"`).replace('name: kill-etc-writer', 'name: kill-test-etc-writer'));
    agent = await startAgent([
      '--tracing-policy', join(dir, 'kill.yaml'),
      '--tracing-policy', resolve(ROOT, 'examples/policies/watch-privileges.yaml'),
      '--server-socket', sock,
    ]);
  });

  afterAll(() => {
    if (agent && agent.proc.exitCode === null) agent.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('kills a process that opens a file under the directory for writing before it writes (exit 137)', () => {
    const r = spawnSync('/bin/sh', ['-c', `echo data > ${etc}/f; echo after > ${dir}/marker`]);
    expect(r.status).toBe(null);
    expect(r.signal).toBe('SIGKILL');
    expect(existsSync(join(dir, 'marker'))).toBe(false);
    const viaShell = spawnSync('/bin/sh', ['-c', `/bin/sh -c 'echo data > ${etc}/g'; echo rc=$?`], { encoding: 'utf8' });
    expect(viaShell.stdout.trim()).toBe('rc=137');
    // Reading is not writing: untouched.
    expect(spawnSync('/bin/sh', ['-c', `cat ${etc}/f 2>/dev/null; true`]).status).toBe(0);
  });

  it('reports setuid with its argument', () => {
    expect(spawnSync('/usr/bin/python3', ['-c', 'import os; os.setuid(0)']).status).toBe(0);
  });

  it('monitor mode lets the write happen and reports the kill it withheld', async () => {
    expect((await request(sock, { op: 'policy.mode', name: 'kill-test-etc-writer', mode: 'monitor' })).ok).toBe(true);
    const r = spawnSync('/bin/sh', ['-c', `echo data > ${etc}/h && echo after > ${dir}/marker2`]);
    expect(r.status).toBe(0);
    expect(existsSync(join(dir, 'marker2'))).toBe(true);
    expect((await request(sock, { op: 'policy.mode', name: 'kill-test-etc-writer', mode: 'enforce' })).ok).toBe(true);
  });

  it('events carry function, labelled args, action, policy and the process', async () => {
    await new Promise((r) => setTimeout(r, scaled(500)));
    events = await agent.stop();
    const kills = kprobes(events, 'kill-test-etc-writer');
    const enforced = kills.filter((k) => !k.policy_mode);
    expect(enforced.length).toBeGreaterThanOrEqual(2);
    expect(enforced[0]).toMatchObject({ function_name: 'sys_openat', action: 'KPROBE_ACTION_SIGKILL' });
    expect(enforced[0]?.args).toContainEqual({ string_arg: `${etc}/f`, label: 'filename' });
    expect(enforced[0]?.process.binary).toMatch(/dash|bash|sh$/);
    expect(kills.some((k) => k.policy_mode === 'monitor' && k.args.some((a) => 'string_arg' in a && a.string_arg === `${etc}/h`))).toBe(true);
    const setuid = kprobes(events, 'watch-privileges').filter((k) => k.function_name === 'sys_setuid' && k.process.binary.includes('python3'));
    expect(setuid.length).toBeGreaterThanOrEqual(1);
    expect(setuid[0]?.args).toContainEqual({ int_arg: 0, label: 'uid' });
    expect(setuid[0]?.action).toBe('KPROBE_ACTION_POST');
  });
});
