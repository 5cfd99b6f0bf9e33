// The kfunc backend end to end: kprobes on kernel functions through fentry, kprobe/kretprobe and
// fmod_ret programs, real processes. Runs only where the kernel probe says kprobes, fentry and fmod_ret
// work (not on the development hosts: run it in a VM, e.g.
// `VM_KERNEL=6.12 VM_TIMEOUT=900 scripts/vm/vm-run.sh 'npx --no-install vitest run --project e2e test/e2e/policy-kfunc.test.ts'`).
// Safety: every Sigkill/Override rule names files or ports this test created; the backend never
// evaluates this process; it is stopped in afterAll (nothing is pinned).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parsePolicies } from '@peregrine/policy';
import type { PeregrineEvent } from '@peregrine/events';
import { ConfigError } from '@peregrine/events';
import { compileKfuncHook, type KfuncCompileOptions } from '../../packages/collector/src/kfunc/compile.js';
import { KfuncBackend, type KfuncReport } from '../../packages/collector/src/kfunc/backend.js';
import { liveKernelFunctions } from '../../packages/collector/src/kfunc/kernel.js';
import type { KfuncHook } from '../../packages/collector/src/kfunc/types.js';
import type * as kfunc from '../../packages/collector/src/kfunc/index.js';
import type { KprobeSpecInput } from '../../packages/collector/src/syscall/compile.js';
import { bpfObjectPath } from '../../packages/collector/src/paths.js';
import { probeKernelSync } from '../../packages/collector/src/probe/index.js';
import { KfuncAdapter, kfuncArgument, SharedKfunc } from '../../packages/agent/src/policy/adapters/kfunc.js';
import { PolicyManager } from '../../packages/agent/src/policy/manager.js';

// The adapter takes `kfunc` from @peregrine/collector; provide it whether or not the built package exports it yet.
vi.mock('@peregrine/collector', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  kfunc: await import('../../packages/collector/src/kfunc/index.js'),
}));

const OBJ = bpfObjectPath('kfunc');
const FEATURES = bpfObjectPath('features');

