// Events → one Buffer of JSON lines. Each event is stringified and encoded straight into a buffer sized
// from the previous batches, so a batch costs one allocation and no big intermediate string. JSON.stringify
// never emits a raw newline, so every 0x0a byte in the output ends exactly one line.

import { eventJson, type PeregrineEvent } from '@peregrine/events';

export const NEWLINE = 0x0a;

export class JsonLinesEncoder {
  #lineBytes = 1024;

  encode(events: readonly unknown[]): Buffer {
    let buf = Buffer.allocUnsafe(Math.ceil(this.#lineBytes * events.length * 1.125) + 4096);
    let off = 0;
    for (const event of events) {
      const json = eventJson(event as PeregrineEvent) as string | undefined;
      if (json === undefined) throw new TypeError(`cannot encode ${typeof event} as JSON`);
      const room = buf.length - off - 1;
      // A UTF-16 unit takes at most 3 UTF-8 bytes; only near the end is the exact length worth computing.
      if (room < json.length * 3 && room < Buffer.byteLength(json)) {
        const bigger = Buffer.allocUnsafe(2 * buf.length + 3 * json.length);
        buf.copy(bigger, 0, 0, off);
        buf = bigger;
      }
      off += buf.write(json, off, 'utf8');
      buf[off++] = NEWLINE;
    }
    if (events.length > 0) this.#lineBytes = Math.max(64, off / events.length);
    return buf.subarray(0, off);
  }
}

/** Number of lines (newline bytes) in a buffer of whole lines. */
export function countLines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(NEWLINE); i !== -1; i = buf.indexOf(NEWLINE, i + 1)) n++;
  return n;
}
