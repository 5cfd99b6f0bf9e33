import { describe, expect, it } from 'vitest';
import type { PeregrineEvent, ProcessExecEvent } from '@peregrine/events';
import { execEvent, exitEvent, process as proc } from '../testdata/events.js';
import { ECS_VERSION, toEcs } from './ecs.js';
import { ecsMappings } from './template.js';

// The process_exec example of Tetragon's docs/content/en/docs/concepts/events.md (pod, docker: fields an
// enriched event carries that our model does not type yet), plus a policy name.
const TETRAGON_EXAMPLE = {
  process_exec: {
    process: {
      exec_id: 'Z2tlLWpvaG4tNjMyLWRlZmF1bHQtcG9vbC03MDQxY2FjMC05czk1OjEzNTQ4Njc0MzIxMzczOjUyNjk5',
      pid: 52699,
      uid: 0,
      cwd: '/',
      binary: '/usr/bin/curl',
      arguments: 'https://ebpf.io/applications/#tetragon',
      flags: 'execve rootcwd',
      start_time: '2023-10-06T22:03:57.700327580Z',
      auid: 4294967295,
      pod: {
        namespace: 'default',
        name: 'xwing',
        container: {
          id: 'containerd://551e161c47d8ff0eb665438a7bcd5b4e3ef5a297282b40a92b7c77d6bd168eb3',
          name: 'spaceship',
          image: { id: 'docker.io/tgraf/netperf@sha256:8e86f7', name: 'docker.io/tgraf/netperf:latest' },
          start_time: '2023-10-06T21:52:41Z',
          pid: 49,
        },
        pod_labels: { 'app.kubernetes.io/name': 'xwing', class: 'xwing', org: 'alliance' },
        workload: 'xwing',
        workload_kind: 'Deployment',
      },
      docker: '551e161c47d8ff0eb665438a7bcd5b4',
      parent_exec_id: 'Z2tlLWpvaG4tNjMyLWRlZmF1bHQtcG9vbC03MDQxY2FjMC05czk1OjEzNTQ4NjcwODgzMjk5OjUyNjk5',
      tid: 52699,
    },
  },
  node_name: 'gke-john-632-default-pool-7041cac0-9s95',
  time: '2023-10-06T22:03:57.700326678Z',
  cluster_name: 'gke-john',
} as unknown as PeregrineEvent;

function policyEvent(type: 'process_kprobe' | 'process_lsm' | 'process_tracepoint', body: Record<string, unknown>): PeregrineEvent {
  return { [type]: { process: proc(7), ...body }, node_name: 'worker-1.example.internal', time: '2026-11-27T11:30:01.000000001Z' } as unknown as PeregrineEvent;
}

const get = (doc: Record<string, unknown>, path: string): unknown =>
  path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], doc);

