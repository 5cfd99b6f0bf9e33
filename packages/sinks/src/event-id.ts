// A stable id per event, for the sinks whose destination deduplicates or that must let consumers do it:
// Kafka's CloudEvents `ce_id` header and Elasticsearch's `_id`.
//
// The event model has no id of its own, so the id is derived from what identifies an event: its type,
// the process it is about (exec_id = base64("<node>:<start ktime>:<pid>"), unique per node and boot), the
// thread (process.tid: two threads of one process may hit hooks at once) and the event time (nanosecond
// resolution). The same event therefore gets the same id on every retry, in every sink and on every
// worker, while two events of one thread differ in type or time. If the model ever gains an `id` field,
// return it here instead, so that every sink changes together.

import * as crypto from 'node:crypto';
import { eventProcess, eventType, type PeregrineEvent } from '@peregrine/events';

/** One-shot SHA-256 in hex: crypto.hash (Node ≥ 20.12, a third of the cost of a Hash object) or createHash. */
const sha256Hex: (data: string) => string =
  typeof crypto.hash === 'function' ? (data) => crypto.hash('sha256', data, 'hex') : (data) => crypto.createHash('sha256').update(data).digest('hex');

/** 32 hex digits (128 bits of SHA-256 over type, exec_id, tid and time, NUL-separated, UTF-8). */
export function eventId(event: PeregrineEvent): string {
  const process = eventProcess(event);
  return sha256Hex(`${eventType(event)}\0${process.exec_id}\0${process.tid ?? ''}\0${event.time}`).slice(0, 32);
}
