import { describe, expect, it } from 'vitest';
import { eventJson, type PeregrineEvent } from '@peregrine/events';
import { JsonLinesEncoder } from '../file/encoder.js';
import { RecordEncoder } from '../kafka/encoder.js';
import { parseTopicTemplate } from '../kafka/topic.js';
import { execEvent, exitEvent } from '../testdata/events.js';
import { encodeJobEvents, jobEventCount, jobEvents } from './redis.js';

describe('batch job payload (ndjson)', () => {
  const events: PeregrineEvent[] = [execEvent(1), exitEvent(2, { signal: 'SIGKILL' }), execEvent(3, { cwd: 'ünï\n"' })];

  it('round-trips a batch: one line per event, parsed back equal', () => {
    const ndjson = encodeJobEvents(events);
    expect(ndjson.split('\n')).toEqual(events.map((e) => eventJson(e)));
    expect(jobEventCount({ ndjson })).toBe(3);
    expect(jobEvents({ ndjson })).toEqual(JSON.parse(JSON.stringify(events)));
  });

  it('hands the sinks the job bytes: no event is serialized again in the worker', () => {
    // Spaces and a key order neither JSON.stringify nor eventJson writes: a sink that serialized the event
    // again would not reproduce these bytes.
    const line = '{"time": "t", "node_name": "n", "process_exec": {"process": {"tid": 7, "pid": 7, "exec_id": "aWQ=", "binary": "/bin/x", "arguments": "", "flags": "", "start_time": "t", "auid": 0, "uid": 0, "cwd": "/"}}}';
    const [ev] = jobEvents({ ndjson: line }) as PeregrineEvent[];
    expect(new JsonLinesEncoder().encode([ev]).toString()).toBe(`${line}\n`);
    expect(new RecordEncoder(parseTopicTemplate('t')).encode(ev!).value.toString()).toBe(line);
  });

  it('reads the events array of older producers and dead-letter replays as is', () => {
    expect(jobEvents({ events })).toBe(events);
    expect(jobEventCount({ events })).toBe(3);
  });

  it('says a job holds no events in a known form, and refuses a line that is not JSON', () => {
    expect(jobEvents({})).toBeUndefined();
    expect(jobEvents(undefined)).toBeUndefined();
    expect(jobEventCount({ foo: 1 } as object)).toBe(0);
    expect(jobEvents({ ndjson: '' })).toEqual([]);
    expect(() => jobEvents({ ndjson: `${eventJson(events[0]!)}\n{"process_exec":` })).toThrow(SyntaxError);
  });

  it('refuses to encode an event JSON cannot represent', () => {
    const cyclic = { ...execEvent(4) } as Record<string, unknown>;
    cyclic['self'] = cyclic;
    expect(() => encodeJobEvents([events[0]!, cyclic as PeregrineEvent])).toThrow(TypeError);
  });
});
