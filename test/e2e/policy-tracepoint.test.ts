// `tracepoints:` through the agent on the real kernel: generic_tp.o attached per subsystem/event, the
// syscall backend's selectors over format-file fields; process_tracepoint events with typed, labelled
// args. Every Sigkill rule is scoped to this test's temporary directory.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeregrineEvent, ProcessTracepoint } from '@peregrine/events';
import { canRunBpf, startAgent, type RunningAgent } from '../helpers/agent.js';
import { request } from '../../packages/agent/src/control/client.js';

const dir = mkdtempSync(join(tmpdir(), 'peregrine-tp-'));
const sock = join(dir, 'ctl.sock');
const tps = (evs: PeregrineEvent[], name: string): ProcessTracepoint[] =>
  evs.flatMap((e) => ('process_tracepoint' in e && e.process_tracepoint.policy_name === name ? [e.process_tracepoint] : []));
const sh = (cmd: string, shell = '/bin/sh') => spawnSync(shell, ['-c', cmd], { encoding: 'utf8', cwd: dir });
const tpNames = (): string => execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' });

const openat = (body: string): string => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: tp-openat}
spec:
  tracepoints:
  - subsystem: syscalls
    event: sys_enter_openat
    args: [{index: 6, type: string, label: filename}, {index: 7, type: int, label: flags}]
    message: openat via tracepoint
    tags: [tp]
    selectors:
${body}`;

const rename = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: tp-rename}
spec:
  tracepoints:
  - subsystem: task
    event: task_rename
    args: [{index: 4, type: int, label: pid}, {index: 6, type: string, label: newcomm}]
    selectors:
    - matchArgs: [{index: 6, operator: Equal, values: [tp-e2e-name]}]
      matchParentBinaries: [{operator: In, values: [/usr/bin/bash]}]
`;

// followChildren roots at a copy of dash of this test's own: every process of the machine may
// descend from some bash (the test runner does), and descendants of a match are matches.
const follow = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: tp-follow}
spec:
  tracepoints:
  - subsystem: task
    event: task_rename
    args: [{index: 6, type: string, label: newcomm}]
    selectors:
    - matchArgs: [{index: 6, operator: Equal, values: [tp-e2e-follow]}]
      matchBinaries: [{operator: In, values: [${dir}/rootsh], followChildren: true}]
`;

// char_buf on sys_enter_write: buf (field 6) with the length in count (field 7: sizeArgIndex 8,
// Tetragon counts sizeArgIndex from 1); only writes whose bytes start with this run's marker.
const MARK = `tp-e2e-buf-${process.pid}`;
const write = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: tp-write}
spec:
  tracepoints:
  - subsystem: syscalls
    event: sys_enter_write
    args: [{index: 5, type: int, label: fd}, {index: 6, type: char_buf, sizeArgIndex: 8, label: buf}]
    selectors:
    - matchArgs: [{index: 6, operator: Prefix, values: ["${MARK}"]}]
`;
/**
 * Writes each argument with one write(2) to a new file at fd 57, `\0` written as a NUL and `\xff` as the
 * byte 0xff (the length is count, not a string's; the bytes need not be UTF-8).
 */
const WRITER = `import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.dup2(fd, 57)
for a in sys.argv[2:]:
    os.write(57, a.encode().replace(b'\\\\0', b'\\x00').replace(b'\\\\xff', b'\\xff'))
`;

/** Renames the calling python3 process (prctl PR_SET_NAME): fires task/task_rename. */
const PRCTL = (name: string): string => `python3 ${dir}/rename.py ${name}`;

