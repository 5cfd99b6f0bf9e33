import { describe, expect, it } from 'vitest';
import { eventId } from '../event-id.js';
import { execEvent } from '../testdata/events.js';
import { backoffMs, chunks, encodeDoc, itemOutcome, type BulkDoc } from './bulk.js';
import { indexPatterns, targetIndex, utcDay } from './template.js';

describe('elasticsearch bulk encoding', () => {
  it('encodes a create action with _id = eventId and the daily index of the event time', () => {
    const ev = execEvent(1);
    const doc = encodeDoc(ev, { index: 'peregrine-events', mode: 'index', ecsOnly: false }) as BulkDoc;
    expect(JSON.parse(doc.action)).toEqual({ create: { _index: 'peregrine-events-2026.11.27', _id: eventId(ev) } });
    expect(JSON.parse(doc.source)).toMatchObject({ event: { id: eventId(ev) }, process: { pid: 1 } });
    expect(doc.bytes).toBe(Buffer.byteLength(`${doc.action}\n${doc.source}\n`));
    const ds = encodeDoc(ev, { index: 'logs-peregrine.process-default', mode: 'data_stream', ecsOnly: true }) as BulkDoc;
    expect(JSON.parse(ds.action).create._index).toBe('logs-peregrine.process-default');
  });

  it('takes the day from the event time in UTC', () => {
    expect(utcDay('2026-11-27T23:59:59.999999999Z')).toBe('2026.11.27');
    expect(utcDay('2026-11-28T00:30:00+02:00')).toBe('2026.11.27');
    expect(targetIndex('p', 'index', '2027-01-01T00:00:00Z')).toBe('p-2027.01.01');
    expect(indexPatterns('p', 'index')).toEqual(['p-*']);
    expect(indexPatterns('p', 'data_stream')).toEqual(['p']);
  });

  it('reads each item answer', () => {
    expect(itemOutcome({ create: { status: 201 } })).toEqual({ kind: 'created' });
    expect(itemOutcome({ create: { status: 409, error: { type: 'version_conflict_engine_exception', reason: 'exists' } } })).toEqual({ kind: 'duplicate' });
    expect(itemOutcome({ create: { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'full' } } })).toEqual({
      kind: 'retry',
      status: 429,
      reason: '429 es_rejected_execution_exception: full',
    });
    expect(itemOutcome({ create: { status: 503 } })).toMatchObject({ kind: 'retry', status: 503 });
    expect(
      itemOutcome({
        create: { status: 400, error: { type: 'document_parsing_exception', reason: 'failed to parse field [process.pid]', caused_by: { type: 'illegal_argument_exception', reason: 'For input string: "x"' } } },
      }),
    ).toEqual({
      kind: 'dead',
      status: 400,
      reason: '400 document_parsing_exception: failed to parse field [process.pid] (illegal_argument_exception: For input string: "x")',
    });
    expect(itemOutcome({ create: { status: 403 } })).toMatchObject({ kind: 'failed', status: 403 });
    expect(itemOutcome(undefined)).toMatchObject({ kind: 'retry' });
  });

  it('splits by events and bytes, a lone oversized document alone', () => {
    const item = (bytes: number) => ({ doc: { bytes } as BulkDoc });
    const sizes = (xs: { doc: BulkDoc }[][]) => xs.map((c) => c.map((x) => x.doc.bytes));
    expect(sizes([...chunks([1, 1, 1, 1, 1].map(item), 2, 100)])).toEqual([[1, 1], [1, 1], [1]]);
    expect(sizes([...chunks([40, 40, 40, 500, 10].map(item), 10, 100)])).toEqual([[40, 40], [40], [500], [10]]);
    expect([...chunks([], 10, 100)]).toEqual([]);
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffMs(1, 100, 5000, () => 0)).toBe(50);
    expect(backoffMs(1, 100, 5000, () => 1)).toBe(100);
    expect(backoffMs(3, 100, 5000, () => 1)).toBe(400);
    expect(backoffMs(20, 100, 5000, () => 1)).toBe(5000);
    expect(backoffMs(20, 100, 5000, () => 0)).toBe(2500);
  });
});
