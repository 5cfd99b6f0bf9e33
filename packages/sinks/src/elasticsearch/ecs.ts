// Canonical (Tetragon-shaped) events → Elastic Common Schema documents. Pure: no I/O, no clock.
//
// process_exec → event.kind event, category [process], type [start], action exec
// process_exit → event.kind event, category [process], type [end],   action end, process.exit_code
// (`end`, not `exit`: ECS RFC 0030 and Kibana's Session View use fork/exec/end for Linux process events.)
// process_kprobe/lsm/tracepoint → rule.name = policy_name, category [intrusion_detection, file|network],
// action = the hook; Sigkill/Signal/Override → kind alert, type [denied] ([allowed] in monitor mode).
//
// Ids are keywords (ECS: process.user.id is a string). The original event is kept whole under `peregrine`
// (mapped `enabled: false` by the template: stored in _source, not indexed) unless ecs_only is set.

import { basename } from 'node:path';
import {
  POLICY_ACTIONS,
  eventBody,
  eventType,
  splitArguments,
  type PeregrineEvent,
  type Process,
  type ProcessKprobe,
  type ProcessLsm,
  type ProcessTracepoint,
} from '@peregrine/events';

/** The ECS version the documents and the template follow. */
export const ECS_VERSION = '8.17.0';

/** The field holding the original event. */
export const ORIGINAL_FIELD = 'peregrine';

/**
 * Tetragon fields our event model does not carry yet but an enriched event may (pod, docker, user.name,
 * cluster_name): read when present, so the mapping needs no change when the model grows.
 */
interface PodContainer {
  id?: string;
  name?: string;
  image?: { id?: string; name?: string };
  security_context?: { privileged?: boolean };
}
interface Pod {
  namespace?: string;
  name?: string;
  uid?: string;
  container?: PodContainer;
  pod_labels?: Record<string, string>;
  workload?: string;
  workload_kind?: string;
}
interface ProcessExtras {
  pod?: Pod;
  docker?: string;
  user?: { name?: string };
}
interface EventExtras {
  cluster_name?: string;
}

export type EcsDocument = Record<string, unknown>;

export interface EcsOptions {
  /** Leave out the original event. */
  ecsOnly?: boolean;
  /** event.id: the event's deterministic id. */
  id?: string;
}

export function toEcs(ev: PeregrineEvent, options: EcsOptions = {}): EcsDocument {
  const type = eventType(ev);
  const body = eventBody(ev);
  const proc = body.process as Process & ProcessExtras;
  const extras = ev as PeregrineEvent & EventExtras;
  const doc: EcsDocument = {
    '@timestamp': ev.time,
    ecs: { version: ECS_VERSION },
    event: { ...(options.id !== undefined ? { id: options.id } : {}), ...eventFields(ev) },
    host: { name: ev.node_name },
  };

  const process = processFields(proc);
  if (body.parent !== undefined) process['parent'] = processFields(body.parent);
  else if (proc.parent_exec_id !== undefined) process['parent'] = { entity_id: proc.parent_exec_id };
  if ('process_exit' in ev) {
    process['exit_code'] = ev.process_exit.status;
    process['end'] = ev.process_exit.time;
  }
  doc['process'] = process;

  const container = containerFields(proc);
  if (container !== undefined) doc['container'] = container;
  const orchestrator = orchestratorFields(proc.pod, extras.cluster_name);
  if (orchestrator !== undefined) doc['orchestrator'] = orchestrator;
  const policy = policyBody(ev);
  if (policy !== undefined) Object.assign(doc, policyFields(policy));
  if (!options.ecsOnly) doc[ORIGINAL_FIELD] = { [type]: body };
  return doc;
}

function policyBody(ev: PeregrineEvent): ProcessKprobe | ProcessLsm | ProcessTracepoint | undefined {
  if ('process_kprobe' in ev) return ev.process_kprobe;
  if ('process_lsm' in ev) return ev.process_lsm;
  if ('process_tracepoint' in ev) return ev.process_tracepoint;
  return undefined;
}

const ENFORCING: ReadonlySet<string> = new Set([POLICY_ACTIONS.Sigkill, POLICY_ACTIONS.Signal, POLICY_ACTIONS.Override]);

/**
 * event.* of an event. Policy events: category intrusion_detection (plus file/network when an argument is
 * a path or a socket), action = the hook (security_file_permission, syscalls/sys_enter_openat); an enforcing
 * action (Sigkill, Signal, Override) makes it an alert of type denied, or allowed when the policy only
 * monitors; Post is an info event.
 */
function eventFields(ev: PeregrineEvent): Record<string, unknown> {
  if ('process_exec' in ev) {
    return { kind: 'event', category: ['process'], type: ['start'], action: 'exec', outcome: 'success', module: 'peregrine' };
  }
  if ('process_exit' in ev) {
    const exit = ev.process_exit;
    const signal = exit.signal !== undefined && exit.signal !== '' ? exit.signal : undefined;
    return {
      kind: 'event',
      category: ['process'],
      type: ['end'],
      action: 'end',
      outcome: exit.status !== 0 || signal !== undefined ? 'failure' : 'success',
      module: 'peregrine',
      ...(signal !== undefined ? { reason: `killed by ${signal}` } : {}),
    };
  }
  const p = policyBody(ev) as ProcessKprobe | ProcessLsm | ProcessTracepoint;
  const hook = 'function_name' in p ? p.function_name : `${p.subsys}/${p.event}`;
  const enforcing = ENFORCING.has(p.action);
  const monitor = p.policy_mode === 'monitor';
  const categories = new Set(['intrusion_detection']);
  for (const arg of [...p.args, ...('return' in p && p.return !== undefined ? [p.return] : [])]) {
    if ('file_arg' in arg || 'path_arg' in arg || 'linux_binprm_arg' in arg) categories.add('file');
    if ('sock_arg' in arg || 'sockaddr_arg' in arg) categories.add('network');
  }
  return {
    kind: enforcing ? 'alert' : 'event',
    category: [...categories],
    type: [enforcing ? (monitor ? 'allowed' : 'denied') : 'info'],
    action: hook,
    outcome: enforcing && !monitor ? 'success' : 'unknown',
    module: 'peregrine',
  };
}

