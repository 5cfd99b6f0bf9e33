// The _bulk wire format: one `create` action per event with _id = eventId(event), and how each item's
// answer is read. `create` (not `index`) makes a resend harmless: a document that is already there is
// answered 409 version_conflict_engine_exception and counted as a duplicate, not written twice.

import type { PeregrineEvent } from '@peregrine/events';
import { eventId } from '../event-id.js';
import { describeCause } from './client.js';
import { toEcs } from './ecs.js';
import { targetIndex, type ResolvedMode } from './template.js';

/** One encoded document: its action line and source line. */
export interface BulkDoc {
  readonly id: string;
  readonly action: string;
  readonly source: string;
  /** Request bytes of both lines with their newlines. */
  readonly bytes: number;
  /** Payload bytes (the source line). */
  readonly sourceBytes: number;
}

export interface EncodeOptions {
  index: string;
  mode: ResolvedMode;
  ecsOnly: boolean;
}

/** Encode one event, or say why it cannot be (then it goes to the dead-letter queue as it is). */
export function encodeDoc(event: PeregrineEvent, options: EncodeOptions): BulkDoc | { error: string } {
  try {
    const id = eventId(event);
    const source = JSON.stringify(toEcs(event, { id, ecsOnly: options.ecsOnly }));
    const action = JSON.stringify({ create: { _index: targetIndex(options.index, options.mode, event.time), _id: id } });
    const sourceBytes = Buffer.byteLength(source);
    return { id, action, source, bytes: action.length + sourceBytes + 2, sourceBytes };
  } catch (err) {
    return { error: `cannot encode event: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * What became of one document:
 * - created: indexed now (2xx);
 * - duplicate: already there from an earlier attempt (409 on create), so delivered;
 * - retry: refused for now (429 es_rejected_execution_exception, 5xx): send it again;
 * - dead: refused for good because of its content (400: document_parsing_exception, mapper_parsing_exception,
 *   illegal_argument_exception…): hand it to the dead-letter queue with the reason;
 * - failed: refused for a reason that is not the document's and that resending will not fix (401/403/404…).
 */
export type ItemOutcome =
  | { kind: 'created' }
  | { kind: 'duplicate' }
  | { kind: 'retry' | 'dead' | 'failed'; status: number; reason: string };

interface ItemAnswer {
  status?: number;
  error?: { type?: string; reason?: string | null; caused_by?: unknown };
}

export function itemOutcome(item: Record<string, ItemAnswer | undefined> | undefined): ItemOutcome {
  const answer = item === undefined ? undefined : (item['create'] ?? Object.values(item)[0]);
  const status = answer?.status;
  if (status === undefined) return { kind: 'retry', status: 0, reason: 'no answer for this document in the _bulk response' };
  if (status >= 200 && status < 300) return { kind: 'created' };
  const reason = `${status} ${answer?.error !== undefined ? describeCause(answer.error) : 'error'}`;
  if (status === 409) return { kind: 'duplicate' };
  if (status === 429 || status >= 500) return { kind: 'retry', status, reason };
  if (status === 400) return { kind: 'dead', status, reason };
  return { kind: 'failed', status, reason };
}

/** The documents split into _bulk requests of at most maxEvents documents and (but for a lone big one) maxBytes. */
export function* chunks<T extends { doc: BulkDoc }>(items: readonly T[], maxEvents: number, maxBytes: number): Generator<T[]> {
  let cur: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (cur.length > 0 && (cur.length >= maxEvents || bytes + item.doc.bytes > maxBytes)) {
      yield cur;
      cur = [];
      bytes = 0;
    }
    cur.push(item);
    bytes += item.doc.bytes;
  }
  if (cur.length > 0) yield cur;
}

/** Exponential backoff with full jitter in [base/2, base]: attempt 1 waits ~initial, then ×2 up to max. */
export function backoffMs(attempt: number, initial: number, max: number, random: () => number = Math.random): number {
  const base = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + (random() * base) / 2);
}