function kfuncAvailable(): { ok: boolean; why: string } {
  if (process.geteuid?.() !== 0) return { ok: false, why: 'not root' };
  if (!existsSync(OBJ) || !existsSync(FEATURES)) return { ok: false, why: `${OBJ} or ${FEATURES} not built` };
  try {
    const fs = probeKernelSync({ objectPath: FEATURES, mountMissing: false }).features;
    const missing = ['kprobe', 'fentry', 'fmod_ret'].filter((n) => fs.find((f) => f.name === n)?.available !== true);
    return { ok: missing.length === 0, why: missing.length ? `${missing.join(', ')} not available on this kernel` : '' };
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
}
const avail = kfuncAvailable();
if (!avail.ok) console.log(`policy-kfunc: skipped (${avail.why})`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const SETPRIV = '/usr/bin/setpriv';
/** A private copy of setpriv (matchBinaries then sees only this test's runs). */
function setprivCopy(dir: string): string {
  const copy = join(dir, 'setpriv-copy');
  copyFileSync(SETPRIV, copy);
  chmodSync(copy, 0o755);
  return copy;
}
const PYTHON = existsSync('/usr/bin/python3') ? execFileSync('readlink', ['-f', '/usr/bin/python3'], { encoding: 'utf8' }).trim() : '';

/** python3 -c WRITE_BYTES <file>: two write(2)s, 4 bytes that are not text, then 300 bytes. */
const WRITE_BYTES = "import os, sys\nfd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)\nos.write(fd, b'kf\\x00\\xff')\nos.write(fd, b'z' * 300)\n";

describe.skipIf(!avail.ok)('kfunc backend (real kernel)', () => {
  const work = mkdtempSync(join(tmpdir(), 'peregrine-kfunc-'));
  const watched = join(work, 'watched');
  const other = join(work, 'other');
  let backend: KfuncBackend;
  let reports: KfuncReport[] = [];
  let nextId = 1;
  const servers: Server[] = [];
  const accepted = new Map<number, number>();

  const hook = (spec: KprobeSpecInput, mode: 'enforce' | 'monitor' = 'enforce', opts: KfuncCompileOptions = {}): KfuncHook =>
    compileKfuncHook('kfunc-e2e', spec, mode, { id: nextId++, ...opts });

  async function fresh(): Promise<void> {
    await sleep(50);
    reports = [];
  }
  async function settle(pred: () => boolean, ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred() && Date.now() < end) await sleep(10);
    await sleep(100); // and nothing more arrives
  }
  function sh(cmd: string): { rc: number; stdout: string; stderr: string } {
    const r = spawnSync('/bin/sh', ['-c', cmd], { cwd: work, encoding: 'utf8', timeout: 60_000 });
    return { rc: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
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
  const ofPath = (p: string) => (r: KfuncReport) => r.args.some((a) => a.kind === 'path' && a.path === p);

  beforeAll(() => {
    mkdirSync(watched, { recursive: true });
    mkdirSync(other, { recursive: true });
    for (const d of [watched, other]) writeFileSync(join(d, 'f.txt'), 'content\n');
    backend = new KfuncBackend({ pollIntervalMs: 5 });
    backend.onReport((r) => reports.push(...r));
    backend.start();
  });

  afterAll(async () => {
    await backend?.stop();
    for (const s of servers) s.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('fentry on security_file_open, file arg + Prefix: exactly the matching opens, with the resolved path', async () => {
    backend.apply([hook({
      call: 'security_file_open', args: [{ index: 0, type: 'file', label: 'f' }],
      selectors: [{ matchArgs: [{ index: 0, operator: 'Prefix', values: [`${watched}/`] }] }],
    })]);
    expect(backend.stats().sites).toMatchObject([{ func: 'security_file_open', kind: 'fentry', attachedAs: 'fentry' }]);
    await fresh();
    // A relative name through a symlink-free detour: the report carries the absolute, resolved path.
    expect(sh(`cat ../${work.split('/').pop()}/watched/./f.txt; cat ${other}/f.txt`).stdout).toBe('content\ncontent\n');
    await settle(() => reports.length >= 1);
    expect(reports.filter(ofPath(join(watched, 'f.txt')))).toHaveLength(1);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ action: 'post', monitor: false, comm: 'cat', ret: null });
  });

  it('kprobe + kretprobe on tcp_connect, sock arg + DAddr/DPort: the matching connect with addresses and return value', async () => {
    if (!PYTHON) return;
    const [hit, miss] = [await listen(), await listen()];
    backend.apply([hook({
      call: 'tcp_connect', return: true, returnArg: { index: 0, type: 'int' }, args: [{ index: 0, type: 'sock' }],
      selectors: [{ matchArgs: [{ index: 0, operator: 'DAddr', values: ['127.0.0.0/8'] }, { index: 0, operator: 'DPort', values: [String(hit)] }] }],
    }, 'enforce', { backend: 'kprobe' })]);
    expect(backend.stats().sites).toMatchObject([{ func: 'tcp_connect', attachedAs: 'kprobe', ret: true }]);
    await fresh();
    expect(sh(connectPy(hit)).stdout).toContain('CONNECTED');
    expect(sh(connectPy(miss)).stdout).toContain('CONNECTED');
    await settle(() => reports.length >= 1);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.ret).toBe(0n);
    expect(reports[0]!.args[0]).toMatchObject({ kind: 'sock', familyName: 'AF_INET', protocol: 6, daddr: '127.0.0.1', dport: hit, saddr: '127.0.0.1' });
  });

  it('Sigkill on security_file_open: the opener dies (137) before it writes its marker', async () => {
    const secret = join(work, 'kill-me.txt');
    writeFileSync(secret, 'x\n');
    backend.apply([hook({
      call: 'security_file_open', args: [{ index: 0, type: 'file' }],
      selectors: [{ matchArgs: [{ index: 0, operator: 'Equal', values: [secret] }], matchActions: [{ action: 'Sigkill' }] }],
    })]);
    await fresh();
    const r = sh(`/bin/sh -c 'exec 3< ${secret}; touch ${work}/marker'; echo rc=$?`);
    expect(r.stdout).toContain('rc=137');
    expect(existsSync(join(work, 'marker'))).toBe(false);
    await settle(() => reports.length >= 1);
    expect(reports.filter(ofPath(secret))).toMatchObject([{ action: 'sigkill', signal: 9 }]);
  });

  it('fmod_ret Override on security_file_open: the open fails with the errno and reads no byte; monitor mode only reports', async () => {
    backend.apply([hook({
      call: 'security_file_open', args: [{ index: 0, type: 'file' }],
      selectors: [{ matchArgs: [{ index: 0, operator: 'Prefix', values: [`${watched}/`] }], matchActions: [{ action: 'Override', argError: -13 }] }],
    })]);
    expect(backend.stats().sites).toMatchObject([{ kind: 'fmod_ret', attachedAs: 'fmod_ret' }]);
    await fresh();
    const denied = sh(`cat ${watched}/f.txt`);
    expect(denied.rc).not.toBe(0);
    expect(denied.stdout).toBe('');
    expect(denied.stderr).toMatch(/Permission denied/);
    expect(sh(`cat ${other}/f.txt`).stdout).toBe('content\n');
    await settle(() => reports.length >= 1);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ action: 'override', errno: 13, monitor: false });

    backend.apply([hook({
      call: 'security_file_open', args: [{ index: 0, type: 'file' }],
      selectors: [{ matchArgs: [{ index: 0, operator: 'Prefix', values: [`${watched}/`] }], matchActions: [{ action: 'Override', argError: -13 }] }],
    }, 'monitor')]);
    await fresh();
    expect(sh(`cat ${watched}/f.txt`).stdout).toBe('content\n');
    await settle(() => reports.length >= 1);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ action: 'override', errno: 13, monitor: true });
  });

  it('fmod_ret Override on security_socket_connect (sockaddr + DPort): the server sees no connection', async () => {
    if (!PYTHON) return;
    const [blocked, open] = [await listen(), await listen()];
    backend.apply([hook({
      call: 'security_socket_connect', args: [{ index: 1, type: 'sockaddr' }],
      selectors: [{ matchArgs: [{ index: 1, operator: 'DPort', values: [String(blocked)] }], matchActions: [{ action: 'Override', argError: -1 }] }],
    })]);
    await fresh();
    const r = sh(connectPy(blocked));
    expect(r.stdout).toContain('ERRNO 1');
    expect(sh(connectPy(open)).stdout).toContain('CONNECTED');
    await sleep(100);
    expect(accepted.get(blocked) ?? 0).toBe(0);
    await settle(() => reports.length >= 1);
    expect(reports[0]!.args[0]).toMatchObject({ kind: 'sockaddr', familyName: 'AF_INET', addr: '127.0.0.1', port: blocked });
  });

  it('sys_openat Override through fmod_ret on __x64_sys_openat: denied where the kernel allows it, else refused at load', async () => {
    const spec: KprobeSpecInput = {
      call: 'sys_openat', syscall: true, args: [{ index: 1, type: 'string' }],
      selectors: [{ matchArgs: [{ index: 1, operator: 'Prefix', values: [`${watched}/`] }], matchActions: [{ action: 'Override', argError: -1 }] }],
    };
    if (liveKernelFunctions().modifiable('__x64_sys_openat') === false) {
      // Debian's kernels are built without CONFIG_FUNCTION_ERROR_INJECTION: only security_* hooks can be overridden.
      try {
        hook(spec, 'enforce', { path: 'spec.kprobes[0]' });
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).issues[0]).toMatchObject({ path: 'spec.kprobes[0].call', message: expect.stringMatching(/__x64_sys_openat.*error-injection.*lsmhooks/) });
      }
      return;
    }
    backend.apply([hook(spec)]);
    await fresh();
    const denied = sh(`cat ${watched}/f.txt`);
    expect(denied.stdout).toBe('');
    expect(denied.stderr).toMatch(/not permitted/i);
    expect(sh(`cat ${other}/f.txt`).stdout).toBe('content\n');
  });

  it('fentry with matchPIDs isNamespacePID + followForks In [1]: cat 9 levels below ns pid 1, not 10', async () => {
    backend.apply([hook({
      call: 'security_file_open', args: [{ index: 0, type: 'file' }],
      selectors: [{
        matchPIDs: [{ operator: 'In', followForks: true, isNamespacePID: true, values: [1] }],
        matchArgs: [{ index: 0, operator: 'Prefix', values: [`${watched}/`] }],
      }],
    })]);
    const chain = join(work, 'chain.sh'); // runs its command n processes below the first sh (ns pid 1 here)
    writeFileSync(chain, 'n=$1; shift\nif [ "$n" -gt 0 ]; then /bin/sh "$0" $((n - 1)) "$@"; rc=$?; exit $rc; fi\nexec "$@"\n');
    await fresh();
    for (const n of ['9', '10']) {
      expect(sh(`unshare --pid --fork --mount-proc /bin/sh ${chain} ${n} cat ${watched}/f.txt`).stdout).toBe('content\n');
    }
    await settle(() => reports.length >= 1);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ action: 'post', comm: 'cat' });
  });

  it('kprobe on commit_creds, cred arg: the new credentials setpriv installs (ids, capability masks, user namespace)', async () => {
    if (!existsSync(SETPRIV)) return;
    const copy = setprivCopy(work);
    backend.apply([hook({
      call: 'commit_creds', args: [{ index: 0, type: 'cred' }],
      selectors: [{ matchBinaries: [{ operator: 'In', values: [copy] }] }],
    }, 'enforce', { backend: 'kprobe' })]);
    expect(backend.stats().sites).toMatchObject([{ func: 'commit_creds', attachedAs: 'kprobe' }]);
    await fresh();
    expect(sh(`${copy} --reuid=65534 --regid=65534 --clear-groups /bin/true; echo rc=$?`).stdout).toContain('rc=0');
    const creds = (): kfunc.KfuncCred[] => reports.flatMap((r) => r.args.flatMap((a) => (a.kind === 'cred' && a.cred ? [a.cred] : [])));
    const ids = (c: kfunc.KfuncCred): number[] => [c.uid, c.euid, c.suid, c.fsuid, c.gid, c.egid, c.sgid, c.fsgid];
    await settle(() => creds().some((c) => ids(c).every((v) => v === 65534)));
    // setpriv: setgroups as root, then setresuid under PR_SET_KEEPCAPS (permitted kept, effective cleared),
    // then setresgid, then the exec. Each installs new credentials.
    expect(creds().some((c) => c.uid === 0 && (c.effective & (1n << 7n)) !== 0n)).toBe(true); // CAP_SETUID
    const kept = creds().find((c) => c.uid === 65534 && c.gid === 0)!;
    expect(kept).toMatchObject({ euid: 65534, suid: 65534, fsuid: 65534, effective: 0n, inheritable: 0n });
    expect(kept.securebits & 0x10).toBe(0x10); // SECBIT_KEEP_CAPS
    expect(kept.permitted & (1n << 7n)).toBe(1n << 7n);
    const last = creds().at(-1)!;
    expect(ids(last)).toEqual(Array(8).fill(65534));
    expect(last).toMatchObject({ effective: 0n, userNs: { level: 0, uid: 0, gid: 0, inum: 0xeffffffd } });
  });

  it('fentry on vfs_write, char_buf + sizeArgIndex: the raw bytes (NUL, 0xff) and the length; past 255 bytes, cut with the full length', async () => {
    if (!PYTHON) return;
    const out = join(watched, 'bytes.bin');
    backend.apply([hook({
      call: 'vfs_write', args: [{ index: 0, type: 'file' }, { index: 1, type: 'char_buf', sizeArgIndex: 3 }, { index: 2, type: 'size_t' }],
      selectors: [{ matchArgs: [{ index: 0, operator: 'Equal', values: [out] }] }],
    })]);
    await fresh();
    expect(spawnSync(PYTHON, ['-c', WRITE_BYTES, out]).status).toBe(0);
    await settle(() => reports.length >= 2);
    expect(reports.map((r) => r.args[1])).toEqual([
      { index: 1, kind: 'buf', bytes: Buffer.from([0x6b, 0x66, 0, 0xff]), size: 4n, truncated: false, fault: false },
      { index: 1, kind: 'buf', bytes: Buffer.alloc(255, 'z'), size: 300n, truncated: true, fault: false },
    ]);
  });

  it('load errors: a missing function, a bad argument type, Override on a function the kernel cannot override', () => {
    const issue = (spec: KprobeSpecInput): { path: string; message: string } => {
      try {
        hook(spec, 'enforce', { path: 'spec.kprobes[3]' });
      } catch (e) {
        if (e instanceof ConfigError) return e.issues[0]!;
        throw e;
      }
      throw new Error('compiled');
    };
    expect(issue({ call: 'peregrine_no_such_function', args: [] })).toMatchObject({ path: 'spec.kprobes[3].call', message: expect.stringMatching(/does not exist on this kernel/) });
    expect(issue({ call: 'vfs_open', args: [{ index: 0, type: 'skb' }] })).toMatchObject({ path: 'spec.kprobes[3].args[0].type' });
    expect(issue({ call: 'commit_creds', args: [{ index: 0, type: 'cred' }], selectors: [{ matchArgs: [{ index: 0, operator: 'Equal', values: ['0'] }] }] }))
      .toMatchObject({ path: 'spec.kprobes[3].selectors[0].matchArgs[0].index', message: expect.stringMatching(/is a cred/) });
    expect(issue({
      call: 'vfs_open', args: [{ index: 0, type: 'path' }],
      selectors: [{ matchArgs: [{ index: 0, operator: 'Prefix', values: ['/x/'] }], matchActions: [{ action: 'Override', argError: -1 }] }],
    })).toMatchObject({ path: 'spec.kprobes[3].call', message: expect.stringMatching(/Override cannot be honoured on 'vfs_open'.*fmod_ret/) });
  });

  it('detaches every site when the hooks go', async () => {
    backend.apply([]);
    expect(backend.stats().sites).toEqual([]);
    await fresh();
    sh(`cat ${watched}/f.txt`);
    await sleep(100);
    expect(reports).toEqual([]);
  });
});

