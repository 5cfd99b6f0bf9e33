// Process telemetry end to end: the real agent, real BPF programs, real processes.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync, rmdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitArguments, type PeregrineEvent, type Process } from '@peregrine/events';
import { canRunBpf, execs, exits, startAgent, type RunningAgent } from '../helpers/agent.js';
import { cgroup2Mount, scaled } from '../helpers/kernel.js';

const TRUE = '/usr/bin/true';
const SLEEP = '/usr/bin/sleep';
const SH = execFileSync('readlink', ['-f', '/bin/sh'], { encoding: 'utf8' }).trim();
const PYTHON = '/usr/bin/python3';
const decodeExecId = (id: string): string => Buffer.from(id, 'base64').toString('utf8');
const uniq = (): string => `m${process.pid}x${Math.random().toString(36).slice(2, 10)}`;

describe.skipIf(!canRunBpf())('process telemetry (real kernel)', () => {
  let agent: RunningAgent;
  let events: PeregrineEvent[] = [];
  const work = mkdtempSync(join(tmpdir(), 'peregrine-proc-'));
  const marks = {
    argv: uniq(),
    rel: uniq(),
    link: uniq(),
    shexec: uniq(),
    status: uniq(),
    signal: uniq(),
    fork: uniq(),
    longargs: uniq(),
    longpath: uniq(),
    procfs: uniq(),
    ns: uniq(),
  };
  const argvCase = ['with space', 'double"quote', "single'quote", 'back\\slash', 'ünïcødé ✓ 日本', '', '--flag=a b', marks.argv];
  let preexisting: ReturnType<typeof spawn>;
  const fifo = join(work, 'go');
  const longDir = join(work, 'd'.repeat(100), 'e'.repeat(100), 'f'.repeat(100));
  let nsSleepPid = 0;
  const nsBin = join(work, `sleep-${marks.ns}`);
  const nsExpect: Record<string, number> = {};
  const cgDir = `${cgroup2Mount() ?? '/sys/fs/cgroup'}/peregrine-test-${process.pid}`;
  let cgIno = 0n;

  beforeAll(async () => {
    // A process that exists before the agent: it waits on a fifo, then runs a child.
    execFileSync('mkfifo', [fifo]);
    preexisting = spawn(SH, ['-c', `read x < ${fifo}; ${TRUE} ${marks.procfs}-child; exec ${SLEEP} 0`, marks.procfs], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, scaled(200)));

    agent = await startAgent(['--max-args-bytes', '256', '--enable-process-cred', '--enable-process-ns']);

    spawnSync(TRUE, argvCase, { cwd: work });
    // Exec by relative path and through a symlink: the executed file's real path is reported.
    copyFileSync(TRUE, join(work, 'mytrue'));
    chmodSync(join(work, 'mytrue'), 0o755);
    symlinkSync(join(work, 'mytrue'), join(work, 'link-to-true'));
    spawnSync(SH, ['-c', `cd ${work} && ./mytrue ${marks.rel} && ./link-to-true ${marks.link}`]);
    // sh -c that execs without forking.
    spawnSync(SH, ['-c', `exec ${TRUE} ${marks.shexec}`]);
    // Exit status, killing signal, fork without exec.
    spawnSync(SH, ['-c', `exit 42`, marks.status]);
    spawnSync(SH, ['-c', `kill -KILL $$`, marks.signal]);
    spawnSync(PYTHON, ['-c', 'import os,sys\npid=os.fork()\nif pid==0: os._exit(7)\nos.waitpid(pid,0)', marks.fork]);
    // argv longer than the bound (256 bytes) and a path longer than 256 characters.
    spawnSync(TRUE, [marks.longargs, 'x'.repeat(600)]);
    mkdirSync(longDir, { recursive: true });
    copyFileSync(TRUE, join(longDir, 'true-in-a-long-path'));
    chmodSync(join(longDir, 'true-in-a-long-path'), 0o755);
    // argv0 kept short: the 256-byte argv bound of this agent would otherwise cut the marker.
    spawnSync(join(longDir, 'true-in-a-long-path'), [marks.longpath], { cwd: longDir, argv0: 'tl' });
    // The pre-existing process now runs its child.
    writeFileSync(fifo, 'go\n');
    await new Promise<void>((r) => preexisting.on('exit', () => r()));
    // New pid + mnt namespaces inside a child cgroup.
    mkdirSync(cgDir);
    cgIno = statSync(cgDir, { bigint: true }).ino;
    copyFileSync(SLEEP, nsBin);
    chmodSync(nsBin, 0o755);
    const nsProc = spawn(SH, ['-c', `echo $$ > ${cgDir}/cgroup.procs && exec unshare --pid --mount --fork ${nsBin} 30`], { stdio: 'ignore' });
    for (const end = Date.now() + scaled(5000); Date.now() < end && nsSleepPid === 0; ) {
      await new Promise((r) => setTimeout(r, 50));
      const out = spawnSync('pgrep', ['-f', `^${nsBin} 30`], { encoding: 'utf8' }).stdout.trim().split('\n');
      // By inode: when the tests run chrooted (the kernel matrix's VMs), /proc/PID/exe of a process in a
      // new mount namespace reads from outside our root (/newroot/tmp/…): its copy of our root is not ours.
      const ino = statSync(nsBin).ino;
      const p = out.map(Number).find((pid) => pid > 0 && statSync(`/proc/${pid}/exe`, { throwIfNoEntry: false })?.ino === ino);
      if (p) nsSleepPid = p;
    }
    for (const n of ['pid', 'mnt', 'net', 'uts']) nsExpect[n] = Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${nsSleepPid}/ns/${n}`))![1]);
    process.kill(nsSleepPid, 'SIGKILL');
    await new Promise<void>((r) => nsProc.on('exit', () => r()));
    await new Promise((r) => setTimeout(r, scaled(300)));
    events = await agent.stop();
  });

  afterAll(() => {
    if (agent && agent.proc.exitCode === null) agent.proc.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
    if (existsSync(cgDir)) rmdirSync(cgDir);
  });

  const execOf = (mark: string, binary?: string): { process: Process; parent?: Process } => {
    const found = execs(events).filter(
      (e) => splitArguments(e.process.arguments).includes(mark) && (!binary || e.process.binary === binary),
    );
    expect(found, `exec with ${mark}`).toHaveLength(1);
    return found[0]!;
  };
  const byExecId = (id: string): Process | undefined => execs(events).find((e) => e.process.exec_id === id)?.process;

  it('reports the exact argv, cwd, uid and absolute binary', () => {
    const e = execOf(marks.argv);
    expect(e.process.binary).toBe(TRUE);
    expect(splitArguments(e.process.arguments)).toEqual(argvCase);
    expect(e.process.cwd).toBe(work);
    expect(e.process.uid).toBe(0);
    expect(e.process.pid).toBeGreaterThan(0);
    expect(e.process.flags).toContain('execve');
    expect(e.parent?.exec_id).toBe(e.process.parent_exec_id);
  });

  it('reports the real path of a file executed by a relative path or through a symlink', () => {
    expect(execOf(marks.rel).process.binary).toBe(join(work, 'mytrue'));
    expect(execOf(marks.link).process.binary).toBe(join(work, 'mytrue'));
  });

  it('links every exec to its parent: parent_exec_id is the exec_id of the parent event', () => {
    const child = execOf(marks.rel);
    const parent = byExecId(child.process.parent_exec_id!);
    expect(parent?.binary).toBe(SH);
    expect(decodeExecId(child.process.exec_id)).toMatch(new RegExp(`^[^:]+:\\d+:${child.process.pid}$`));
  });

  it('sh -c that execs without forking: distinct exec ids, the shell image is the parent', () => {
    const e = execOf(marks.shexec, TRUE);
    expect(e.parent?.binary).toBe(SH);
    expect(e.parent?.pid).toBe(e.process.pid);
    expect(e.parent?.exec_id).not.toBe(e.process.exec_id);
    expect(byExecId(e.process.parent_exec_id!)?.arguments).toContain(marks.shexec);
  });

  it('reports exit status and the killing signal', () => {
    const status = exits(events).find((x) => x.process.arguments.includes(marks.status));
    expect(status?.status).toBe(42);
    expect(status?.signal).toBeUndefined();
    const killed = exits(events).find((x) => x.process.arguments.includes(marks.signal));
    expect(killed?.signal).toBe('SIGKILL');
  });

  it('tracks a fork without exec until its exit', () => {
    const forked = exits(events).filter((x) => x.process.arguments.includes(marks.fork) && x.process.flags.includes('clone'));
    expect(forked).toHaveLength(1);
    expect(forked[0]!.status).toBe(7);
    const parentExec = execOf(marks.fork);
    expect(forked[0]!.process.parent_exec_id).toBe(parentExec.process.exec_id);
  });

  it('truncates argv beyond the bound and flags it', () => {
    const e = execOf(marks.longargs);
    expect(e.process.flags).toContain('truncArgs');
    expect(e.process.arguments.length).toBeLessThan(300);
  });

  it('reports paths longer than 256 characters completely', () => {
    const e = execOf(marks.longpath);
    expect(e.process.binary).toBe(join(longDir, 'true-in-a-long-path'));
    expect(e.process.binary.length).toBeGreaterThan(256);
    expect(e.process.cwd).toBe(longDir);
  });

  it('discovers processes started before the agent (procFS) and resolves their later children', () => {
    const pre = execs(events).find((e) => e.process.flags.includes('procFS') && e.process.arguments.includes(marks.procfs) && e.process.binary === SH);
    expect(pre).toBeDefined();
    const child = execOf(`${marks.procfs}-child`);
    expect(child.process.parent_exec_id).toBe(pre!.process.exec_id);
    expect(child.parent?.flags).toContain('procFS');
  });

  it('reports namespaces and cgroup of a process in new pid+mnt namespaces and a child cgroup', () => {
    const found = execs(events).filter((x) => x.process.binary === nsBin);
    expect(found).toHaveLength(1);
    const e = found[0]!;
    const ns = e.process.ns!;
    expect(e.process.pid).toBe(nsSleepPid);
    expect(ns.pid.inum).toBe(nsExpect.pid);
    expect(ns.mnt.inum).toBe(nsExpect.mnt);
    expect(ns.net.inum).toBe(nsExpect.net);
    expect(ns.pid.is_host).toBe(false);
    expect(ns.mnt.is_host).toBe(false);
    expect(ns.net.is_host).toBe(true);
    expect(e.process.cgroup?.id).toBe(cgIno.toString());
    expect(e.process.cgroup?.name).toBe(`peregrine-test-${process.pid}`);
    const host = execOf(marks.argv).process;
    expect(host.ns!.pid.inum).not.toBe(ns.pid.inum);
    expect(host.ns!.pid.is_host).toBe(true);
    expect(host.cgroup?.id).not.toBe(e.process.cgroup?.id);
  });

  it('reports capabilities and credentials', () => {
    const p = execOf(marks.argv).process;
    expect(p.cap?.effective).toContain('CAP_SYS_ADMIN');
    expect(p.process_credentials).toMatchObject({ uid: 0, euid: 0, gid: 0, egid: 0 });
  });
});
