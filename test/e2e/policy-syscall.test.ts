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

// returnCopy: read(2)'s buffer as the syscall filled it, read at sys_exit. Only reads of fds 77 and 78
// by python3 (the reader dup2's its file there) are reported.
const READ_COPY = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: read-copy}
spec:
  kprobes:
  - call: sys_read
    syscall: true
    return: true
    args: [{index: 0, type: int, label: fd}, {index: 1, type: char_buf, sizeArgIndex: 3, returnCopy: true, label: buf}, {index: 2, type: size_t, label: count}]
    returnArg: {index: 0, type: int, label: ret}
    selectors:
    - matchArgs: [{index: 0, operator: Equal, values: ["77", "78"]}]
      matchBinaries: [{operator: In, values: [/usr/bin/python3]}]
`;
/** Not text: a NUL and bytes that are not UTF-8 come back exactly (bytes_arg is base64 of the raw bytes). */
const CONTENT = Buffer.concat([Buffer.from('returnCopy e2e: '), Buffer.from([0, 0xff, 0xfe, 0x80]), Buffer.from(' the bytes read() put in the buffer\n')]);
const LONG = Buffer.from('L'.repeat(200) + 'M'.repeat(200));
const b64 = (b: Buffer): string => b.toString('base64');
/**
 * read(77, 100): the whole file; lseek + read(77, 5): 5 bytes; read at EOF: 0; read(78) on a closed fd:
 * EBADF; read(77, 1000) of a 400-byte file: 400, of which 255 bytes are reported.
 */
const READER = `import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.dup2(fd, 77)
os.read(77, 100)
os.lseek(77, 0, 0)
os.read(77, 5)
os.lseek(77, 0, 2)
os.read(77, 10)
try:
    os.read(78, 10)
except OSError:
    pass
os.dup2(os.open(sys.argv[2], os.O_RDONLY), 77)
os.read(77, 1000)
`;

describe.skipIf(!canRunBpf())('syscall kprobes (syscall tracepoint backend)', () => {
  let agent: RunningAgent;
  let events: PeregrineEvent[] = [];

  beforeAll(async () => {
    mkdirSync(etc);
    // The example policy, scoped to this test's directory instead of /etc.
    const example = (await import('node:fs')).readFileSync(resolve(ROOT, 'examples/policies/kill-etc-writer.yaml'), 'utf8');
    writeFileSync(join(dir, 'read-copy.yaml'), READ_COPY);
    writeFileSync(join(dir, 'reader.py'), READER);
    writeFileSync(join(dir, 'content'), CONTENT);
    writeFileSync(join(dir, 'long'), LONG);
    writeFileSync(join(dir, 'kill.yaml'), example.replace('"/etc/"', `"${etc}/"`).replace('name: kill-etc-writer', 'name: kill-test-etc-writer'));
    agent = await startAgent([
      '--tracing-policy', join(dir, 'kill.yaml'),
      '--tracing-policy', resolve(ROOT, 'examples/policies/watch-privileges.yaml'),
      '--tracing-policy', join(dir, 'read-copy.yaml'),
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

  it('returnCopy: reads of a known file', () => {
    const r = spawnSync('/usr/bin/python3', [join(dir, 'reader.py'), join(dir, 'content'), join(dir, 'long')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it('refuses matchArgs on a returnCopy argument and returnCopy without return: true, naming the path', async () => {
    const yaml = READ_COPY.replace('name: read-copy', 'name: read-copy-bad').replace('values: ["77", "78"]}]', 'values: ["77"]}, {index: 1, operator: Prefix, values: [x]}]');
    const r = await request(sock, { op: 'policy.add', yaml, source: 'test' });
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : (r.issues ?? []).map((i) => `${i.path}: ${i.message}`)).toEqual([
      'spec.kprobes[0].selectors[0].matchArgs[1].index: argument 1 has returnCopy: it is read at sys_exit, after the selectors ran at sys_enter, so matchArgs cannot filter on it (Tetragon does not either)',
    ]);
    const noReturn = await request(sock, { op: 'policy.add', yaml: READ_COPY.replace('name: read-copy', 'name: read-copy-bad').replace('    return: true\n', '').replace(/    returnArg:.*\n/, ''), source: 'test' });
    expect(noReturn.ok ? [] : (noReturn.issues ?? []).map((i) => `${i.path}: ${i.message}`)).toEqual([
      'spec.kprobes[0].args[1].returnCopy: returnCopy needs return: true (the buffer is read at sys_exit, after the syscall filled it)',
    ]);
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
    // The buffer as read() left it, as Tetragon reports a char_buf: bytes_arg (base64) of min(return value,
    // count) bytes, empty when read() failed; past 255 bytes, truncated_bytes_arg with the return value as orig_size.
    const reads = kprobes(events, 'read-copy');
    expect(reads.map((k) => [k.args, k.return])).toEqual([
      [[{ int_arg: 77, label: 'fd' }, { bytes_arg: b64(CONTENT), label: 'buf' }, { int_arg: 100, label: 'count' }], { int_arg: CONTENT.length, label: 'ret' }],
      [[{ int_arg: 77, label: 'fd' }, { bytes_arg: b64(CONTENT.subarray(0, 5)), label: 'buf' }, { int_arg: 5, label: 'count' }], { int_arg: 5, label: 'ret' }],
      [[{ int_arg: 77, label: 'fd' }, { bytes_arg: '', label: 'buf' }, { int_arg: 10, label: 'count' }], { int_arg: 0, label: 'ret' }],
      [[{ int_arg: 78, label: 'fd' }, { bytes_arg: '', label: 'buf' }, { int_arg: 10, label: 'count' }], { int_arg: -9, label: 'ret' }],
      [
        [{ int_arg: 77, label: 'fd' }, { truncated_bytes_arg: { bytes_arg: b64(LONG.subarray(0, 255)), orig_size: '400' }, label: 'buf' }, { int_arg: 1000, label: 'count' }],
        { int_arg: 400, label: 'ret' },
      ],
    ]);
    expect(reads[0]).toMatchObject({ function_name: 'sys_read', action: 'KPROBE_ACTION_POST' });
    const setuid = kprobes(events, 'watch-privileges').filter((k) => k.function_name === 'sys_setuid' && k.process.binary.includes('python3'));
    expect(setuid.length).toBeGreaterThanOrEqual(1);
    expect(setuid[0]?.args).toContainEqual({ int_arg: 0, label: 'uid' });
    expect(setuid[0]?.action).toBe('KPROBE_ACTION_POST');
  });
});