describe('toEcs', () => {
  it('maps process_exec field by field', () => {
    const ev = execEvent(4242, { arguments: '-sS -H "Accept: application/json" https://x.example', process_credentials: { uid: 1000, gid: 100, euid: 0, egid: 0, suid: 0, sgid: 0, fsuid: 0, fsgid: 0 }, uid: 0 });
    const p = ev.process_exec.process;
    const parent = ev.process_exec.parent!;
    const doc = toEcs(ev, { id: 'abc' });
    expect(doc['@timestamp']).toBe(ev.time);
    expect(doc['ecs']).toEqual({ version: ECS_VERSION });
    expect(doc['event']).toEqual({ id: 'abc', kind: 'event', category: ['process'], type: ['start'], action: 'exec', outcome: 'success', module: 'peregrine' });
    expect(doc['host']).toEqual({ name: 'worker-1.example.internal' });
    expect(get(doc, 'process')).toEqual({
      entity_id: p.exec_id,
      pid: 4242,
      executable: '/usr/bin/curl',
      name: 'curl',
      args: ['/usr/bin/curl', '-sS', '-H', 'Accept: application/json', 'https://x.example'],
      args_count: 5,
      command_line: '/usr/bin/curl -sS -H "Accept: application/json" https://x.example',
      working_directory: '/home/dev/src/peregrine',
      start: p.start_time,
      thread: { id: 4242 },
      user: { id: '0' },
      group: { id: '0' },
      real_user: { id: '1000' },
      real_group: { id: '100' },
      saved_user: { id: '0' },
      saved_group: { id: '0' },
      parent: {
        entity_id: parent.exec_id,
        pid: 1,
        executable: '/bin/bash',
        name: 'bash',
        args: ['/bin/bash', '-l'],
        args_count: 2,
        command_line: '/bin/bash -l',
        working_directory: '/home/dev',
        start: parent.start_time,
        thread: { id: 1 },
        user: { id: '1000' },
      },
    });
    expect(doc['peregrine']).toEqual({ process_exec: ev.process_exec });
    for (const absent of ['container', 'orchestrator', 'rule', 'process.exit_code', 'process.end']) expect(get(doc, absent)).toBeUndefined();
  });

  it('maps process_exit: type end, action end, exit code, outcome', () => {
    const ok = toEcs(exitEvent(7, { status: 0 }));
    expect(ok['event']).toMatchObject({ type: ['end'], action: 'end', outcome: 'success', category: ['process'], kind: 'event' });
    expect(get(ok, 'process.exit_code')).toBe(0);
    expect(get(ok, 'process.end')).toBe('2026-11-27T11:30:00.123456789Z');
    expect(ok['peregrine']).toHaveProperty('process_exit.status', 0);

    const failed = toEcs(exitEvent(8, { status: 3 }));
    expect(get(failed, 'event.outcome')).toBe('failure');
    expect(get(failed, 'process.exit_code')).toBe(3);

    const killed = toEcs(exitEvent(9, { status: 0, signal: 'SIGKILL' }));
    expect(killed['event']).toMatchObject({ outcome: 'failure', reason: 'killed by SIGKILL' });
  });

  it('without a parent process, keeps process.parent.entity_id', () => {
    const doc = toEcs(exitEvent(5));
    expect(get(doc, 'process.parent')).toEqual({ entity_id: proc(5).parent_exec_id });
  });

  it('maps a process with no arguments and no credentials', () => {
    const doc = toEcs(exitEvent(1, {}, { binary: '/bin/true', arguments: '', process_credentials: undefined, uid: 0 }));
    expect(get(doc, 'process.args')).toEqual(['/bin/true']);
    expect(get(doc, 'process.args_count')).toBe(1);
    expect(get(doc, 'process.command_line')).toBe('/bin/true');
    expect(get(doc, 'process.user')).toEqual({ id: '0' });
    expect(get(doc, 'process.group')).toBeUndefined();
  });

  it('maps container and orchestrator of an enriched Tetragon event', () => {
    const doc = toEcs(TETRAGON_EXAMPLE);
    expect(doc['container']).toEqual({
      id: '551e161c47d8ff0eb665438a7bcd5b4e3ef5a297282b40a92b7c77d6bd168eb3',
      runtime: 'containerd',
      name: 'spaceship',
      image: { name: 'docker.io/tgraf/netperf', tag: ['latest'] },
    });
    expect(doc['orchestrator']).toEqual({
      type: 'kubernetes',
      namespace: 'default',
      cluster: { name: 'gke-john' },
      resource: { type: 'pod', name: 'xwing', label: ['app.kubernetes.io/name=xwing', 'class=xwing', 'org=alliance'], parent: { type: 'Deployment' } },
    });
    expect(doc['rule']).toBeUndefined();
    expect(get(doc, 'host.name')).toBe('gke-john-632-default-pool-7041cac0-9s95');
    expect(get(doc, 'process.parent.entity_id')).toBe('Z2tlLWpvaG4tNjMyLWRlZmF1bHQtcG9vbC03MDQxY2FjMC05czk1OjEzNTQ4NjcwODgzMjk5OjUyNjk5');
    expect(get(doc, 'process.args')).toEqual(['/usr/bin/curl', 'https://ebpf.io/applications/#tetragon']);
  });

  it('falls back to the truncated docker id, and keeps a registry port out of the image tag', () => {
    const base = execEvent(3);
    const withDocker = { ...base, process_exec: { process: { ...base.process_exec.process, docker: '551e161c47d8' } } } as unknown as ProcessExecEvent;
    expect(toEcs(withDocker)['container']).toEqual({ id: '551e161c47d8' });
    const pod = { namespace: 'ns', container: { id: 'cri-o://abc', image: { name: 'registry:5000/app' } } };
    const withPort = { ...base, process_exec: { process: { ...base.process_exec.process, pod } } } as unknown as ProcessExecEvent;
    expect(toEcs(withPort)['container']).toEqual({ id: 'abc', runtime: 'cri-o', image: { name: 'registry:5000/app' } });
    expect(toEcs(withPort)['orchestrator']).toEqual({ type: 'kubernetes', namespace: 'ns', resource: { type: 'pod' } });
  });

  it('maps a policy event: rule.name, hook, file path, alert when enforcing', () => {
    const kprobe = policyEvent('process_kprobe', {
      function_name: 'security_file_permission',
      // A char_buf (truncated_bytes_arg) adds no category and stays, base64, in the original event only.
      args: [{ file_arg: { path: '/etc/shadow', permission: '-rw-r-----' } }, { int_arg: 4 }, { truncated_bytes_arg: { bytes_arg: 'cm9vdDo=', orig_size: '1200' } }],
      action: 'KPROBE_ACTION_SIGKILL',
      policy_name: 'file-monitoring-filtered',
      message: 'shadow read',
      tags: ['observability.filesystem'],
    });
    const doc = toEcs(kprobe, { id: 'k' });
    expect(doc['event']).toEqual({
      id: 'k',
      kind: 'alert',
      category: ['intrusion_detection', 'file'],
      type: ['denied'],
      action: 'security_file_permission',
      outcome: 'success',
      module: 'peregrine',
    });
    expect(doc['rule']).toEqual({ name: 'file-monitoring-filtered' });
    expect(doc['message']).toBe('shadow read');
    expect(doc['tags']).toEqual(['observability.filesystem']);
    expect(doc['file']).toEqual({ path: '/etc/shadow', name: 'shadow' });
    expect(get(doc, 'process.entity_id')).toBe(proc(7).exec_id);
    expect(doc['peregrine']).toEqual({ process_kprobe: (kprobe as unknown as { process_kprobe: unknown }).process_kprobe });

    const monitor = toEcs(policyEvent('process_kprobe', { function_name: 'tcp_connect', action: 'KPROBE_ACTION_SIGKILL', policy_mode: 'monitor', policy_name: 'egress',
      args: [{ sock_arg: { family: 'AF_INET', type: 'SOCK_STREAM', protocol: 'IPPROTO_TCP', saddr: '10.32.0.28', daddr: '104.198.14.52', sport: 45200, dport: 443 } }] }));
    expect(monitor['event']).toMatchObject({ kind: 'alert', category: ['intrusion_detection', 'network'], type: ['allowed'], outcome: 'unknown', action: 'tcp_connect' });
    expect(monitor['destination']).toEqual({ ip: '104.198.14.52', port: 443 });
    expect(monitor['source']).toEqual({ ip: '10.32.0.28', port: 45200 });
    expect(monitor['network']).toEqual({ transport: 'tcp' });

    const tp = toEcs(policyEvent('process_tracepoint', { subsys: 'syscalls', event: 'sys_enter_openat', action: 'KPROBE_ACTION_POST', policy_name: 'opens', args: [] }));
    expect(tp['event']).toMatchObject({ kind: 'event', category: ['intrusion_detection'], type: ['info'], action: 'syscalls/sys_enter_openat', outcome: 'unknown' });
    expect(tp['rule']).toEqual({ name: 'opens' });

    const lsm = toEcs(policyEvent('process_lsm', { function_name: 'bprm_check_security', action: 'KPROBE_ACTION_OVERRIDE', policy_name: 'lsm',
      args: [{ linux_binprm_arg: { path: '/usr/bin/nc' } }] }));
    expect(lsm['event']).toMatchObject({ kind: 'alert', type: ['denied'], category: ['intrusion_detection', 'file'] });
    expect(lsm['file']).toEqual({ path: '/usr/bin/nc', name: 'nc' });
  });

  it('ecs_only leaves out the original event', () => {
    expect(toEcs(execEvent(1), { ecsOnly: true })).not.toHaveProperty('peregrine');
  });

  it('writes only fields the template maps explicitly', () => {
    const mapped = new Set<string>();
    const walk = (props: Record<string, { properties?: Record<string, unknown> }>, prefix: string): void => {
      for (const [k, v] of Object.entries(props)) {
        mapped.add(prefix + k);
        if (v.properties) walk(v.properties as never, `${prefix}${k}.`);
      }
    };
    walk((ecsMappings() as { properties: never }).properties, '');
    const leaves = (o: unknown, prefix: string): string[] =>
      typeof o === 'object' && o !== null && !Array.isArray(o)
        ? Object.entries(o).flatMap(([k, v]) => leaves(v, `${prefix}${k}.`))
        : [prefix.slice(0, -1)];
    const policy = policyEvent('process_kprobe', { function_name: 'tcp_connect', action: 'KPROBE_ACTION_POST', policy_name: 'p', message: 'm', tags: ['t'],
      args: [{ file_arg: { path: '/x' } }, { sock_arg: { family: 'AF_INET6', protocol: 'IPPROTO_UDP', saddr: '::1', daddr: '::1', sport: 1, dport: 2 } }] });
    for (const ev of [execEvent(1), exitEvent(2, { signal: 'SIGTERM', status: 0 }), TETRAGON_EXAMPLE, policy]) {
      const doc = toEcs(ev, { id: 'x', ecsOnly: true });
      expect(leaves(doc, '').filter((f) => !mapped.has(f))).toEqual([]);
    }
  });
});
