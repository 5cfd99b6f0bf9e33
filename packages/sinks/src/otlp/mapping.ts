// Canonical event → OTLP log record (OpenTelemetry logs data model, semantic conventions 1.3x).
//
// - EventName `peregrine.process.exec` / `.exit` (policy events: `.kprobe`, `.tracepoint`, `.lsm`), also as
//   the `event.name` attribute.
// - Body: the canonical event as a JSON string, byte for byte what the file sink writes. A map body would
//   turn every integer into an OTLP/JSON int64 string ({"intValue":"52699"}) and triple the size; the string
//   round-trips exactly (JSON.parse(body) deep-equals the event) and every field worth filtering on is
//   also an attribute below.
// - Timestamp: the event's `time` at nanosecond precision; ObservedTimestamp: when the sink got it;
//   severity INFO.
// - Attributes: process.*, thread.id, host.name, container.* and k8s.* (when the event carries Tetragon's
//   `pod`/`docker` enrichment) under their semconv names, plus peregrine.* for our own ids
//   (peregrine.event_id: the same deterministic id as Kafka's ce_id and Elasticsearch's _id).

import { basename } from 'node:path';
import { SeverityNumber } from '@opentelemetry/api-logs';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { eventBody, eventJson, eventType, splitArguments, type PeregrineEvent, type Process } from '@peregrine/events';
import { eventId } from '../event-id.js';

export type HrTime = [seconds: number, nanos: number];
export type AttributeValue = string | number | boolean | string[];
export type Attributes = Record<string, AttributeValue>;

/** EventName per event type: `peregrine.` + the Tetragon type with its `_` made a `.`. */
export const EVENT_NAMES = {
  process_exec: 'peregrine.process.exec',
  process_exit: 'peregrine.process.exit',
  process_kprobe: 'peregrine.process.kprobe',
  process_tracepoint: 'peregrine.process.tracepoint',
  process_lsm: 'peregrine.process.lsm',
} as const satisfies Record<ReturnType<typeof eventType>, string>;

/** Tetragon's pod enrichment (`process.pod`), present once the enricher knows the workload. */
interface TetragonPod {
  namespace?: string;
  name?: string;
  uid?: string;
  container?: { id?: string; name?: string; image?: { id?: string; name?: string } };
  pod_labels?: Record<string, string>;
  workload?: string;
  workload_kind?: string;
}
type EnrichedProcess = Process & { pod?: TetragonPod; docker?: string };

/** EventName of an event. */
export function eventName(ev: PeregrineEvent): string {
  return EVENT_NAMES[eventType(ev)];
}

/** The record's attributes: semconv names where one exists, peregrine.* otherwise. No undefined values. */
export function eventAttributes(ev: PeregrineEvent): Attributes {
  const { process: p, parent } = eventBody(ev) as { process: EnrichedProcess; parent?: Process };
  const args = p.arguments === '' ? [] : splitArguments(p.arguments);
  const a: Attributes = {
    'event.name': eventName(ev),
    'process.pid': p.pid,
    'process.executable.path': p.binary,
    'process.executable.name': basename(p.binary),
    'process.command_args': [p.binary, ...args],
    'process.args_count': args.length + 1,
    'process.command_line': p.arguments === '' ? p.binary : `${p.binary} ${p.arguments}`,
    'process.working_directory': p.cwd,
    'process.user.id': p.uid,
    'process.creation.time': p.start_time,
    'thread.id': p.tid,
    'host.name': ev.node_name,
    'peregrine.event_id': eventId(ev),
    'peregrine.exec_id': p.exec_id,
  };
  if (parent !== undefined) a['process.parent_pid'] = parent.pid;
  if (p.parent_exec_id !== undefined) a['peregrine.parent_exec_id'] = p.parent_exec_id;
  if (p.process_credentials !== undefined) {
    a['process.real_user.id'] = p.process_credentials.uid;
    a['process.saved_user.id'] = p.process_credentials.suid;
  }
  if ('process_exit' in ev) {
    a['process.exit.code'] = ev.process_exit.status;
    a['process.exit.time'] = ev.process_exit.time;
    if (ev.process_exit.signal !== undefined) a['peregrine.exit.signal'] = ev.process_exit.signal;
  }
  addPolicy(a, ev);
  addWorkload(a, p);
  return a;
}

