// Every policy of examples/policies/ loaded into one agent on this kernel, with the backend the planner
// picks here (fanotify / cgroup / syscall and tracepoint programs on the development host, BPF LSM in
// the matrix VMs), and its effect checked: stopped before it happens, and an event naming the policy
// and the action. The examples run as shipped, except the two whose Sigkill would reach any process of
// the machine (a write under /etc, an open under /etc/peregrine-deny/) and the one that denies reading
// root's SSH keys: those get this test's directory. The kernel-function examples need fentry/kprobes and
// fmod_ret: where the probe finds none (the development host) their refusal is checked instead.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeregrineEvent } from '@peregrine/events';
import { ROOT, canRunBpf, startAgent, type RunningAgent } from '../helpers/agent.js';
import { kernelFeatures, scaled } from '../helpers/kernel.js';
import { request } from '../../packages/agent/src/control/client.js';

const EXAMPLES = join(ROOT, 'examples/policies');
const dir = mkdtempSync(join(tmpdir(), 'peregrine-examples-'));
const PY = execFileSync('readlink', ['-f', '/usr/bin/python3'], { encoding: 'utf8' }).trim();
const KFUNC_EXAMPLES = ['tcp-connect.yaml', 'deny-ssh-keys-read.yaml'];
const has = (f: string): boolean => canRunBpf() && kernelFeatures().has(f);
const kfuncHere = (has('fentry') || has('kprobe')) && has('fmod_ret');

/** The policy events of one policy: [kind, body] for process_lsm / process_kprobe / process_tracepoint. */
function policyEvents(evs: PeregrineEvent[], name: string): { action: string; policy_mode?: string; args: unknown[]; process: { binary: string; pid: number } }[] {
  return evs.flatMap((e) => {
    const body = 'process_lsm' in e ? e.process_lsm : 'process_kprobe' in e ? e.process_kprobe : 'process_tracepoint' in e ? e.process_tracepoint : null;
    return body && body.policy_name === name ? [body as never] : [];
  });
}

const sh = (line: string, shell = '/bin/sh') => spawnSync(shell, ['-c', line], { encoding: 'utf8', timeout: scaled(20_000) });

