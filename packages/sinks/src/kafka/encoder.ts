// Events → Kafka records. The value is the file sink's line without its newline (eventJson(event): the
// JSON text is shared with the other sinks, see @peregrine/events serialize.ts),
// the key is the process's exec_id (murmur2 partitioning keeps one process's events on one partition, in
// order), and the headers follow the CloudEvents Kafka binding in binary mode:
//
//   ce_specversion  "1.0"
//   ce_type         io.peregrine.<event_type>          (io.peregrine.process_exec)
//   ce_source       peregrine://<node_name>
//   ce_id           eventId(event): stable across retries, the same id the Elasticsearch sink uses as _id
//   ce_time         the event's time (RFC 3339, nanoseconds)
//   content-type    application/json
//   schema_version  EVENT_SCHEMA_VERSION
//
// plus the configured static headers.

import { eventJson, eventProcess, eventType, type PeregrineEvent } from '@peregrine/events';
import { eventId } from '../event-id.js';
import type { TopicTemplate } from './topic.js';

/** Version of the JSON event shape (Tetragon's GetEventsResponse JSON, see conventions 2.1–2.2). */
export const EVENT_SCHEMA_VERSION = '1';
export const CE_TYPE_PREFIX = 'io.peregrine.';
export const CE_SOURCE_PREFIX = 'peregrine://';

export type RecordHeaders = Record<string, string>;

export interface KafkaRecord {
  readonly topic: string;
  readonly key: string;
  readonly value: Buffer;
  readonly headers: RecordHeaders;
  /** Upper bound of the record's size in a record batch, before compression. */
  readonly bytes: number;
}

// Per record: length, attributes, timestamp and offset deltas, key and value lengths, header count (varints).
const RECORD_OVERHEAD = 36;
// Per header: key and value length varints.
const HEADER_OVERHEAD = 10;

export function recordBytes(key: string, value: Buffer, headers: RecordHeaders): number {
  let n = RECORD_OVERHEAD + Buffer.byteLength(key) + value.length;
  for (const k in headers) n += HEADER_OVERHEAD + Buffer.byteLength(k) + Buffer.byteLength(headers[k] as string);
  return n;
}

export class RecordEncoder {
  readonly #topics: TopicTemplate;
  readonly #static: RecordHeaders;
  readonly #fallbackNode: string;

  /** `nodeName` is the ce_source of an event without node_name. */
  constructor(topics: TopicTemplate, options: { headers?: RecordHeaders; nodeName?: string } = {}) {
    this.#topics = topics;
    this.#static = { ...options.headers };
    this.#fallbackNode = options.nodeName ?? '';
  }

  /** Throws a TypeError for an event that JSON cannot represent. */
  encode(event: PeregrineEvent): KafkaRecord {
    const json = eventJson(event) as string | undefined;
    if (json === undefined) throw new TypeError(`cannot encode ${typeof event} as JSON`);
    const type = eventType(event);
    const key = eventProcess(event).exec_id;
    const value = Buffer.from(json, 'utf8');
    const headers: RecordHeaders = {
      ...this.#static,
      ce_specversion: '1.0',
      ce_type: CE_TYPE_PREFIX + type,
      ce_source: CE_SOURCE_PREFIX + (event.node_name || this.#fallbackNode),
      ce_id: eventId(event),
      ce_time: event.time,
      'content-type': 'application/json',
      schema_version: EVENT_SCHEMA_VERSION,
    };
    return { topic: this.#topics.render(type), key, value, headers, bytes: recordBytes(key, value, headers) };
  }
}
