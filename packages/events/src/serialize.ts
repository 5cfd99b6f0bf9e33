// JSON lines of canonical events, fast: a process image's JSON is computed once and reused — in its
// exec and exit events and in every event of its children (as parent) — instead of on every event.
// Only frozen Process objects (the enricher freezes every image) are cached: they cannot change.
import type { PeregrineEvent } from './events.js';
import type { Process } from './process.js';

const cache = new WeakMap<Process, string>();

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
