// JSON lines of canonical events, fast: a process image's JSON is computed once and reused — in its
// exec and exit events and in every event of its children (as parent) — instead of on every event.
// Only frozen Process objects (the enricher freezes every image) are cached: they cannot change.
// eventFromJson() goes the other way for a line that is already JSON (a durable queue's job): the event it
// parses is frozen and remembers its line, so every sink reuses those bytes instead of serializing again.
import type { PeregrineEvent } from './events.js';
import type { Process } from './process.js';

const cache = new WeakMap<Process, string>();
const lines = new WeakMap<object, string>();

function processJson(p: Process): string {
  if (!Object.isFrozen(p)) return JSON.stringify(p);
  let s = cache.get(p);
  if (s === undefined) {
    s = JSON.stringify(p);
    cache.set(p, s);
  }
  return s;
}

function lineage(b: { process: Process; parent?: Process | undefined; ancestors?: Process[] | undefined }): string {
  let s = `"process":${processJson(b.process)}`;
  if (b.parent !== undefined) s += `,"parent":${processJson(b.parent)}`;
  if (b.ancestors !== undefined) s += `,"ancestors":[${b.ancestors.map(processJson).join(',')}]`;
  return s;
}

const EXEC_KEYS = new Set(['process', 'parent', 'ancestors']);
const EXIT_KEYS = new Set(['process', 'parent', 'ancestors', 'signal', 'status', 'time']);

/** Only the shapes the fast path knows in full: anything else (an extra field) goes to JSON.stringify. */
function known(ev: object, body: object, keys: ReadonlySet<string>): boolean {
  if (Object.keys(ev).length !== 3) return false;
  for (const k of Object.keys(body)) if (!keys.has(k)) return false;
  return true;
}

/** The event as one JSON text; JSON.parse of it equals JSON.parse(JSON.stringify(event)). */
export function eventJson(ev: PeregrineEvent): string {
  const line = lines.get(ev);
  if (line !== undefined) return line;
  if ('process_exec' in ev ? !known(ev, ev.process_exec, EXEC_KEYS) : 'process_exit' in ev ? !known(ev, ev.process_exit, EXIT_KEYS) : true) {
    return JSON.stringify(ev);
  }
  const tail = `,"node_name":${JSON.stringify(ev.node_name)},"time":${JSON.stringify(ev.time)}}`;
  if ('process_exec' in ev) return `{"process_exec":{${lineage(ev.process_exec)}}${tail}`;
  if ('process_exit' in ev) {
    const x = ev.process_exit;
    const sig = x.signal !== undefined ? `,"signal":${JSON.stringify(x.signal)}` : '';
    return `{"process_exit":{${lineage(x)}${sig},"status":${JSON.stringify(x.status)},"time":${JSON.stringify(x.time)}}${tail}`;
  }
  return JSON.stringify(ev);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * One JSON text of an event (a line eventJson wrote, without its newline) parsed back into an event. The
 * event is deeply frozen, so it cannot drift from its text, and eventJson(event) returns `line` itself.
 * Throws a SyntaxError for text that is not JSON and a TypeError for JSON that is not an object.
 */
export function eventFromJson(line: string): PeregrineEvent {
  const ev: unknown = JSON.parse(line);
  if (typeof ev !== 'object' || ev === null || Array.isArray(ev)) throw new TypeError(`not a JSON object: ${line.slice(0, 40)}`);
  deepFreeze(ev);
  lines.set(ev, line);
  return ev as PeregrineEvent;
}
