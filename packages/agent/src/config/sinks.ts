// The `sinks:` list of the agent configuration: each entry names a sink type, its own options, which
// events it takes, and its delivery queue (in-process by default, BullMQ on Redis with `queue.redis`).
import { ConfigError, EVENT_TYPES, type ConfigIssue, type EventType } from '@peregrine/events';
import { defaultSinkRegistry, parseQueueConfig, type QueueConfig } from '@peregrine/sinks';

export interface SinkEntry {
  id: string;
  type: string;
  /** Validated options of the sink type. */
  options: unknown;
  eventTypes: ReadonlySet<EventType> | null;
  binaryRegex: RegExp | null;
  queue: QueueConfig;
}

const ROUTING_KEYS = new Set(['type', 'id', 'event_types', 'binary_regex', 'queue']);
const ID = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

/** Validates every entry; one ConfigError names every bad field of every entry. */
export function parseSinkEntries(raw: readonly Record<string, unknown>[], reserved: readonly string[]): SinkEntry[] {
  const registry = defaultSinkRegistry();
  const issues: ConfigIssue[] = [];
  const out: SinkEntry[] = [];
  const ids = new Set(reserved);
  raw.forEach((e, i) => {
    const at = `sinks[${i}]`;
    const type = e.type;
    if (typeof type !== 'string') {
      issues.push({ path: `${at}.type`, message: `required: one of ${registry.types().join(', ')}` });
      return;
    }
    const id = e.id === undefined ? type : e.id;
    if (typeof id !== 'string' || !ID.test(id)) issues.push({ path: `${at}.id`, message: 'lower-case letters, digits, _ . - (at most 63)' });
    else if (ids.has(id)) issues.push({ path: `${at}.id`, message: `sink id '${id}' is used twice (give each sink its own id)` });
    ids.add(String(id));
    let eventTypes: Set<EventType> | null = null;
    if (e.event_types !== undefined) {
      if (!Array.isArray(e.event_types) || e.event_types.length === 0) issues.push({ path: `${at}.event_types`, message: 'a non-empty list of event types' });
      else {
        eventTypes = new Set();
        e.event_types.forEach((t, ti) => {
          if ((EVENT_TYPES as readonly unknown[]).includes(t)) eventTypes!.add(t as EventType);
          else issues.push({ path: `${at}.event_types[${ti}]`, message: `unknown event type ${JSON.stringify(t)} (${EVENT_TYPES.join(', ')})` });
        });
      }
    }
    let binaryRegex: RegExp | null = null;
    if (e.binary_regex !== undefined) {
      try {
        binaryRegex = new RegExp(String(e.binary_regex));
      } catch (err) {
        issues.push({ path: `${at}.binary_regex`, message: (err as Error).message });
      }
    }
    const options = Object.fromEntries(Object.entries(e).filter(([k]) => !ROUTING_KEYS.has(k)));
    let parsed: unknown;
    let queue: QueueConfig | undefined;
    try {
      parsed = registry.parse(type, options, at);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      issues.push(...err.issues);
    }
    try {
      queue = parseQueueConfig(e.queue ?? {}, `${at}.queue`);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      issues.push(...err.issues);
    }
    if (parsed !== undefined && queue !== undefined) out.push({ id: String(id), type, options: parsed, eventTypes, binaryRegex, queue });
  });
  if (issues.length > 0) throw new ConfigError('sinks configuration', issues);
  return out;
}