describe('kfunc adapter arguments (host)', () => {
  it("reports arguments in Tetragon's shapes: file_arg, path_arg, linux_binprm_arg, sock_arg, sockaddr_arg, string_arg, bytes_arg, truncated_bytes_arg, capability_arg, size_arg", () => {
    expect(kfuncArgument({ index: 0, kind: 'path', type: 'fd', path: '/etc/x', truncated: false, fault: false }, 'fd', 'f')).toEqual({ file_arg: { path: '/etc/x' }, label: 'f' });
    expect(kfuncArgument({ index: 0, kind: 'path', type: 'path', path: '/d', truncated: false, fault: false }, 'path', undefined)).toEqual({ path_arg: { path: '/d' } });
    expect(kfuncArgument({ index: 0, kind: 'path', type: 'linux_binprm', path: '/bin/x', truncated: false, fault: false }, 'linux_binprm', undefined)).toEqual({ linux_binprm_arg: { path: '/bin/x' } });
    expect(kfuncArgument({ index: 0, kind: 'sock', family: 2, familyName: 'AF_INET', protocol: 6, saddr: '10.0.0.2', daddr: '10.0.0.1', sport: 40000, dport: 443 }, 'sock', 's')).toEqual({
      sock_arg: { family: 'AF_INET', protocol: 'IPPROTO_TCP', saddr: '10.0.0.2', daddr: '10.0.0.1', sport: 40000, dport: 443 }, label: 's',
    });
    expect(kfuncArgument({ index: 1, kind: 'sockaddr', family: 10, familyName: 'AF_INET6', addr: '::1', port: 22 }, 'sockaddr', undefined)).toEqual({ sockaddr_arg: { family: 'AF_INET6', addr: '::1', port: 22 } });
    expect(kfuncArgument({ index: 0, kind: 'string', value: 'abc', truncated: false, fault: false }, 'string', undefined)).toEqual({ string_arg: 'abc' });
    const raw = Buffer.from([0x61, 0, 0xff]);
    expect(kfuncArgument({ index: 1, kind: 'buf', bytes: raw, size: 3n, truncated: false, fault: false }, 'char_buf', 'b')).toEqual({ bytes_arg: 'YQD/', label: 'b' });
    expect(kfuncArgument({ index: 1, kind: 'buf', bytes: raw, size: 4096n, truncated: true, fault: false }, 'char_buf', undefined))
      .toEqual({ truncated_bytes_arg: { bytes_arg: 'YQD/', orig_size: '4096' } });
    expect(kfuncArgument({ index: 0, kind: 'int', value: 21n }, 'capability', undefined)).toEqual({ capability_arg: { value: 21, name: 'CAP_SYS_ADMIN' } });
    expect(kfuncArgument({ index: 2, kind: 'int', value: 4096n }, 'size_t', undefined)).toEqual({ size_arg: '4096' });
    expect(kfuncArgument({ index: 2, kind: 'int', value: 0xffffffffffffffffn }, 'int', undefined)).toEqual({ int_arg: -1 });
  });
});