describe.skipIf(!canRunBpf())('tracepoints (tracepoint backend)', () => {
  let agent: RunningAgent;
  let events: PeregrineEvent[] = [];

  beforeAll(async () => {
    for (const d of ['kill', 'post', 'nopost', 'other']) mkdirSync(join(dir, d));
    copyFileSync('/bin/dash', join(dir, 'rootsh'));
    chmodSync(join(dir, 'rootsh'), 0o755);
    writeFileSync(join(dir, 'rename.py'), 'import ctypes, sys\nctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)\n');
    writeFileSync(join(dir, 'openat.yaml'), openat(`    - matchArgs: [{index: 6, operator: Prefix, values: ["${dir}/kill/"]}]
      matchActions: [{action: Sigkill}]
    - matchArgs: [{index: 6, operator: Prefix, values: ["${dir}/post/"]}, {index: 7, operator: GT, values: ["0"]}]
    - matchArgs: [{index: 6, operator: Prefix, values: ["${dir}/nopost/"]}]
      matchActions: [{action: NoPost}]
`));
    writeFileSync(join(dir, 'rename.yaml'), rename);
    writeFileSync(join(dir, 'write.yaml'), write);
    writeFileSync(join(dir, 'writer.py'), WRITER);
    agent = await startAgent([
      '--tracing-policy', join(dir, 'openat.yaml'), '--tracing-policy', join(dir, 'rename.yaml'), '--tracing-policy', join(dir, 'write.yaml'),
      '--server-socket', sock,
    ]);
  });

  afterAll(() => {
    if (agent && agent.proc.exitCode === null) agent.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the hooks as attached on the tracepoint backend', async () => {
    const r = await request(sock, { op: 'policy.list' });
    expect(r.ok).toBe(true);
    const hooks = (r.ok ? r.policies ?? [] : []).flatMap((p) => p.hooks);
    expect(hooks).toContainEqual(expect.objectContaining({ path: 'spec.tracepoints[0]', hook: 'tracepoints syscalls/sys_enter_openat', backend: 'tracepoint', status: 'attached' }));
    expect(tpNames()).toContain('sel_tp');
  });

  it('Sigkill: the opener dies (137) and never writes the marker', () => {
    const r = sh(`/bin/sh -c 'echo x > ${dir}/kill/f; echo after > ${dir}/marker'; echo rc=$?`);
    expect(r.stdout.trim()).toBe('rc=137');
    expect(existsSync(join(dir, 'marker'))).toBe(false);
  });

  it('Post, NoPost and non-matching opens', () => {
    expect(sh(`echo x > ${dir}/post/a; cat ${dir}/post/a > /dev/null; echo y > ${dir}/nopost/b; echo z > ${dir}/other/c`).status).toBe(0);
  });

  it('matchParentBinaries In /usr/bin/bash: a child of bash matches, a child of dash does not', () => {
    // `; true`: a shell given one command execs it in place (its parent would be the test runner).
    expect(sh(`${PRCTL('tp-e2e-name')}; true`, '/usr/bin/bash').status).toBe(0);
    expect(sh(`${PRCTL('tp-e2e-name')}; true`, '/bin/dash').status).toBe(0);
  });

  it('char_buf: writes starting with the marker are reported with their bytes, others are not', () => {
    const r = spawnSync('/usr/bin/python3', [join(dir, 'writer.py'), join(dir, 'out'), `${MARK}:hello\\0after\\xff`, `x${MARK}`, `${MARK}:${'a'.repeat(300)}`], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it('refuses Override, unknown fields, wrong types and unknown events with precise paths', async () => {
    const bad = async (yaml: string) => {
      const r = await request(sock, { op: 'policy.add', yaml, source: 'test' });
      expect(r.ok).toBe(false);
      return r.ok ? [] : (r.issues ?? []).map((i) => `${i.path}: ${i.message}`);
    };
    const base = (body: string) => `apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: tp-bad}\nspec:\n  tracepoints:\n${body}`;
    expect((await bad(base(`  - {subsystem: syscalls, event: sys_enter_openat, args: [{index: 6, type: string}], selectors: [{matchActions: [{action: Override, argError: -1}]}]}\n`))).join('\n'))
      .toMatch(/spec\.tracepoints\[0\]\.selectors\[0\]\.matchActions\[0\]\.action: Override/);
    expect(await bad(base(`  - {subsystem: syscalls, event: sys_enter_openat, args: [{index: 40, type: int}]}\n`)))
      .toContainEqual(expect.stringMatching(/^spec\.tracepoints\[0\]\.args\[0\]\.index: syscalls\/sys_enter_openat has 9 fields/));
    expect(await bad(base(`  - {subsystem: syscalls, event: sys_enter_openat, args: [{index: 6, type: int}, {index: 5, type: string}]}\n`)))
      .toContainEqual(expect.stringMatching(/^spec\.tracepoints\[0\]\.args\[1\]\.type: field 5 'int dfd' is not a string/));
    // sizeArgIndex counts from 1: 7 is field 6, the buffer itself (count is 8).
    expect(await bad(base(`  - {subsystem: syscalls, event: sys_enter_write, args: [{index: 6, type: char_buf, sizeArgIndex: 7, returnCopy: true}]}\n`))).toEqual([
      'spec.tracepoints[0].args[0].returnCopy: returnCopy is not supported by the tracepoint backend: a tracepoint has no return to read the buffer at (use a kprobes entry with syscall: true and return: true)',
      'spec.tracepoints[0].args[0].sizeArgIndex: sizeArgIndex 7 names field 6, the buffer itself (sizeArgIndex counts the fields from 1, common_* included: field i is sizeArgIndex i + 1)',
    ]);
    expect(await bad(base(`  - {subsystem: syscalls, event: sys_enter_nope}\n`)))
      .toContainEqual(expect.stringMatching(/^spec\.tracepoints\[0\]\.event: tracepoint syscalls\/sys_enter_nope does not exist/));
    expect(await bad(base(`  - {subsystem: nosuchsys, event: x}\n`)))
      .toContainEqual(expect.stringMatching(/^spec\.tracepoints\[0\]\.subsystem: tracepoint subsystem 'nosuchsys' does not exist/));
  });

  it('followChildren: descendants of the listed binary match across fork and exec, unrelated processes do not', async () => {
    const r = await request(sock, { op: 'policy.add', yaml: follow, source: 'follow' });
    expect(r.ok).toBe(true);
    // rootsh → dash → python3: a grandchild of rootsh, itself not rootsh.
    expect(sh(`/bin/dash -c '${PRCTL('tp-e2e-follow')}; true'; true`, join(dir, 'rootsh')).status).toBe(0);
    expect(sh(`/bin/dash -c '${PRCTL('tp-e2e-follow')}; true'; true`, '/bin/dash').status).toBe(0);
  });

  it('monitor mode reports the kill it withheld and lets the process run', async () => {
    expect((await request(sock, { op: 'policy.mode', name: 'tp-openat', mode: 'monitor' })).ok).toBe(true);
    const r = sh(`/bin/sh -c 'echo x > ${dir}/kill/m && echo after > ${dir}/marker2'; echo rc=$?`);
    expect(r.stdout.trim()).toBe('rc=0');
    expect(existsSync(join(dir, 'marker2'))).toBe(true);
  });

  it('runtime delete leaves no program or link behind', async () => {
    // Reports wait up to 1 s for their process's exec record; deleting the policy first would drop them.
    await new Promise((r) => setTimeout(r, 1200));
    for (const name of ['tp-openat', 'tp-rename', 'tp-follow', 'tp-write']) expect((await request(sock, { op: 'policy.delete', name })).ok).toBe(true);
    // A link holds its program: no sel_tp* program left means no link left either.
    expect(tpNames()).not.toContain('sel_tp');
  });

  it('events: exactly the expected ones, typed and labelled, with process and parent', async () => {
    await new Promise((r) => setTimeout(r, 300));
    events = await agent.stop();
    const open = tps(events, 'tp-openat');
    const files = open.map((e) => e.args.find((a) => a.label === 'filename'));
    const killed = open.filter((e) => e.action === 'KPROBE_ACTION_SIGKILL' && !e.policy_mode);
    expect(killed.map((e) => e.args[0])).toEqual([{ string_arg: `${dir}/kill/f`, label: 'filename' }]);
    expect(killed[0]).toMatchObject({ subsys: 'syscalls', event: 'sys_enter_openat', message: 'openat via tracepoint', tags: ['tp'] });
    expect(killed[0]?.process.binary).toMatch(/dash|sh$/);
    expect(killed[0]?.parent?.binary).toMatch(/dash|sh$/);
    const posted = open.filter((e) => e.action === 'KPROBE_ACTION_POST');
    // Writes open with O_CREAT|O_WRONLY|O_TRUNC (flags > 0); the read-only open of cat has flags 0.
    expect(posted.map((e) => e.args)).toEqual([[{ string_arg: `${dir}/post/a`, label: 'filename' }, { int_arg: 577, label: 'flags' }]]);
    expect(files).not.toContainEqual(expect.objectContaining({ string_arg: `${dir}/nopost/b` }));
    expect(files).not.toContainEqual(expect.objectContaining({ string_arg: `${dir}/other/c` }));
    const monitored = open.filter((e) => e.policy_mode === 'monitor');
    expect(monitored.map((e) => [e.action, e.args[0]])).toEqual([['KPROBE_ACTION_SIGKILL', { string_arg: `${dir}/kill/m`, label: 'filename' }]]);

    const ren = tps(events, 'tp-rename');
    expect(ren).toHaveLength(1);
    expect(ren[0]?.parent?.binary).toBe('/usr/bin/bash');
    expect(ren[0]?.args[1]).toEqual({ string_arg: 'tp-e2e-name', label: 'newcomm' });
    expect(ren[0]?.args[0]).toMatchObject({ label: 'pid', int_arg: ren[0]?.process.pid });

    // The bytes of each write up to count (the NUL and 0xff included), base64 as Tetragon's bytes_arg; past 255
    // bytes, truncated_bytes_arg with count as orig_size; the write not starting with the marker absent.
    const writes = tps(events, 'tp-write');
    const long = `${MARK}:${'a'.repeat(300)}`;
    expect(writes.map((e) => e.args)).toEqual([
      [{ int_arg: 57, label: 'fd' }, { bytes_arg: Buffer.from(`${MARK}:hello\0after\xff`, 'latin1').toString('base64'), label: 'buf' }],
      [{ int_arg: 57, label: 'fd' }, { truncated_bytes_arg: { bytes_arg: Buffer.from(long.slice(0, 255)).toString('base64'), orig_size: String(long.length) }, label: 'buf' }],
    ]);
    expect(writes[0]).toMatchObject({ subsys: 'syscalls', event: 'sys_enter_write', action: 'KPROBE_ACTION_POST' });
    expect(writes[0]?.process.binary).toMatch(/python3/);

    const fol = tps(events, 'tp-follow');
    expect(fol).toHaveLength(1);
    expect(fol[0]?.process.binary).toMatch(/python3/);
  });
});