/** What a policy event (kprobe, tracepoint, LSM hook) adds: the policy as security_rule.name, its action. */
function addPolicy(a: Attributes, ev: PeregrineEvent): void {
  const body = 'process_kprobe' in ev ? ev.process_kprobe : 'process_lsm' in ev ? ev.process_lsm : 'process_tracepoint' in ev ? ev.process_tracepoint : undefined;
  if (body === undefined) return;
  a['security_rule.name'] = body.policy_name;
  a['peregrine.policy.action'] = body.action;
  if (body.policy_mode !== undefined) a['peregrine.policy.mode'] = body.policy_mode;
  if ('function_name' in body) a['peregrine.function_name'] = body.function_name;
  if ('subsys' in body) a['peregrine.tracepoint'] = `${body.subsys}/${body.event}`;
  if (body.message !== undefined) a['peregrine.policy.message'] = body.message;
  if (body.tags !== undefined && body.tags.length > 0) a['peregrine.policy.tags'] = body.tags;
}

/** container.* and k8s.* from Tetragon's `pod` (and the truncated `docker` id when there is no pod). */
function addWorkload(a: Attributes, p: EnrichedProcess): void {
  const pod = p.pod;
  const rawId = pod?.container?.id ?? p.docker;
  if (rawId !== undefined && rawId !== '') {
    const m = /^([a-z0-9.-]+):\/\/(.+)$/.exec(rawId); // containerd://551e…, cri-o://…, docker://…
    a['container.id'] = m?.[2] ?? rawId;
    if (m?.[1] !== undefined) a['container.runtime.name'] = m[1];
  }
  if (pod === undefined) return;
  const c = pod.container;
  if (c?.name !== undefined) {
    a['container.name'] = c.name;
    a['k8s.container.name'] = c.name;
  }
  if (c?.image?.name !== undefined) a['container.image.name'] = c.image.name;
  if (c?.image?.id !== undefined) a['container.image.id'] = c.image.id;
  if (pod.namespace !== undefined) a['k8s.namespace.name'] = pod.namespace;
  if (pod.name !== undefined) a['k8s.pod.name'] = pod.name;
  if (pod.uid !== undefined) a['k8s.pod.uid'] = pod.uid;
  for (const [k, v] of Object.entries(pod.pod_labels ?? {})) a[`k8s.pod.label.${k}`] = v;
  const kind = pod.workload_kind?.toLowerCase();
  if (pod.workload !== undefined && kind !== undefined && WORKLOAD_KINDS.has(kind)) a[`k8s.${kind}.name`] = pod.workload;
}

const WORKLOAD_KINDS = new Set(['deployment', 'replicaset', 'daemonset', 'statefulset', 'job', 'cronjob']);

const ISO = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** An RFC 3339 time ("2023-10-06T22:03:57.700326678Z") at full nanosecond precision; undefined if unparsable. */
export function isoToHrTime(iso: string): HrTime | undefined {
  const m = ISO.exec(iso);
  if (m === null) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return [ms / 1000, Number((m[2] ?? '').padEnd(9, '0'))];
}

/** The current time as HrTime, microsecond precision (what Date and performance give us). */
export function nowHrTime(): HrTime {
  const us = Math.round((performance.timeOrigin + performance.now()) * 1000);
  return [Math.floor(us / 1e6), (us % 1e6) * 1000];
}

export interface RecordContext {
  resource: Resource;
  scope: { name: string; version: string };
  observed: HrTime;
}

/** One event as a log record for the OTLP exporter; `body` is returned too, for byte accounting. */
export function toLogRecord(ev: PeregrineEvent, ctx: RecordContext): { record: ReadableLogRecord; body: string } {
  const body = eventJson(ev);
  const record: ReadableLogRecord = {
    hrTime: isoToHrTime(ev.time) ?? ctx.observed,
    hrTimeObserved: ctx.observed,
    severityNumber: SeverityNumber.INFO,
    severityText: 'INFO',
    body,
    eventName: eventName(ev),
    resource: ctx.resource,
    instrumentationScope: ctx.scope,
    attributes: eventAttributes(ev),
    droppedAttributesCount: 0,
  };
  return { record, body };
}