describe.skipIf(!canRunBpf())('examples/policies on this kernel', () => {
  let agent: RunningAgent;
  let events: PeregrineEvent[] = [];
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
    mkdirSync(join(dir, 'etc'));
    mkdirSync(join(dir, 'deny'));
    mkdirSync(join(dir, 'ssh'));
    writeFileSync(join(dir, 'ssh/id_ed25519'), 'PRIVATE KEY\n');
    copyFileSync('/usr/bin/true', join(dir, 'nc'));
    chmodSync(join(dir, 'nc'), 0o755);
    const files: string[] = [];
    for (const f of readdirSync(EXAMPLES).filter((x) => x.endsWith('.yaml')).sort()) {
      let text = readFileSync(join(EXAMPLES, f), 'utf8');
      if (f === 'kill-etc-writer.yaml') text = text.replace('"/etc/"', `"${dir}/etc/"`);
      if (f === 'watch-openat-tracepoint.yaml') text = text.replace('"/etc/peregrine-deny/"', `"${dir}/deny/"`);
      if (f === 'deny-ssh-keys-read.yaml') text = text.replace('"/root/.ssh/id_"', `"${dir}/ssh/id_"`);
      writeFileSync(join(dir, f), text);
      if (KFUNC_EXAMPLES.includes(f) && !kfuncHere) continue;
      files.push('--tracing-policy', join(dir, f));
    }
    expect(files.length).toBe(2 * (kfuncHere ? 10 : 8));
    agent = await startAgent([...files, '--server-socket', join(dir, 'ctl.sock')]);
  });

  afterAll(async () => {
    if (agent && agent.proc.exitCode === null) agent.proc.kill('SIGKILL');
    await new Promise((r) => server?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('block-exec: a binary named nc is denied (126, none of its code runs); other binaries run', () => {
    const r = sh(`${dir}/nc && touch ${dir}/ran`);
    expect(r.status).toBe(126);
    expect(r.stderr).toMatch(/Operation not permitted/);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
    expect(sh('/usr/bin/true').status).toBe(0);
  });

  it('block-shadow-read: cat /etc/shadow gets EPERM and reads no byte', () => {
    const r = spawnSync('cat', ['/etc/shadow'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Operation not permitted/);
    expect(spawnSync('cat', ['/etc/hostname']).status).toBe(0);
  });

  it('egress-cidr: a connect outside the private ranges gets EPERM at once; loopback connects', () => {
    const out = sh(`${PY} -c "
import errno, socket
s = socket.socket(); s.settimeout(5)
try:
    s.connect(('192.0.2.1', 9)); print('connected')
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
c = socket.create_connection(('127.0.0.1', ${port}), 5); print('loopback ok')
"`);
    expect(out.stdout.trim().split('\n')).toEqual(['EPERM', 'loopback ok']);
  });

  it('kill-etc-writer: a write-open under the (test) /etc is killed with 137 before its marker', () => {
    const r = sh(`sh -c 'echo x > ${dir}/etc/passwd; touch ${dir}/after-write'; echo rc=$?`);
    expect(r.stdout.trim()).toBe('rc=137');
    expect(existsSync(join(dir, 'after-write'))).toBe(false);
    expect(sh(`cat ${dir}/etc/passwd 2>/dev/null; true`).status).toBe(0); // reads are not writes
  });

  it('watch-openat-tracepoint: a child of bash opening under the (test) deny dir is killed', () => {
    const r = sh(`cat ${dir}/deny/x; touch ${dir}/after-deny; true`, '/usr/bin/bash');
    expect(r.status).toBe(0); // bash lives; its child cat is killed
    expect(existsSync(join(dir, 'after-deny'))).toBe(true);
  });

  it('watch-exec-rawtp: an exec of a binary under /tmp/ runs and is reported (raw tracepoint)', () => {
    copyFileSync('/usr/bin/true', join(dir, 'tmp-true'));
    chmodSync(join(dir, 'tmp-true'), 0o755);
    expect(sh(join(dir, 'tmp-true')).status).toBe(0);
  });

  it('watch-privileges: setuid and setgid are reported with their argument', () => {
    expect(sh(`${PY} -c "import os; os.setgid(0); os.setuid(0)"`).status).toBe(0);
  });

  it.runIf(!kfuncHere)('the kernel-function examples are refused here, naming the hook, the missing feature and the alternatives', async () => {
    for (const f of KFUNC_EXAMPLES) {
      const r = await request(join(dir, 'ctl.sock'), { op: 'policy.add', yaml: readFileSync(join(dir, f), 'utf8'), source: f });
      expect(r.ok).toBe(false);
      const msg = r.ok ? '' : (r.issues ?? []).map((i) => `${i.path}: ${i.message}`).join('\n');
      expect(msg).toMatch(/^spec\.kprobes\[0\]: kprobes (tcp_connect|security_file_open) cannot be provided on this kernel: /m);
      expect(msg).toMatch(/not available on this kernel \(feature (fentry|fmod_ret)\)/);
    }
  });

  it.runIf(kfuncHere)('deny-ssh-keys-read (fmod_ret on security_file_open): the key read fails with EACCES, no byte read', () => {
    const r = spawnSync('cat', [join(dir, 'ssh/id_ed25519')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Permission denied/);
  });

  it('every example reports what it did, naming itself and its action', async () => {
    await new Promise((r) => setTimeout(r, scaled(1000)));
    events = await agent.stop();
    const deny = (name: string) => policyEvents(events, name).filter((e) => e.action === 'KPROBE_ACTION_OVERRIDE' && !e.policy_mode);
    expect(deny('block-exec-netcat').length).toBeGreaterThanOrEqual(1);
    expect(deny('block-shadow-read').some((e) => e.process.binary === '/usr/bin/cat')).toBe(true);
    expect(deny('deny-egress-outside-cidrs').length).toBeGreaterThanOrEqual(1);
    expect(policyEvents(events, 'kill-etc-writer').some((e) => e.action === 'KPROBE_ACTION_SIGKILL')).toBe(true);
    expect(policyEvents(events, 'watch-openat-tracepoint').some((e) => e.action === 'KPROBE_ACTION_SIGKILL' && e.process.binary === '/usr/bin/cat')).toBe(true);
    expect(policyEvents(events, 'watch-exec-rawtp').some((e) => JSON.stringify(e.args) === JSON.stringify([
      { linux_binprm_arg: { path: join(dir, 'tmp-true') }, label: 'binary' }, { int_arg: e.process.pid, label: 'old_pid' },
    ]))).toBe(true);
    const connects = policyEvents(events, 'watch-connect');
    expect(connects.some((e) => JSON.stringify(e.args).includes(`"port":${port}`))).toBe(true);
    const privs = policyEvents(events, 'watch-privileges');
    expect(privs.some((e) => e.process.binary === PY && JSON.stringify(e.args).includes('"label":"uid"'))).toBe(true);
    expect(privs.some((e) => e.process.binary === PY && JSON.stringify(e.args).includes('"label":"gid"'))).toBe(true);
    if (kfuncHere) expect(deny('deny-ssh-keys-read').some((e) => e.process.binary === '/usr/bin/cat')).toBe(true);
  });
});
