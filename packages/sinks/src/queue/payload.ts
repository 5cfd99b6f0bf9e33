// A batch job's payload: the agent stores the batch as JSON lines — `eventJson(event)` per line, the very
// bytes the file sink writes — in a Redis string of its own, and the job carries only the key. Why not the
// events in the job's data: BullMQ JSON-encodes job data, so a worker had to parse ~1 KB per event and the
// file sink encode it again (12 µs of worker CPU per event, the durable file path at 20 % of direct);
// a binary-safe string is copied, not escaped, on the way in and out of Redis, a sink with
// `writeLines` (file) appends it as it is, and the others parse one line per event as before.
import { UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { PeregrineEvent } from '@peregrine/events';
import type { BatchJobData, QueueNames } from './redis.js';

export function linesKey(names: QueueNames, jobId: string): string {
  return `${names.prefix}:${names.queue}:lines:${jobId}`;
}

/** A job's batch as the worker holds it: the raw lines when it came as lines, events parsed on demand. */
export interface LoadedBatch {
  readonly count: number;
  readonly lines: Buffer | undefined;
  events(): PeregrineEvent[];
}

/** JSON lines → events; names the line that is not JSON. */
export function parseLines(buf: Buffer): PeregrineEvent[] {
  const text = buf.toString('utf8');
  const out: PeregrineEvent[] = [];
  let start = 0;
  for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
    try {
      out.push(JSON.parse(text.slice(start, end)) as PeregrineEvent);
    } catch (err) {
      throw new Error(`line ${out.length + 1} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    start = end + 1;
  }
  if (start < text.length) throw new Error(`line ${out.length + 1} is not terminated`);
  return out;
}

function isLinesJob(data: BatchJobData): data is BatchJobData & { lines: string; count: number } {
  return typeof data.lines === 'string' && typeof data.count === 'number';
}

/** True when the job data is a batch this version can deliver. */
export function isBatchJob(data: unknown): data is BatchJobData {
  const d = data as BatchJobData | undefined;
  return typeof d?.enqueued_at === 'number' && (Array.isArray(d.events) || isLinesJob(d));
}

/**
 * Fetches a job's batch; its lines are parsed only if the sink needs events (or a retry or dead letter
 * does). A payload missing from Redis, or not `count` JSON lines, cannot become deliverable by retrying:
 * UnrecoverableError (the job fails at once; the workers' failed handler dead-letters it with the reason).
 */
export async function loadBatch(redis: Redis, data: BatchJobData): Promise<LoadedBatch> {
  if (!isLinesJob(data)) {
    const inline = data.events ?? [];
    return { count: inline.length, lines: undefined, events: () => inline };
  }
  const key = data.lines;
  const buf = await redis.getBuffer(key);
  if (buf === null) throw new UnrecoverableError(`batch payload ${key} is missing from Redis`);
  let events: PeregrineEvent[] | undefined;
  return {
    count: data.count,
    lines: buf,
    events: () => {
      if (events !== undefined) return events;
      try {
        events = parseLines(buf);
      } catch (err) {
        throw new UnrecoverableError(`batch payload ${key}: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (events.length !== data.count) throw new UnrecoverableError(`batch payload ${key} holds ${events.length} lines, the job says ${data.count}`);
      return events;
    },
  };
}

/** What can still be read of a job's events, for dead-lettering it whatever its state (never throws). */
export async function salvageEvents(redis: Redis, data: unknown): Promise<PeregrineEvent[]> {
  const d = data as BatchJobData | undefined;
  if (Array.isArray(d?.events)) return d.events;
  if (typeof d?.lines !== 'string') return [];
  const buf = await redis.getBuffer(d.lines).catch(() => null);
  if (buf === null) return [];
  const out: PeregrineEvent[] = [];
  for (const line of buf.toString('utf8').split('\n')) {
    try {
      if (line !== '') out.push(JSON.parse(line) as PeregrineEvent);
    } catch {
      // an unreadable line is lost either way; the dead letter's reason says why the job failed
    }
  }
  return out;
}
