// An event as one line of JSON: the text every JSON sink writes (file lines, Kafka values, OTLP bodies, the
// durable queue's payloads). It is JSON.stringify. A per-process-image cache of the JSON (each image's
// text reused in its exec and exit events and as its children's parent) was tried and removed: keeping
// those strings alive costs more in garbage collection than the reuse saves — with one JSON sink, 6.0
// against 2.9 µs per exec event, 3.2 against 2.3 with a parent shared by 20 children; it won only with
// three JSON sinks and shared parents (3.6 against 6.0).
import type { PeregrineEvent } from './events.js';

/** The event as one JSON text (never a raw newline: JSON.stringify escapes it). Throws on a cycle or a BigInt. */
export function eventJson(ev: PeregrineEvent): string {
  return JSON.stringify(ev);
}
