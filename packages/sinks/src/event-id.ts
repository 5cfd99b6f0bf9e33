// A stable id per event, for the sinks whose destination deduplicates or that must let consumers do it:
// Kafka's CloudEvents `ce_id` header and Elasticsearch's `_id`.
//
// The event model has no id of its own, so the id is derived from what identifies an event: its type,
// the process it is about (exec_id = base64("<node>:<start ktime>:<pid>"), unique per node and boot), the
// thread (process.tid: two threads of one process may hit hooks at once) and the event time (nanosecond
// resolution). The same event therefore gets the same id on every retry, in every sink and on every
// worker, while two events of one thread differ in type or time. If the model ever gains an `id` field,
// return it here instead, so that every sink changes together.

import { createHash } from 'node:crypto';
import { eventProcess, eventType, type PeregrineEvent } from '@peregrine/events';

/** 32 hex digits (128 bits of SHA-256 over type, exec_id, tid and time, NUL-separated). */
export function eventId(event: PeregrineEvent): string {
  const process = eventProcess(event);
  return createHash('sha256')
    .update(eventType(event))
    .update('\0')
    .update(process.exec_id)
    .update('\0')
    .update(String(process.tid ?? ''))
    .update('\0')
    .update(event.time)
    .digest('hex')
    .slice(0, 32);
}
