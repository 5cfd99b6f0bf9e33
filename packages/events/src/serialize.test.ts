import { describe, expect, it } from 'vitest';
import type { PeregrineEvent, Process } from './index.js';
import { eventJson } from './serialize.js';

const p = (pid: number, extra: Partial<Process> = {}): Process =>
  Object.freeze({ exec_id: `id${pid}`, pid, uid: 0, cwd: '/', binary: '/bin/x', arguments: 'a "b c"', flags: 'execve', start_time: 't', auid: 1, tid: pid, ...extra });

describe('eventJson', () => {
  const parent = p(1);
  const cases: PeregrineEvent[] = [
    { process_exec: { process: p(2, { parent_exec_id: 'id1' }), parent }, node_name: 'n"1', time: 't1' },
    { process_exec: { process: p(3), parent, ancestors: [p(0)] }, node_name: 'n', time: 't' },
    { process_exec: { process: p(4) }, node_name: 'n', time: 't' },
    { process_exit: { process: p(2), parent, status: 3, time: 't2' }, node_name: 'n', time: 't2' },
    { process_exit: { process: p(2), status: 0, signal: 'SIGKILL', time: 't2' }, node_name: 'n', time: 't2' },
    { process_lsm: { process: p(5), function_name: 'file_open', args: [{ file_arg: { path: '/x' } }], action: 'KPROBE_ACTION_OVERRIDE', policy_name: 'p' }, node_name: 'n', time: 't' },
    { process_exec: { process: { ...p(6), cwd: 'ünï\n"' } }, node_name: 'n', time: 't' },
  ];
  it.each(cases.map((c, i) => [i, c] as const))('case %i parses to the same value as JSON.stringify', (_, ev) => {
    expect(JSON.parse(eventJson(ev))).toEqual(JSON.parse(JSON.stringify(ev)));
    expect(eventJson(ev)).not.toContain('\n');
  });
  it('throws on what JSON cannot represent', () => {
    const cyclic = { ...cases[0]! } as unknown as Record<string, unknown>;
    cyclic['self'] = cyclic;
    expect(() => eventJson(cyclic as unknown as PeregrineEvent)).toThrow();
  });
});
