// The bpf_lsm backend end to end: real BPF LSM programs, real processes. Runs only where the kernel
// probe says BPF LSM works (not on the development hosts: run it in a VM, e.g.
// `VM_KERNEL=6.1 scripts/vm/vm-run.sh npx vitest run test/e2e/lsm-backend.test.ts`).
// Safety: every Override/Sigkill rule names files, binaries or a port this test created; the backend
// never evaluates this process; it is stopped in afterAll (nothing is pinned).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileLsmHook, type LsmHookSpecInput } from '../../packages/collector/src/lsm/compile.js';
import { LsmBackend, type LsmReport } from '../../packages/collector/src/lsm/backend.js';
import type { LsmHook } from '../../packages/collector/src/lsm/types.js';
import { bpfObjectPath } from '../../packages/collector/src/paths.js';
import { probeKernelSync } from '../../packages/collector/src/probe/index.js';

const OBJ = bpfObjectPath('lsm');
const FEATURES = bpfObjectPath('features');

function lsmAvailable(): { ok: boolean; why: string } {
  if (process.geteuid?.() !== 0) return { ok: false, why: 'not root' };
  if (!existsSync(OBJ) || !existsSync(FEATURES)) return { ok: false, why: `${OBJ} or ${FEATURES} not built` };
  try {
    const f = probeKernelSync({ objectPath: FEATURES, mountMissing: false }).features.find((x) => x.name === 'bpf_lsm');
    return { ok: f?.available === true, why: f?.detail ?? 'no bpf_lsm feature in the probe' };
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
}
const avail = lsmAvailable();
if (!avail.ok) console.log(`lsm-backend: skipped (${avail.why})`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const PYTHON = existsSync('/usr/bin/python3') ? execFileSync('readlink', ['-f', '/usr/bin/python3'], { encoding: 'utf8' }).trim() : '';

function bpftoolProgs(): string[] {
  const out = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' }) || '[]') as { name?: string; type?: string }[];
  return out.map((x) => `${x.type ?? '?'}:${x.name ?? ''}`);
}

describe.skipIf(!avail.ok)('bpf_lsm backend (real kernel)', () => {
  const work = mkdtempSync(join(tmpdir(), 'peregrine-lsm-'));
  const bin = (name: string): string => join(work, name);
  const secret = join(work, 'secret.txt');
  const guard = join(work, 'guard');
  let backend: LsmBackend;
  let reports: LsmReport[] = [];
  let progsBefore: string[] = [];
  let nextId = 1;
  const servers: Server[] = [];
  const accepted = new Map<number, number>();

  function hook(spec: LsmHookSpecInput, mode: 'enforce' | 'monitor' = 'enforce'): LsmHook {
    return compileLsmHook('lsm-e2e', spec, mode, { id: nextId++ });
  }

  /** Lets reports of earlier calls arrive, then forgets them. */
  async function fresh(): Promise<void> {
    await sleep(50);
    reports = [];
  }

  async function waitFor(pred: () => boolean, ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred() && Date.now() < end) await sleep(10);
  }

  function sh(cmd: string): { rc: number; stdout: string; stderr: string; signal: string | null } {
    const r = spawnSync('/bin/sh', ['-c', cmd], { cwd: work, encoding: 'utf8', timeout: 60_000 });
    return { rc: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
  }

  async function listen(): Promise<number> {
    const s = createServer((c) => {
      const port = (s.address() as { port: number }).port;
      accepted.set(port, (accepted.get(port) ?? 0) + 1);
      c.end('hello\n');
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return (s.address() as { port: number }).port;
  }

  const connectPy = (port: number): string =>
    `${PYTHON} -c "import socket,sys
s=socket.socket()
try:
  s.connect(('127.0.0.1',${port})); print('CONNECTED'); s.close()
except OSError as e:
  print('ERRNO', e.errno); sys.exit(3)"`;

  beforeAll(() => {
    mkdirSync(guard, { recursive: true });
    for (const [src, name] of [
      ['/bin/echo', 'denied-echo'], ['/bin/echo', 'allowed-echo'], ['/bin/echo', 'killed-echo'], ['/bin/echo', 'watched-echo'], ['/bin/cat', 'allowed-cat'],
      ['/bin/dash', 'parent-sh'], ['/bin/dash', 'root-sh'],
    ]) {
      copyFileSync(src!, bin(name!));
      chmodSync(bin(name!), 0o755);
    }
    writeFileSync(secret, 'top secret\n');
    progsBefore = bpftoolProgs();
    backend = new LsmBackend({ pollIntervalMs: 5 });
    backend.onReport((r) => reports.push(...r));
    backend.start();
  });

  afterAll(async () => {
    await backend?.stop();
    for (const s of servers) s.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('loads every LSM program and attaches none before a hook is applied', () => {
    const st = backend.stats();
    expect(st.unavailable).toEqual([]);
    expect(st.attached).toEqual([]);
    expect(st.procfs.seeded).toBeGreaterThan(0);
    const progs = bpftoolProgs();
    expect(progs.filter((p) => p.startsWith('lsm:')).length).toBeGreaterThanOrEqual(9); // loaded, not attached
  });

  it('Override on bprm_check_security denies the exec of one copied binary (exit 126, no output)', async () => {
    backend.apply([
      hook({
        hook: 'bprm_check_security',
        args: [{ index: 0, type: 'linux_binprm', label: 'exe' }],
        selectors: [{ matchArgs: [{ index: 0, operator: 'Equal', values: [bin('denied-echo')] }], matchActions: [{ action: 'Override', argError: -1 }] }],
      }),
    ]);
    expect(backend.stats().attached).toEqual(['bprm_check_security']);
    await fresh();
    const denied = sh(`${bin('denied-echo')} MARKER`);
    expect(denied.rc).toBe(126);
    expect(denied.stdout).not.toContain('MARKER');
    expect(denied.stderr).toMatch(/not permitted/i);
    const allowed = sh(`${bin('allowed-echo')} MARKER`);
    expect(allowed.rc).toBe(0);
    expect(allowed.stdout).toBe('MARKER\n');
    await waitFor(() => reports.length > 0);
    expect(reports).toHaveLength(1);
    const r = reports[0]!;
    expect(r).toMatchObject({ action: 'override', errno: 1, monitor: false, lsmHook: 'bprm_check_security', policy: 'lsm-e2e', comm: 'sh' });
    expect(r.args).toEqual([{ index: 0, kind: 'path', type: 'linux_binprm', path: bin('denied-echo'), truncated: false, fault: false }]);
  });

  it('Override on file_open denies one file except to an allow-listed binary (EPERM, 0 bytes)', async () => {
    backend.apply([
      hook({
        hook: 'file_open',
        args: [{ index: 0, type: 'file' }],
        selectors: [
          {
            matchArgs: [{ index: 0, operator: 'Equal', values: [secret] }],
            matchBinaries: [{ operator: 'NotIn', values: [bin('allowed-cat')] }],
            matchActions: [{ action: 'Override', argError: -1 }],
          },
        ],
      }),
    ]);
    const st = backend.stats();
    // bprm_check_security detached (kernels that cannot re-attach a program keep it, with an empty chain)
    expect(st.attached).toEqual(st.reattach ? ['file_open'] : ['bprm_check_security', 'file_open']);
    await fresh();
    const cat = sh(`/bin/cat ${secret}`);
    expect(cat.rc).not.toBe(0);
    expect(cat.stdout).toBe('');
    expect(cat.stderr).toMatch(/not permitted/i);
    const ok = sh(`${bin('allowed-cat')} ${secret}`);
    expect(ok.rc).toBe(0);
    expect(ok.stdout).toBe('top secret\n');
    expect(readFileSync(secret, 'utf8')).toBe('top secret\n'); // this process is never evaluated
    // The previous generation's exec rule is gone.
    expect(sh(`${bin('denied-echo')} AGAIN`).stdout).toBe('AGAIN\n');
    await waitFor(() => reports.length > 0);
    expect(reports.map((r) => [r.action, r.comm, r.args[0]])).toEqual([
      ['override', 'cat', { index: 0, kind: 'path', type: 'file', path: secret, truncated: false, fault: false }],
    ]);
  });

  it.skipIf(!PYTHON)('Override on socket_connect denies one destination port (EPERM, the server sees nothing)', async () => {
    const blocked = await listen();
    const open = await listen();
    backend.apply([
      hook({
        hook: 'socket_connect',
        args: [{ index: 1, type: 'sockaddr', label: 'dest' }],
        selectors: [
          {
            matchArgs: [
              { index: 1, operator: 'Family', values: ['AF_INET'] },
              { index: 1, operator: 'DAddr', values: ['127.0.0.0/8'] },
              { index: 1, operator: 'DPort', values: [String(blocked)] },
            ],
            matchActions: [{ action: 'Override', argError: -1 }],
          },
        ],
      }),
    ]);
    await fresh();
    const d = sh(connectPy(blocked));
    expect(d.stdout).toContain('ERRNO 1');
    expect(d.rc).toBe(3);
    const o = sh(connectPy(open));
    expect(o.stdout).toContain('CONNECTED');
    await sleep(100);
    expect(accepted.get(blocked) ?? 0).toBe(0);
    expect(accepted.get(open)).toBe(1);
    await waitFor(() => reports.length > 0);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ action: 'override', errno: 1, lsmHook: 'socket_connect' });
    expect(reports[0]!.args).toEqual([{ index: 1, kind: 'sockaddr', family: 2, familyName: 'AF_INET', addr: '127.0.0.1', port: blocked }]);
  });

  it('Sigkill on bprm_check_security kills the process before the new image runs', async () => {
    backend.apply([
      hook({
        hook: 'bprm_check_security',
        args: [{ index: 0, type: 'linux_binprm' }],
        selectors: [{ matchArgs: [{ index: 0, operator: 'Postfix', values: ['/killed-echo'] }], matchActions: [{ action: 'Sigkill' }] }],
      }),
    ]);
    await fresh();
    const r = spawnSync(bin('killed-echo'), ['MARKER'], { encoding: 'utf8' });
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).toBe('');
    expect(sh(`${bin('allowed-echo')} FINE`).stdout).toBe('FINE\n');
    await waitFor(() => reports.length > 0);
    expect(reports.map((r) => [r.lsmHook, r.action, r.signal, r.errno, r.monitor, (r.args[0] as { path?: string }).path])).toEqual([
      ['bprm_check_security', 'sigkill', 9, 0, false, bin('killed-echo')],
    ]);
    expect(backend.stats().kernel.signals).toBeGreaterThanOrEqual(1);
  });

  it('monitor mode reports the Override and the Sigkill it withheld and lets the calls through', async () => {
    backend.apply([
      hook({
        hook: 'bprm_check_security',
        args: [{ index: 0, type: 'linux_binprm' }],
        selectors: [{ matchArgs: [{ index: 0, operator: 'Equal', values: [bin('denied-echo')] }], matchActions: [{ action: 'Override', argError: -13 }] }],
      }, 'monitor'),
      hook({
        hook: 'bprm_check_security',
        args: [{ index: 0, type: 'linux_binprm' }],
        selectors: [{ matchArgs: [{ index: 0, operator: 'Equal', values: [bin('killed-echo')] }], matchActions: [{ action: 'Sigkill' }, { action: 'NoPost' }] }],
      }, 'monitor'),
    ]);
    await fresh();
    expect(sh(`${bin('denied-echo')} M1`).stdout).toBe('M1\n');
    expect(sh(`${bin('killed-echo')} M2`).stdout).toBe('M2\n');
    await waitFor(() => reports.length >= 2);
    const byPath = new Map(reports.map((r) => [(r.args[0] as { path: string }).path, r]));
    expect(byPath.get(bin('denied-echo'))).toMatchObject({ action: 'override', errno: 13, monitor: true });
    expect(byPath.get(bin('killed-echo'))).toMatchObject({ action: 'sigkill', signal: 9, monitor: true });
    expect(backend.stats().kernel.monitor_withheld).toBeGreaterThanOrEqual(2);
  });

  it('path_unlink: Override on the entry (directory/name) keeps a file; Post reports a mkdir', async () => {
    writeFileSync(join(guard, 'keep'), 'x');
    writeFileSync(join(guard, 'other'), 'x');
    backend.apply([
      hook({
        hook: 'path_unlink',
        args: [{ index: 0, type: 'path', label: 'dir' }, { index: 1, type: 'path', label: 'entry' }],
        selectors: [{ matchArgs: [{ index: 1, operator: 'Prefix', values: [join(guard, 'keep')] }], matchActions: [{ action: 'Override', argError: -1 }] }],
      }),
      hook({
        hook: 'path_mkdir',
        args: [{ index: 1, type: 'path' }, { index: 2, type: 'uint32' }],
        selectors: [{ matchArgs: [{ index: 1, operator: 'Prefix', values: [guard + '/'] }] }],
      }),
    ]);
    await fresh();
    expect(sh(`rm -f ${join(guard, 'keep')}`).rc).not.toBe(0);
    expect(existsSync(join(guard, 'keep'))).toBe(true);
    expect(sh(`rm -f ${join(guard, 'other')}`).rc).toBe(0);
    expect(sh(`mkdir -m 0700 ${join(guard, 'd')}`).rc).toBe(0);
    await waitFor(() => reports.length >= 2);
    const unlink = reports.find((r) => r.lsmHook === 'path_unlink');
    expect(unlink?.args).toEqual([
      { index: 0, kind: 'path', type: 'path', path: guard, truncated: false, fault: false },
      { index: 1, kind: 'path', type: 'path', path: join(guard, 'keep'), truncated: false, fault: false },
    ]);
    const mkdir = reports.find((r) => r.lsmHook === 'path_mkdir');
    expect(mkdir?.action).toBe('post');
    expect(mkdir?.args[0]).toMatchObject({ kind: 'path', path: join(guard, 'd') });
    expect(mkdir?.args[1]).toMatchObject({ kind: 'int' });
    expect(Number((mkdir?.args[1] as { value: bigint }).value) & 0o777).toBe(0o700);
  });

  it('matchParentBinaries: Override on file_open denies a file only to children of a copied shell', async () => {
    backend.apply([
      hook({
        hook: 'file_open',
        args: [{ index: 0, type: 'file' }],
        selectors: [{
          matchArgs: [{ index: 0, operator: 'Equal', values: [secret] }],
          matchParentBinaries: [{ operator: 'In', values: [bin('parent-sh')] }],
          matchActions: [{ action: 'Override', argError: -1 }],
        }],
      }),
    ]);
    await fresh();
    // `; true`: a shell given one command would exec cat in place (cat's parent would be this test's sh).
    const denied = sh(`${bin('parent-sh')} -c '/bin/cat ${secret}; true'`);
    expect(denied.stdout).toBe('');
    expect(denied.stderr).toMatch(/not permitted/i);
    expect(sh(`/bin/dash -c '/bin/cat ${secret}; true'`).stdout).toBe('top secret\n');
    // The copied shell itself opens the file: its parent is this test's sh, not a listed binary.
    expect(sh(`${bin('parent-sh')} -c 'read l < ${secret}; echo "$l"'`).stdout).toBe('top secret\n');
    await waitFor(() => reports.length > 0);
    await sleep(50);
    expect(reports.map((r) => [r.action, r.comm, (r.args[0] as { path?: string }).path])).toEqual([['override', 'cat', secret]]);
  });

  it('followChildren: descendants of a listed binary are denied, from processes already running too; others are not', async () => {
    // A root-sh started before the policy: only the /proc walk at apply can give it its lineage bit.
    const go = join(work, 'go');
    const early = spawn(bin('root-sh'), ['-c', `while [ ! -e ${go} ]; do /bin/sleep 0.05; done; /bin/cat ${secret}; true`], { cwd: work });
    let earlyOut = '';
    let earlyErr = '';
    early.stdout.on('data', (d: Buffer) => (earlyOut += d.toString()));
    early.stderr.on('data', (d: Buffer) => (earlyErr += d.toString()));
    const earlyDone = new Promise<number | null>((r) => early.on('exit', (c) => r(c)));
    await sleep(200);
    backend.apply([
      hook({
        hook: 'file_open',
        args: [{ index: 0, type: 'file' }],
        selectors: [{
          matchArgs: [{ index: 0, operator: 'Equal', values: [secret] }],
          matchBinaries: [{ operator: 'In', values: [bin('root-sh')], followChildren: true }],
          matchActions: [{ action: 'Override', argError: -1 }],
        }],
      }),
    ]);
    await fresh();
    writeFileSync(go, '');
    expect(await earlyDone).toBe(0);
    expect(earlyOut).toBe('');
    expect(earlyErr).toMatch(/not permitted/i);
    // root-sh → dash → cat: a grandchild, across fork and exec, started after the apply.
    const grand = sh(`${bin('root-sh')} -c "/bin/dash -c '/bin/cat ${secret}; true'; true"`);
    expect(grand.stdout).toBe('');
    expect(grand.stderr).toMatch(/not permitted/i);
    // The same chain under an unrelated shell, and this test's own children, are not descendants.
    expect(sh(`/bin/dash -c "/bin/dash -c '/bin/cat ${secret}; true'; true"`).stdout).toBe('top secret\n');
    expect(sh(`/bin/cat ${secret}`).stdout).toBe('top secret\n');
    await waitFor(() => reports.length >= 2);
    await sleep(50);
    expect(reports.map((r) => [r.action, r.comm, (r.args[0] as { path?: string }).path])).toEqual([
      ['override', 'cat', secret],
      ['override', 'cat', secret],
    ]);
  });

  it('apply([]) detaches every LSM program; stop() leaves nothing behind (bpftool)', async () => {
    backend.apply([]);
    if (backend.stats().reattach) expect(backend.stats().attached).toEqual([]);
    expect(backend.stats().hooks).toBe(0);
    expect(sh(`/bin/cat ${secret}`).stdout).toBe('top secret\n');
    await backend.stop();
    const after = bpftoolProgs();
    expect(after.filter((p) => p.startsWith('lsm:'))).toEqual(progsBefore.filter((p) => p.startsWith('lsm:')));
    expect(after.filter((p) => p.endsWith(':sel_exec')).length).toBe(progsBefore.filter((p) => p.endsWith(':sel_exec')).length);
    const links = JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' }) || '[]') as { type?: string }[];
    expect(links.filter((l) => l.type === 'tracing')).toEqual([]);
    expect(backend.stats().decode.badRecord).toBe(0);
  });
});
