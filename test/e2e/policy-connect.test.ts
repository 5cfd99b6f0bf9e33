// socket_connect policies end to end through the agent: deny before the connection exists, monitor
// mode, runtime mode switch / delete through the control socket, nothing left behind, bad policies
// refused while the agent keeps running. The backend is the one the planner must pick on this kernel
// (BPF LSM where it works, else cgroup/connect4+6 programs); what is asserted holds on both.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeregrineEvent } from '@peregrine/events';
import { MAIN, canRunBpf, startAgent, type RunningAgent } from '../helpers/agent.js';
import { cgroup2Mount, cgroupProgramNames, expectedLsmBackend, scaled } from '../helpers/kernel.js';
import { request } from '../../packages/agent/src/control/client.js';

const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'peregrine-policy-'));

function connectErrno(port: number): number {
  const r = spawnSync(PYTHON, ['-c', `import socket,sys\ns=socket.socket()\nsys.exit(s.connect_ex(('127.0.0.1', ${port})))`]);
  return r.status ?? -1;
}

function cli(_agent: RunningAgent, ...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, 'policy', ...args, '--socket', join(dir, 'ctl.sock')], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const lsmEvents = (evs: PeregrineEvent[], policy: string) =>
  evs.flatMap((e) => ('process_lsm' in e && e.process_lsm.policy_name === policy ? [e.process_lsm] : []));

describe.skipIf(!canRunBpf())('socket_connect policies (BPF LSM or cgroup connect backend)', () => {
  let server: Server;
  let port = 0;
  let accepted = 0;
  let agent: RunningAgent;
  let policyFile = '';

  beforeAll(async () => {
    server = createServer((s) => {
      accepted++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
    // Scoped to this test's server: address and port both have to match.
    const yaml = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: deny-test-port
spec:
  lsmhooks:
  - hook: socket_connect
    args: [{index: 1, type: sockaddr, label: address}]
    selectors:
    - matchArgs:
      - {index: 1, operator: DAddr, values: ["127.0.0.1/32"]}
      - {index: 1, operator: DPort, values: ["${port}"]}
      matchActions: [{action: Override, argError: -1}]
`;
    policyFile = join(dir, 'deny.yaml');
    writeFileSync(policyFile, yaml);
    agent = await startAgent(['--tracing-policy', policyFile, '--server-socket', join(dir, 'ctl.sock')]);
  });

  afterAll(async () => {
    if (agent && agent.proc.exitCode === null) agent.proc.kill('SIGKILL');
    await new Promise((r) => server.close(r));
  });

  it('denies the connect with EPERM before the server sees a connection, and reports it', async () => {
    expect(connectErrno(port)).toBe(1); // EPERM
    expect(accepted).toBe(0);
    const list = cli(agent, 'list', '-o', 'json');
    expect(list.code).toBe(0);
    const [status] = JSON.parse(list.out) as { name: string; state: string; hooks: { backend: string }[]; actions: Record<string, number> }[];
    expect(status).toMatchObject({ name: 'deny-test-port', state: 'loaded' });
    expect(status?.hooks[0]?.backend).toBe(expectedLsmBackend('socket_connect'));
    await new Promise((r) => setTimeout(r, scaled(300)));
    expect(JSON.parse(cli(agent, 'list', '-o', 'json').out)[0].actions.Override).toBeGreaterThanOrEqual(1);
  });

  it('monitor mode lets the connect through and reports what would have been denied', async () => {
    expect(cli(agent, 'mode', 'deny-test-port', 'monitor').code).toBe(0);
    expect(connectErrno(port)).toBe(0);
    await new Promise((r) => setTimeout(r, scaled(200)));
    expect(accepted).toBe(1);
    expect(cli(agent, 'mode', 'deny-test-port', 'enforce').code).toBe(0);
    expect(connectErrno(port)).toBe(1);
    expect(accepted).toBe(1);
  });

  it('refuses a malformed policy with a precise error and keeps running', () => {
    const bad = join(agent.dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(policyFile, 'utf8').replace('127.0.0.1/32', '127.0.0.1/40').replace('deny-test-port', 'bad-one'));
    const r = cli(agent, 'add', bad);
    expect(r.code).toBe(1);
    expect(r.err).toContain("spec.lsmhooks[0].selectors[0].matchArgs[0].values[0]: invalid CIDR '127.0.0.1/40'");
    expect(JSON.parse(cli(agent, 'list', '-o', 'json').out).map((p: { name: string }) => p.name)).toEqual(['deny-test-port']);
  });

  it('delete stops enforcement at once and leaves no program attached', async () => {
    // Through the control socket directly (no CLI start-up in the measurement): the reply comes once
    // the change is in force.
    const t0 = Date.now();
    const r = await request(join(dir, 'ctl.sock'), { op: 'policy.delete', name: 'deny-test-port' });
    expect(r.ok).toBe(true);
    expect(connectErrno(port)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(scaled(1000));
    expect(cgroupProgramNames(cgroup2Mount()!).filter((n) => /net_connect|net_sendmsg/.test(n))).toEqual([]);
    const progs = execFileSync('bpftool', ['prog', 'show'], { encoding: 'utf8' });
    expect(progs).not.toMatch(/net_connect4|net_connect6|lsm_socket_con/);
    // Adding it back at runtime enforces again.
    expect(cli(agent, 'add', policyFile).code).toBe(0);
    expect(connectErrno(port)).toBe(1);
  });

  it('events name the policy, the action, the process and the address', async () => {
    // Every enforced connect was counted by the agent before it stops (reports cross a ring buffer).
    const deadline = Date.now() + scaled(10_000);
    let actions: Record<string, number> = {};
    while (Date.now() < deadline) {
      actions = (JSON.parse(cli(agent, 'list', '-o', 'json').out) as { actions: Record<string, number> }[])[0]?.actions ?? {};
      if ((actions.Override ?? 0) >= 1) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(actions.Override).toBeGreaterThanOrEqual(1); // the re-added policy's own deny
    const evs = await agent.stop();
    const lsm = lsmEvents(evs, 'deny-test-port');
    const denied = lsm.filter((e) => e.action === 'KPROBE_ACTION_OVERRIDE' && !e.policy_mode);
    const monitored = lsm.filter((e) => e.policy_mode === 'monitor');
    expect(denied.length).toBeGreaterThanOrEqual(3);
    expect(monitored.length).toBe(1);
    for (const e of lsm) {
      expect(e.function_name).toBe('socket_connect');
      expect(e.process.binary).toMatch(/python3/);
      expect(e.process.exec_id).not.toBe('');
      expect(e.args[0]).toEqual({ sockaddr_arg: { family: 'AF_INET', addr: '127.0.0.1', port }, label: 'address' });
    }
  });
});
