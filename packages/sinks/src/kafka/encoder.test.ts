import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, type PeregrineEvent } from '@peregrine/events';
import { eventId } from '../event-id.js';
import { JsonLinesEncoder } from '../file/encoder.js';
import { execEvent, exitEvent, process as proc } from '../testdata/events.js';
import { RecordEncoder, recordBytes } from './encoder.js';
import { parseTopicTemplate } from './topic.js';

describe('topic templates', () => {
  it('renders one topic for every event type without a placeholder', () => {
    const t = parseTopicTemplate('peregrine.events');
    expect(t.errors).toEqual([]);
    expect(t.topics).toEqual(['peregrine.events']);
    expect(t.render('process_exit')).toBe('peregrine.events');
  });

  it('renders {event_type} per type', () => {
    const t = parseTopicTemplate('peregrine.{event_type}');
    expect(t.errors).toEqual([]);
    expect(t.render('process_exec')).toBe('peregrine.process_exec');
    expect(t.render('process_exit')).toBe('peregrine.process_exit');
    expect(t.topics).toEqual(EVENT_TYPES.map((e) => `peregrine.${e}`).sort());
  });

  it('allows the placeholder more than once', () => {
    expect(parseTopicTemplate('{event_type}-{event_type}').render('process_lsm')).toBe('process_lsm-process_lsm');
  });

  it('reports every problem once', () => {
    expect(parseTopicTemplate('x/{event_type}').errors).toHaveLength(EVENT_TYPES.length);
    expect(parseTopicTemplate('x/y').errors).toEqual(['renders "x/y": a topic name must match [a-zA-Z0-9._-]{1,249}']);
    expect(parseTopicTemplate('{type}.{node}').errors).toEqual([
      'unknown placeholder {type} (known: {event_type})',
      'unknown placeholder {node} (known: {event_type})',
    ]);
  });
});

describe('eventId', () => {
  it('is 32 hex digits, the same for the same event and for a copy of it', () => {
    const ev = execEvent(42);
    expect(eventId(ev)).toMatch(/^[0-9a-f]{32}$/);
    expect(eventId(ev)).toBe(eventId(structuredClone(ev)));
  });

  it('differs by type, process, thread and time', () => {
    const ids = new Set([
      eventId(execEvent(42)),
      eventId(exitEvent(42)),
      eventId(execEvent(43)),
      eventId(execEvent(42, { tid: 4242 })),
      eventId({ ...execEvent(42), time: '2026-11-27T11:30:00.123456790Z' }),
    ]);
    expect(ids.size).toBe(5);
  });

  it('keeps the ids of earlier versions (Elasticsearch deduplicates a resend by them)', () => {
    // Vectors from the first implementation: createHash('sha256').update(type).update('\\0')….digest('hex').slice(0, 32).
    const p = { exec_id: 'bm9kZToxOjE=', pid: 1, uid: 0, cwd: '/', binary: '/bin/x', arguments: '', flags: '', start_time: 't', auid: 0, tid: 7 };
    expect(eventId({ process_exec: { process: p }, node_name: 'n', time: '2026-11-27T11:30:00.123456789Z' })).toBe('3c2ec1a5e42de64de3db4e35b4f1772d');
    const noTid = { ...p, tid: undefined } as unknown as typeof p;
    expect(eventId({ process_exit: { process: noTid, status: 0, time: 't' }, node_name: 'n', time: '2026-11-27T11:30:01Z' })).toBe('babd2e952108f86591a3bf3e0d9f1966');
  });

  it('ignores content that is not part of the identity (enrichment may differ between workers)', () => {
    expect(eventId(execEvent(42, { cwd: '/elsewhere' }))).toBe(eventId(execEvent(42)));
  });
});

describe('record encoder', () => {
  it('writes the file sink\'s line as the value, byte for byte (eventJson: one JSON text shared by the sinks)', () => {
    const ev = exitEvent(8, { status: 137, signal: 'SIGKILL' });
    const line = new JsonLinesEncoder().encode([ev]).toString('utf8');
    const value = new RecordEncoder(parseTopicTemplate('t')).encode(ev).value.toString('utf8');
    expect(`${value}\n`).toBe(line);
    expect(JSON.parse(value)).toEqual(ev);
  });

  const encoder = new RecordEncoder(parseTopicTemplate('peregrine.{event_type}'), { headers: { cluster: 'prod-eu' }, nodeName: 'fallback-node' });

  it('encodes value = the file sink\'s line (eventJson), key = exec_id, the topic per type', () => {
    const ev = execEvent(7);
    const r = encoder.encode(ev);
    expect(r.value.toString('utf8')).toBe(JSON.stringify(ev));
    expect(JSON.parse(r.value.toString('utf8'))).toEqual(ev);
    expect(r.key).toBe(ev.process_exec.process.exec_id);
    expect(r.topic).toBe('peregrine.process_exec');
    expect(encoder.encode(exitEvent(7)).topic).toBe('peregrine.process_exit');
    expect(encoder.encode(exitEvent(7)).key).toBe(r.key);
  });

  it('sets the CloudEvents binary-mode headers, schema_version and the static headers', () => {
    const ev = exitEvent(9, { signal: 'SIGKILL' });
    expect(encoder.encode(ev).headers).toEqual({
      cluster: 'prod-eu',
      ce_specversion: '1.0',
      ce_type: 'io.peregrine.process_exit',
      ce_source: 'peregrine://worker-1.example.internal',
      ce_id: eventId(ev),
      ce_time: '2026-11-27T11:30:00.123456789Z',
      'content-type': 'application/json',
      schema_version: '1',
    });
  });

  it('gives the same ce_id on every encoding of an event (retries)', () => {
    const ev = execEvent(3);
    expect(encoder.encode(ev).headers.ce_id).toBe(encoder.encode(ev).headers.ce_id);
  });

  it('falls back to the agent’s node name for ce_source', () => {
    expect(encoder.encode({ ...execEvent(1), node_name: '' }).headers.ce_source).toBe('peregrine://fallback-node');
  });

  it('keeps non-ASCII text intact and counts its bytes', () => {
    const ev = execEvent(1, { arguments: 'héllo wörld ✓ 😀 \u2028', cwd: '/home/ünï' });
    const r = encoder.encode(ev);
    expect(JSON.parse(r.value.toString('utf8'))).toEqual(ev);
    expect(r.value.length).toBe(Buffer.byteLength(JSON.stringify(ev)));
  });

  it('bounds the record size from above', () => {
    const r = encoder.encode(execEvent(1));
    let exact = r.key.length + r.value.length;
    for (const [k, v] of Object.entries(r.headers)) exact += k.length + v.length;
    expect(r.bytes).toBeGreaterThan(exact);
    expect(r.bytes).toBeLessThan(exact + 200);
    expect(recordBytes('k', Buffer.from('v'), {})).toBe(38);
  });

  it('throws on an event JSON cannot represent', () => {
    const ev = execEvent(1) as PeregrineEvent & { extra?: unknown };
    ev.extra = 1n;
    expect(() => encoder.encode(ev)).toThrow(TypeError);
  });

  it('puts one process’s exec and exit under one key', () => {
    const p = proc(77);
    expect(encoder.encode(execEvent(77)).key).toBe(p.exec_id);
    expect(encoder.encode(exitEvent(77)).key).toBe(p.exec_id);
  });
});