/** rule.*, message, tags, file.path, source/destination of a policy event. */
function policyFields(p: ProcessKprobe | ProcessLsm | ProcessTracepoint): Record<string, unknown> {
  const out: Record<string, unknown> = { rule: { name: p.policy_name } };
  if (p.message) out['message'] = p.message;
  if (p.tags !== undefined && p.tags.length > 0) out['tags'] = [...p.tags];
  for (const arg of p.args) {
    const path = 'file_arg' in arg ? arg.file_arg.path : 'path_arg' in arg ? arg.path_arg.path : 'linux_binprm_arg' in arg ? arg.linux_binprm_arg.path : undefined;
    if (path !== undefined && out['file'] === undefined) out['file'] = { path, name: basename(path) };
    if ('sock_arg' in arg && out['destination'] === undefined && isInet(arg.sock_arg.family)) {
      const s = arg.sock_arg;
      out['destination'] = { ip: s.daddr, port: s.dport };
      if (s.saddr) out['source'] = { ip: s.saddr, ...(s.sport !== undefined ? { port: s.sport } : {}) };
      out['network'] = { transport: s.protocol.replace(/^IPPROTO_/, '').toLowerCase() };
    }
    if ('sockaddr_arg' in arg && out['destination'] === undefined && isInet(arg.sockaddr_arg.family)) {
      out['destination'] = { ip: arg.sockaddr_arg.addr, port: arg.sockaddr_arg.port };
    }
  }
  return out;
}

function isInet(family: string): boolean {
  return family === 'AF_INET' || family === 'AF_INET6';
}

/** process.* (and process.parent.*) of one process. */
export function processFields(p: Process): Record<string, unknown> {
  const args = [p.binary, ...splitArguments(p.arguments)];
  const out: Record<string, unknown> = {
    entity_id: p.exec_id,
    pid: p.pid,
    executable: p.binary,
    name: basename(p.binary),
    args,
    args_count: args.length,
    command_line: p.arguments === '' ? p.binary : `${p.binary} ${p.arguments}`,
    working_directory: p.cwd,
    start: p.start_time,
    thread: { id: p.tid },
  };
  const creds = p.process_credentials;
  const userName = (p as Process & ProcessExtras).user?.name;
  out['user'] = { id: String(p.uid), ...(userName ? { name: userName } : {}) };
  if (creds !== undefined) {
    out['group'] = { id: String(creds.egid) };
    out['real_user'] = { id: String(creds.uid) };
    out['real_group'] = { id: String(creds.gid) };
    out['saved_user'] = { id: String(creds.suid) };
    out['saved_group'] = { id: String(creds.sgid) };
  }
  return out;
}

/** container.*: from the pod's container (runtime://id) or the truncated docker id. */
function containerFields(p: Process & ProcessExtras): Record<string, unknown> | undefined {
  const c = p.pod?.container;
  const full = c?.id;
  if (full === undefined && (p.docker === undefined || p.docker === '')) return undefined;
  const out: Record<string, unknown> = {};
  if (full !== undefined) {
    const sep = full.indexOf('://');
    out['id'] = sep === -1 ? full : full.slice(sep + 3);
    if (sep !== -1) out['runtime'] = full.slice(0, sep);
  } else {
    out['id'] = p.docker;
  }
  if (c?.name) out['name'] = c.name;
  const image = c?.image?.name;
  if (image) {
    const { name, tag } = splitImage(image);
    out['image'] = { name, ...(tag !== undefined ? { tag: [tag] } : {}) };
  }
  if (c?.security_context?.privileged !== undefined) out['security_context'] = { privileged: c.security_context.privileged };
  return out;
}

/** orchestrator.*: the pod as a kubernetes resource. */
function orchestratorFields(pod: Pod | undefined, cluster: string | undefined): Record<string, unknown> | undefined {
  if (pod === undefined) return undefined;
  const resource: Record<string, unknown> = { type: 'pod' };
  if (pod.name) resource['name'] = pod.name;
  if (pod.uid) resource['id'] = pod.uid;
  const labels = Object.entries(pod.pod_labels ?? {}).map(([k, v]) => `${k}=${v}`);
  if (labels.length > 0) resource['label'] = labels;
  if (pod.workload_kind) resource['parent'] = { type: pod.workload_kind };
  return {
    type: 'kubernetes',
    ...(pod.namespace ? { namespace: pod.namespace } : {}),
    ...(cluster ? { cluster: { name: cluster } } : {}),
    resource,
  };
}

/** "docker.io/tgraf/netperf:latest" → name docker.io/tgraf/netperf, tag latest (a registry port is not a tag). */
function splitImage(ref: string): { name: string; tag?: string } {
  const at = ref.indexOf('@');
  const noDigest = at === -1 ? ref : ref.slice(0, at);
  const colon = noDigest.lastIndexOf(':');
  if (colon === -1 || noDigest.indexOf('/', colon) !== -1) return { name: noDigest };
  return { name: noDigest.slice(0, colon), tag: noDigest.slice(colon + 1) };
}