const policy = (name: string, body: string, mode = 'enforce'): ReturnType<typeof parsePolicies>[number] =>
  parsePolicies(`apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: ${name}}\nspec:\n  options: [{name: policy-mode, value: ${mode}}]\n  kprobes:\n${body}`, name)[0]!;

describe.skipIf(!avail.ok)('kfunc adapters through the PolicyManager (real kernel)', () => {
  const work = mkdtempSync(join(tmpdir(), 'peregrine-kfunc-pm-'));
  const target = join(work, 'target.txt');
  writeFileSync(target, 'x\n');
  const events: PeregrineEvent[] = [];
  const shared = new SharedKfunc();
  const manager = new PolicyManager(
    [new KfuncAdapter('fentry', shared), new KfuncAdapter('kprobe', shared), new KfuncAdapter('fmod_ret', shared)],
    new Set(['kprobe', 'fentry', 'fmod_ret']), 'vm', { processOfPid: () => undefined }, (e) => events.push(...e),
  );

  afterAll(async () => {
    await manager.stop();
    rmSync(work, { recursive: true, force: true });
  });

  async function eventsFor(n: number): Promise<void> {
    const end = Date.now() + 3000;
    while (events.length < n && Date.now() < end) {
      await sleep(20);
      manager.tick(Date.now() + 5000); // no process cache here: emit without waiting for one
    }
  }

  it('plans onto fentry and emits process_kprobe in Tetragon\'s shape', async () => {
    const st = await manager.add([policy('watch-target', `  - call: security_file_open\n    message: target opened\n    tags: [files]\n    args: [{index: 0, type: file, label: target}]\n    selectors: [{matchArgs: [{index: 0, operator: Equal, values: [${target}]}]}]\n`)], 'test');
    expect(st[0]!.hooks).toMatchObject([{ backend: 'fentry', status: 'attached' }]);
    expect(readFileSync(target, 'utf8')).toBe('x\n'); // this process is never evaluated
    expect(spawnSync('/bin/cat', [target], { encoding: 'utf8' }).stdout).toBe('x\n');
    await eventsFor(1);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      process_kprobe: {
        function_name: 'security_file_open', policy_name: 'watch-target', action: 'KPROBE_ACTION_POST', message: 'target opened', tags: ['files'],
        args: [{ file_arg: { path: target }, label: 'target' }],
      },
      node_name: 'vm',
    });
    await manager.delete('watch-target');
  });

  it('commit_creds with a cred argument: process_credentials_arg with the new ids and capability names', async () => {
    if (!existsSync(SETPRIV)) return;
    events.length = 0;
    const copy = setprivCopy(work);
    const st = await manager.add([policy('creds-installed', `  - call: commit_creds\n    args: [{index: 0, type: cred, label: new}]\n    selectors: [{matchBinaries: [{operator: In, values: [${copy}]}]}]\n`)], 'test');
    expect(st[0]!.hooks).toMatchObject([{ backend: 'fentry', status: 'attached' }]);
    expect(spawnSync(copy, ['--reuid=65534', '--regid=65534', '--clear-groups', '/bin/true']).status).toBe(0);
    type Creds = { uid: number; gid: number; securebits?: string[]; caps: { permitted: string[]; effective: string[]; inheritable: string[] } };
    const credsOf = (e: PeregrineEvent): Creds[] => ('process_kprobe' in e ? e.process_kprobe.args : [])
      .flatMap((a) => ('process_credentials_arg' in a ? [a.process_credentials_arg as Creds] : []));
    const done = (): boolean => events.flatMap(credsOf).some((c) => c.uid === 65534 && c.gid === 65534);
    const end = Date.now() + 5000;
    while (!done() && Date.now() < end) {
      await sleep(20);
      manager.tick(Date.now() + 5000); // no process cache here: emit without waiting for one
    }
    const creds = events.flatMap(credsOf);
    // Root's full set while setgroups runs; setresuid under PR_SET_KEEPCAPS keeps permitted, clears effective.
    expect(creds.some((c) => c.uid === 0 && c.caps.permitted.includes('CAP_SETUID') && c.caps.effective.includes('CAP_SYS_ADMIN'))).toBe(true);
    const kept = creds.find((c) => c.uid === 65534 && c.gid === 0);
    expect(kept).toMatchObject({ securebits: ['SecBitKeepCaps'], caps: { effective: [], inheritable: [] } });
    expect(kept!.caps.permitted).toContain('CAP_SETUID');
    const last = events.filter((e) => credsOf(e).length > 0).at(-1);
    expect(last).toMatchObject({
      process_kprobe: {
        function_name: 'commit_creds', policy_name: 'creds-installed', action: 'KPROBE_ACTION_POST',
        args: [{
          process_credentials_arg: {
            uid: 65534, gid: 65534, euid: 65534, egid: 65534, suid: 65534, sgid: 65534, fsuid: 65534, fsgid: 65534,
            caps: { effective: [], inheritable: [] },
            user_ns: { level: 0, uid: 0, gid: 0, ns: { inum: 4026531837, is_host: true } },
          },
          label: 'new',
        }],
      },
    });
    await manager.delete('creds-installed');
  });

  it('char_buf on vfs_write: bytes_arg (base64), and truncated_bytes_arg with orig_size past 255 bytes', async () => {
    if (!PYTHON) return;
    events.length = 0;
    const out = join(work, 'bytes.bin');
    const st = await manager.add([policy('write-bytes', `  - call: vfs_write\n    args: [{index: 0, type: file}, {index: 1, type: char_buf, sizeArgIndex: 3, label: buf}, {index: 2, type: size_t}]\n    selectors: [{matchArgs: [{index: 0, operator: Equal, values: [${out}]}]}]\n`)], 'test');
    expect(st[0]!.hooks).toMatchObject([{ backend: 'fentry', status: 'attached' }]);
    expect(spawnSync(PYTHON, ['-c', WRITE_BYTES, out]).status).toBe(0);
    await eventsFor(2);
    expect(events.map((e) => ('process_kprobe' in e ? e.process_kprobe.args : []))).toEqual([
      [{ file_arg: { path: out } }, { bytes_arg: 'a2YA/w==', label: 'buf' }, { size_arg: '4' }],
      [{ file_arg: { path: out } }, { truncated_bytes_arg: { bytes_arg: Buffer.alloc(255, 'z').toString('base64'), orig_size: '300' }, label: 'buf' }, { size_arg: '300' }],
    ]);
    await manager.delete('write-bytes');
  });

  it('Override through fmod_ret: KPROBE_ACTION_OVERRIDE, and the open is denied', async () => {
    events.length = 0;
    const st = await manager.add([policy('deny-target', `  - call: security_file_open\n    args: [{index: 0, type: file}]\n    selectors: [{matchArgs: [{index: 0, operator: Equal, values: [${target}]}], matchActions: [{action: Override, argError: -1}]}]\n`)], 'test');
    expect(st[0]!.hooks).toMatchObject([{ backend: 'fmod_ret' }]);
    const r = spawnSync('/bin/cat', [target], { encoding: 'utf8' });
    expect(r.stderr).toMatch(/not permitted/i);
    await eventsFor(1);
    expect(events[0]).toMatchObject({ process_kprobe: { function_name: 'security_file_open', action: 'KPROBE_ACTION_OVERRIDE' } });
    await manager.delete('deny-target');
    expect(spawnSync('/bin/cat', [target], { encoding: 'utf8' }).stdout).toBe('x\n');
  });
});
