// Event fixtures for the sink tests: realistic exec events (~0.95 KB of JSON) and small exit events.

import type { ProcessExecEvent, ProcessExitEvent, Process } from '@peregrine/events';

const NODE = 'worker-1.example.internal';
const TIME = '2026-11-27T11:30:00.123456789Z';

function execId(pid: number): string {
  return Buffer.from(`${NODE}:${1_700_000_000_000_000_000n + BigInt(pid)}:${pid}`).toString('base64');
}

export function process(pid: number, over: Partial<Process> = {}): Process {
  return {
    exec_id: execId(pid),
    pid,
    uid: 1000,
    cwd: '/home/dev/src/peregrine',
    binary: '/usr/bin/curl',
    arguments: `-sS --retry 3 https://api.example.com/v1/items?page=${pid}`,
    flags: 'execve clone',
    start_time: TIME,
    auid: 1000,
    parent_exec_id: execId(1),
    tid: pid,
    process_credentials: { uid: 1000, gid: 1000, euid: 1000, egid: 1000, suid: 1000, sgid: 1000, fsuid: 1000, fsgid: 1000 },
    ...over,
  };
}

/** An exec event whose `process.pid` is `seq`: tests identify lines by it. */
export function execEvent(seq: number, over: Partial<Process> = {}): ProcessExecEvent {
  return {
    process_exec: {
      process: process(seq, over),
      parent: process(1, { binary: '/bin/bash', arguments: '-l', cwd: '/home/dev', parent_exec_id: execId(0), process_credentials: undefined }),
    },
    node_name: NODE,
    time: TIME,
  };
}

/** A small event (~250 bytes): for tests that write many lines. */
export function smallEvent(seq: number): ProcessExitEvent {
  return {
    process_exit: {
      process: { exec_id: execId(seq), pid: seq, uid: 0, cwd: '/', binary: '/bin/true', arguments: '', flags: 'execve', start_time: TIME, auid: 0, tid: seq },
      status: 0,
      time: TIME,
    },
    node_name: NODE,
    time: TIME,
  };
}

export function exitEvent(seq: number, exit: { status?: number; signal?: string } = {}, over: Partial<Process> = {}): ProcessExitEvent {
  return {
    process_exit: { process: process(seq, over), status: exit.status ?? 0, ...(exit.signal ? { signal: exit.signal } : {}), time: TIME },
    node_name: NODE,
    time: TIME,
  };
}

/** The sequence number a line was written for (see execEvent/smallEvent). */
export function seqOf(line: string): number {
  const ev = JSON.parse(line) as ProcessExecEvent | ProcessExitEvent;
  return 'process_exec' in ev ? ev.process_exec.process.pid : ev.process_exit.process.pid;
}
