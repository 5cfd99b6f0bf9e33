// The durable queue's payload format: JSON lines in, events out, and which job data is a batch.
import { describe, expect, it } from 'vitest';
import { smallEvent } from '../testdata/events.js';
import { isBatchJob, linesKey, parseLines } from './payload.js';
import { queueNames } from './redis.js';

describe('batch payload', () => {
  it('parses JSON lines back into the events', () => {
    const events = [smallEvent(1), smallEvent(2)];
    expect(parseLines(Buffer.from(events.map((e) => `${JSON.stringify(e)}\n`).join('')))).toEqual(JSON.parse(JSON.stringify(events)));
    expect(parseLines(Buffer.alloc(0))).toEqual([]);
  });

  it('names the line that is not JSON, or not terminated', () => {
    expect(() => parseLines(Buffer.from('{"a":1}\n{"a":\n'))).toThrow(/^line 2 is not JSON/);
    expect(() => parseLines(Buffer.from('{"a":1}\n{"a":2}'))).toThrow('line 2 is not terminated');
  });

  it('knows a batch job: inline events or a lines key with a count, and enqueued_at', () => {
    expect(isBatchJob({ events: [], enqueued_at: 1 })).toBe(true);
    expect(isBatchJob({ lines: 'p:s:lines:1', count: 3, enqueued_at: 1 })).toBe(true);
    expect(isBatchJob({ lines: 'p:s:lines:1', enqueued_at: 1 })).toBe(false);
    expect(isBatchJob({ events: [] })).toBe(false);
    expect(isBatchJob({ foo: 1 })).toBe(false);
    expect(isBatchJob(undefined)).toBe(false);
  });

  it('keeps the lines under the sink queue\'s BullMQ namespace', () => {
    expect(linesKey(queueNames('audit', 'peregrine'), 'ab12-7')).toBe('peregrine:audit:lines:ab12-7');
  });
});
