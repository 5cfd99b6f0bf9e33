import { describe, expect, it } from 'vitest';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { PeregrineEvent, Process } from '@peregrine/events';
import { eventId } from '../event-id.js';
import { JsonLinesEncoder } from '../file/encoder.js';
import { execEvent, exitEvent, smallEvent } from '../testdata/events.js';
import { eventAttributes, eventName, isoToHrTime, toLogRecord, type HrTime } from './mapping.js';

/** Tetragon's pod enrichment, from its docs (the xwing example). */
const POD = {
  namespace: 'default',
  name: 'xwing',
  uid: '7c6a1b2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b',
  container: {
    id: 'containerd://551e161c47d8ff0eb665438a7bcd5b4e3ef5a297282b40a92b7c77d6bd168eb3',
    name: 'spaceship',
    image: { id: 'docker.io/tgraf/netperf@sha256:8e86f744bfea165fd4ce68caa05abc96500f40130b857773186401926af7e9e6', name: 'docker.io/tgraf/netperf:latest' },
    start_time: '2023-10-06T21:52:41Z',
    pid: 49,
  },
  pod_labels: { 'app.kubernetes.io/name': 'xwing', class: 'xwing' },
  workload: 'xwing',
  workload_kind: 'Deployment',
};

describe('otlp_http mapping', () => {
  it('maps an exec event field by field', () => {
    const ev = execEvent(4242, { arguments: '-sS "https://a.example/x y" --data \'\'', cwd: '/srv/app', uid: 1001 });
    const p = ev.process_exec.process;
    const a = eventAttributes(ev);
    expect(a['event.name']).toBe('peregrine.process.exec');
    expect(a['process.pid']).toBe(4242);
    expect(a['process.parent_pid']).toBe(1);
    expect(a['process.executable.path']).toBe('/usr/bin/curl');
    expect(a['process.executable.name']).toBe('curl');
    expect(a['process.command_args']).toEqual(['/usr/bin/curl', '-sS', 'https://a.example/x y', '--data', "''"]);
    expect(a['process.args_count']).toBe(5);
    expect(a['process.command_line']).toBe('/usr/bin/curl -sS "https://a.example/x y" --data \'\'');
    expect(a['process.working_directory']).toBe('/srv/app');
    expect(a['process.user.id']).toBe(1001);
    expect(a['process.real_user.id']).toBe(1000);
    expect(a['process.saved_user.id']).toBe(1000);
    expect(a['process.creation.time']).toBe('2026-11-27T11:30:00.123456789Z');
    expect(a['thread.id']).toBe(4242);
    expect(a['host.name']).toBe('worker-1.example.internal');
    expect(a['peregrine.exec_id']).toBe(p.exec_id);
    expect(a['peregrine.parent_exec_id']).toBe(p.parent_exec_id);
    expect(a['peregrine.event_id']).toBe(eventId(ev));
    expect(a['peregrine.event_id']).toMatch(/^[0-9a-f]{32}$/);
    // nothing an exit, a container or a pod would add
    for (const k of Object.keys(a)) expect(k).not.toMatch(/^(process\.exit|container\.|k8s\.)/);
    expect(Object.values(a).every((v) => v !== undefined)).toBe(true);
    expect(eventName(ev)).toBe('peregrine.process.exec');
  });

  it('maps an exit event: exit code, exit time, signal', () => {
    const ev = exitEvent(77, { status: 137, signal: 'SIGKILL' });
    const a = eventAttributes(ev);
    expect(a['event.name']).toBe('peregrine.process.exit');
    expect(a['process.exit.code']).toBe(137);
    expect(a['process.exit.time']).toBe(ev.process_exit.time);
    expect(a['peregrine.exit.signal']).toBe('SIGKILL');
    expect(a['process.parent_pid']).toBeUndefined(); // the exit carries no parent
    expect(eventAttributes(exitEvent(78, { status: 0 }))).not.toHaveProperty('peregrine.exit.signal');
  });

  it('leaves out what the event does not have (no arguments, no credentials, no parent_exec_id)', () => {
    const ev = smallEvent(5);
    const a = eventAttributes(ev);
    expect(a['process.command_args']).toEqual(['/bin/true']);
    expect(a['process.command_line']).toBe('/bin/true');
    expect(a['process.args_count']).toBe(1);
    expect(a).not.toHaveProperty('process.real_user.id');
    expect(a).not.toHaveProperty('peregrine.parent_exec_id');
    expect(a['process.exit.code']).toBe(0);
  });

  it('adds container.* and k8s.* from Tetragon pod enrichment', () => {
    const ev = execEvent(9, { pod: POD, docker: '551e161c47d8ff0eb665438a7bcd5b4' } as Partial<Process>);
    const a = eventAttributes(ev);
    expect(a).toMatchObject({
      'container.id': '551e161c47d8ff0eb665438a7bcd5b4e3ef5a297282b40a92b7c77d6bd168eb3',
      'container.runtime.name': 'containerd',
      'container.name': 'spaceship',
      'container.image.name': 'docker.io/tgraf/netperf:latest',
      'container.image.id': POD.container.image.id,
      'k8s.container.name': 'spaceship',
      'k8s.namespace.name': 'default',
      'k8s.pod.name': 'xwing',
      'k8s.pod.uid': POD.uid,
      'k8s.pod.label.app.kubernetes.io/name': 'xwing',
      'k8s.pod.label.class': 'xwing',
      'k8s.deployment.name': 'xwing',
    });
    // a bare docker id (no pod yet) is still the container id
    expect(eventAttributes(execEvent(9, { docker: '551e161c47d8ff0eb665438a7bcd5b4' } as Partial<Process>))['container.id']).toBe(
      '551e161c47d8ff0eb665438a7bcd5b4',
    );
  });

  it('maps policy events: event name, security_rule.name, action', () => {
    const base = execEvent(12);
    const kprobe: PeregrineEvent = {
      process_kprobe: {
        process: base.process_exec.process,
        parent: base.process_exec.parent,
        function_name: 'security_file_permission',
        args: [{ file_arg: { path: '/etc/shadow', permission: '-rw-r-----' } }, { int_arg: 4 }],
        action: 'KPROBE_ACTION_SIGKILL',
        policy_name: 'file-monitoring-filtered',
        policy_mode: 'monitor',
        tags: ['credentials'],
      },
      node_name: base.node_name,
      time: base.time,
    };
    const a = eventAttributes(kprobe);
    expect(eventName(kprobe)).toBe('peregrine.process.kprobe');
    expect(a).toMatchObject({
      'event.name': 'peregrine.process.kprobe',
      'process.pid': 12,
      'process.parent_pid': 1,
      'security_rule.name': 'file-monitoring-filtered',
      'peregrine.policy.action': 'KPROBE_ACTION_SIGKILL',
      'peregrine.policy.mode': 'monitor',
      'peregrine.function_name': 'security_file_permission',
      'peregrine.policy.tags': ['credentials'],
    });
    const tp: PeregrineEvent = {
      process_tracepoint: { process: base.process_exec.process, subsys: 'syscalls', event: 'sys_enter_ptrace', args: [], action: 'KPROBE_ACTION_POST', policy_name: 'ptrace' },
      node_name: base.node_name,
      time: base.time,
    };
    expect(eventAttributes(tp)).toMatchObject({ 'event.name': 'peregrine.process.tracepoint', 'peregrine.tracepoint': 'syscalls/sys_enter_ptrace' });
    expect(eventAttributes(tp)).not.toHaveProperty('peregrine.policy.mode');
    expect(eventAttributes(base)).not.toHaveProperty('security_rule.name');
  });

  it('parses RFC 3339 times at full nanosecond precision', () => {
    expect(isoToHrTime('2023-10-06T22:03:57.700326678Z')).toEqual([1696629837, 700326678]);
    expect(isoToHrTime('2023-10-06T22:03:57Z')).toEqual([1696629837, 0]);
    expect(isoToHrTime('2023-10-06T22:03:57.7Z')).toEqual([1696629837, 700000000]);
    expect(isoToHrTime('2023-10-07T00:03:57.000000001+02:00')).toEqual([1696629837, 1]);
    expect(isoToHrTime('yesterday')).toBeUndefined();
  });

  it('makes the body the file sink\'s line (eventJson), byte for byte', () => {
    const ev = exitEvent(9, { status: 1, signal: 'SIGTERM' });
    const { body } = toLogRecord(ev, { resource: resourceFromAttributes({}), scope: { name: 's', version: '1' }, observed: [0, 0] });
    expect(`${body}\n`).toBe(new JsonLinesEncoder().encode([ev]).toString('utf8'));
  });

  it('builds the log record: event name, JSON body, times, severity, resource and scope', () => {
    const resource = resourceFromAttributes({ 'service.name': 'peregrine' });
    const scope = { name: 'peregrine', version: '0.1.0' };
    const observed: HrTime = [1800000000, 5];
    const ev: PeregrineEvent = { ...execEvent(3), time: '2026-11-27T11:30:00.987654321Z' };
    const { record, body } = toLogRecord(ev, { resource, scope, observed });
    expect(record.eventName).toBe('peregrine.process.exec');
    expect(body).toBe(JSON.stringify(ev));
    expect(record.body).toBe(body);
    expect(JSON.parse(record.body as string)).toEqual(JSON.parse(JSON.stringify(ev)));
    expect(record.hrTime).toEqual([isoToHrTime('2026-11-27T11:30:00Z')?.[0], 987654321]);
    expect(record.hrTimeObserved).toBe(observed);
    expect(record.severityNumber).toBe(9);
    expect(record.severityText).toBe('INFO');
    expect(record.resource).toBe(resource);
    expect(record.instrumentationScope).toBe(scope);
    expect(record.attributes).toEqual(eventAttributes(ev));
    expect(record.droppedAttributesCount).toBe(0);
    // an unparsable time falls back to the observed one rather than failing the batch
    expect(toLogRecord({ ...ev, time: 'bogus' }, { resource, scope, observed }).record.hrTime).toBe(observed);
  });
});
