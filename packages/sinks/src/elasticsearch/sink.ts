// The `elasticsearch` sink: ECS documents through _bulk `create`, _id = eventId(event).
//
// write() encodes its batch at once and queues it; one drain loop sends the queue in call order, merging
// queued batches into one unit of at most max_in_flight_requests × bulk_max_events documents (after waiting
// flush_interval_ms for more, if set). A unit's documents are split into _bulk requests of at most
// bulk_max_events documents and bulk_max_bytes, but into at least max_in_flight_requests of them (down to
// MIN_SPLIT_EVENTS documents each), and those requests are sent concurrently: an Elasticsearch node
// indexes concurrent requests on several write threads. Units follow one another, so batches still
// settle in call order.
//
// Per-document answers come back in any order, but a BatchResult reports an in-order prefix. So the sink
// finishes each unit itself: documents refused with 429/5xx are resent, alone, with exponential backoff
// and jitter, up to retry.max_attempts; a 409 on create means an earlier attempt got it in (delivered,
// counted as a duplicate); a 400 is the document's fault and goes back in `deadLetters` with the reason.
// Each batch then answers with the longest prefix of documents that are final (indexed, duplicate or dead
// letter). Whatever follows the prefix is retryable (retries exhausted, or the whole request failed:
// connection refused, timeout, 429/5xx on _bulk itself) or rejected (401/403…); its documents that did get
// in are harmless to resend because of the _id. Dead letters after the prefix are reported when resent.

import { SinkError, type PeregrineEvent } from '@peregrine/events';
import type { BatchResult, DeadLetter, Sink, SinkStats } from '../component.js';
import { delivered, rejected, undelivered } from '../result.js';
import { SinkStatsCounter } from '../stats.js';
import { backoffMs, chunks, encodeDoc, itemOutcome, type BulkDoc, type ItemOutcome } from './bulk.js';
import { createClient, toEsError, type Client } from './client.js';
import { nodeUrls, type ElasticsearchSinkConfig } from './config.js';
import { checkHealth, resolveMode } from './health.js';
import { indexTemplate, type ResolvedMode } from './template.js';

export interface ElasticsearchSinkStats extends SinkStats {
  /** Where documents go: a data stream or daily indices; undefined until start() decided. */
  mode: ResolvedMode | undefined;
  /** Documents answered 409 on create: already indexed by an earlier attempt (not in `sent`). */
  duplicates: number;
  /** Documents handed back in BatchResult.deadLetters. */
  deadLettered: number;
  /** Documents resent inside a write after a 429/5xx. */
  itemRetries: number;
  /** _bulk requests sent (including failed ones). */
  bulkRequests: number;
}

type ItemState = ItemOutcome['kind'] | 'pending';

/** A queued batch: its documents (or why one cannot be encoded) and what became of each. */
interface Pending {
  readonly events: readonly PeregrineEvent[];
  readonly docs: readonly (BulkDoc | undefined)[];
  readonly states: ItemState[];
  readonly reasons: (string | undefined)[];
  /** Why the documents still pending are: a whole-request failure or exhausted retries. */
  error: SinkError | undefined;
  readonly settle: (result: BatchResult) => void;
}

interface Item {
  readonly p: Pending;
  readonly i: number;
  readonly doc: BulkDoc;
}

const FINAL: ReadonlySet<ItemState> = new Set(['created', 'duplicate', 'dead']);

/** A unit is not split into requests smaller than this to make them concurrent. */
export const MIN_SPLIT_EVENTS = 100;

export class ElasticsearchSink implements Sink {
  readonly id: string;
  readonly #config: ElasticsearchSinkConfig;
  readonly #urls: string[];
  readonly #stats = new SinkStatsCounter();
  #mode: ResolvedMode | undefined;
  #duplicates = 0;
  #deadLettered = 0;
  #itemRetries = 0;
  #bulkRequests = 0;

  #state: 'new' | 'running' | 'stopped' = 'new';
  #client: Client | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  readonly #queue: Pending[] = [];
  #draining = false;
  #last: Promise<unknown> = Promise.resolve();

  constructor(config: ElasticsearchSinkConfig, options: { id?: string } = {}) {
    this.id = options.id ?? 'elasticsearch';
    this.#config = config;
    this.#urls = nodeUrls(config);
  }

  /** Connect, pick data stream or daily indices, install the index template. Rejects with a SinkError. */
  start(): Promise<void> {
    if (this.#state === 'stopped') return Promise.reject(new SinkError(`elasticsearch sink ${this.id} is stopped`, false));
    this.#starting ??= this.#start().catch((err: unknown) => {
      this.#starting = undefined;
      throw toEsError(err, this.#urls, `elasticsearch sink ${this.id}: cannot start`);
    });
    return this.#starting;
  }

  /** data_stream or index once started. */
  get mode(): ResolvedMode | undefined {
    return this.#mode;
  }

  write(batch: readonly PeregrineEvent[]): Promise<BatchResult> {
    if (this.#state !== 'running' || this.#mode === undefined) {
      this.#stats.undelivered(batch.length, false);
      return Promise.resolve(rejected(`elasticsearch sink ${this.id} is ${this.#state === 'stopped' ? 'stopped' : 'not started'}`));
    }
    if (batch.length === 0) return Promise.resolve(delivered(0));
    const options = { index: this.#config.index, mode: this.#mode, ecsOnly: this.#config.ecs_only };
    const docs: (BulkDoc | undefined)[] = [];
    const states: ItemState[] = [];
    const reasons: (string | undefined)[] = [];
    for (const event of batch) {
      const doc = encodeDoc(event, options);
      if ('error' in doc) {
        this.#stats.error('encode');
        docs.push(undefined);
        states.push('dead');
        reasons.push(doc.error);
      } else {
        docs.push(doc);
        states.push('pending');
        reasons.push(undefined);
      }
    }
    const result = new Promise<BatchResult>((settle) => {
      this.#queue.push({ events: batch, docs, states, reasons, error: undefined, settle });
    });
    this.#last = result;
    if (!this.#draining) {
      this.#draining = true;
      void this.#drain();
    }
    return result;
  }

  async flush(): Promise<void> {
    await this.#last;
  }

  /** Stop accepting batches, send the queued ones, close the client. Idempotent; safe without start(). */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /** Reachable, authenticated, cluster not red. Works before start(). */
  async healthcheck(): Promise<void> {
    const client = this.#client ?? (await createClient(this.#config));
    try {
      await checkHealth(client, this.#urls, this.#config.request_timeout_ms);
    } finally {
      if (client !== this.#client) await client.close().catch(() => undefined);
    }
  }

  stats(): ElasticsearchSinkStats {
    return {
      ...this.#stats.snapshot(),
      mode: this.#mode,
      duplicates: this.#duplicates,
      deadLettered: this.#deadLettered,
      itemRetries: this.#itemRetries,
      bulkRequests: this.#bulkRequests,
    };
  }

  async #start(): Promise<void> {
    this.#client ??= await createClient(this.#config);
    const mode = await resolveMode(this.#client, this.#config.mode, this.#config.index);
    if (this.#config.install_template) {
      await this.#client.indices.putIndexTemplate({ name: this.#config.index, ...indexTemplate(this.#config.index, mode) });
    }
    this.#mode = mode;
    if (this.#state === 'new') this.#state = 'running';
  }

  async #stop(): Promise<void> {
    this.#state = 'stopped';
    await this.#starting?.catch(() => undefined);
    await this.flush();
    const client = this.#client;
    this.#client = undefined;
    await client?.close().catch(() => undefined);
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const { bulk_max_events: perRequest, max_in_flight_requests: inFlight, flush_interval_ms: linger } = this.#config;
      const max = perRequest * inFlight;
      if (linger > 0 && queuedEvents(this.#queue) < max && this.#state === 'running') await sleep(linger);
      const unit: Pending[] = [];
      let events = 0;
      while (this.#queue.length > 0 && (unit.length === 0 || events + (this.#queue[0] as Pending).events.length <= max)) {
        const p = this.#queue.shift() as Pending;
        unit.push(p);
        events += p.events.length;
      }
      try {
        await this.#send(unit);
      } catch (err) {
        // #send answers everything itself; this is a bug guard so that no batch waits forever.
        const error = toEsError(err, this.#urls, `elasticsearch sink ${this.id}`);
        for (const p of unit) p.error ??= error;
      }
      for (const p of unit) this.#settle(p);
    }
    this.#draining = false;
  }

  /** Send a unit's documents, resending those refused with 429/5xx, until all are final or we give up. */
  async #send(unit: readonly Pending[]): Promise<void> {
    let todo: Item[] = [];
    for (const p of unit) p.docs.forEach((doc, i) => doc !== undefined && todo.push({ p, i, doc }));
    const { max_attempts, initial_backoff_ms, max_backoff_ms } = this.#config.retry;
    const { bulk_max_events: perRequest, bulk_max_bytes: maxBytes, max_in_flight_requests: inFlight } = this.#config;
    for (let attempt = 1; todo.length > 0; attempt++) {
      const again: Item[] = [];
      const size = Math.min(perRequest, Math.max(MIN_SPLIT_EVENTS, Math.ceil(todo.length / inFlight)));
      let failure: SinkError | undefined;
      // After a whole-request failure no further request is started; its documents stay pending.
      await mapLimited([...chunks(todo, size, maxBytes)], inFlight, async (chunk) => {
        if (failure === undefined) failure = await this.#bulk(chunk, again);
      });
      if (failure !== undefined) {
        for (const p of unit) p.error = failure; // only pending documents are affected by it
        return;
      }
      if (again.length === 0) return;
      if (attempt >= max_attempts || this.#client === undefined) {
        const first = again[0] as Item;
        const error = new SinkError(
          `elasticsearch sink ${this.id}: ${again.length} documents still refused after ${attempt} attempts: ${first.p.reasons[first.i] ?? ''}`,
          true,
        );
        for (const item of again) item.p.error = error;
        return;
      }
      this.#itemRetries += again.length;
      await sleep(backoffMs(attempt, initial_backoff_ms, max_backoff_ms));
      todo = again;
    }
  }

  /** One _bulk request; records each document's outcome, pushes those to resend on `again`. */
  async #bulk(chunk: readonly Item[], again: Item[]): Promise<SinkError | undefined> {
    const client = this.#client;
    if (client === undefined) return new SinkError(`elasticsearch sink ${this.id} is stopped`, true);
    const operations: string[] = [];
    for (const { doc } of chunk) operations.push(doc.action, doc.source);
    this.#bulkRequests++;
    let items: Record<string, { status?: number }>[];
    try {
      const res = await client.bulk({ operations, filter_path: 'errors,items.*.status,items.*.error' });
      items = (res.items ?? []) as Record<string, { status?: number }>[];
    } catch (err) {
      const error = toEsError(err, this.#urls, `elasticsearch sink ${this.id}: _bulk failed`);
      this.#stats.error(errorKind(err));
      return error;
    }
    chunk.forEach((item, k) => {
      const outcome = itemOutcome(items[k]);
      item.p.states[item.i] = outcome.kind;
      switch (outcome.kind) {
        case 'created':
          this.#stats.delivered(1, item.doc.sourceBytes);
          break;
        case 'duplicate':
          this.#duplicates++;
          break;
        default:
          item.p.reasons[item.i] = outcome.reason;
          this.#stats.error(`item_${outcome.status}`);
          if (outcome.kind === 'retry') again.push(item);
          break;
      }
    });
    return undefined;
  }

  /** Answer a batch with the prefix of its final documents. */
  #settle(p: Pending): void {
    let n = 0;
    while (n < p.states.length && FINAL.has(p.states[n] as ItemState)) n++;
    const dead: DeadLetter[] = [];
    for (let i = 0; i < n; i++) {
      if (p.states[i] === 'dead') dead.push({ event: p.events[i] as PeregrineEvent, reason: p.reasons[i] ?? 'refused' });
    }
    this.#deadLettered += dead.length;
    let result: BatchResult;
    if (n === p.states.length) {
      result = delivered(n);
    } else {
      const state = p.states[n];
      const error =
        state === 'failed'
          ? new SinkError(`elasticsearch sink ${this.id}: document refused: ${p.reasons[n] ?? ''}`, false)
          : (p.error ?? new SinkError(`elasticsearch sink ${this.id}: batch not sent`, true));
      this.#stats.undelivered(p.states.length - n, error.retryable);
      result = undelivered(error, n);
    }
    p.settle(dead.length > 0 ? { ...result, deadLetters: dead } : result);
  }
}

/** fn over every item, at most `limit` at a time; results in item order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}

function queuedEvents(queue: readonly Pending[]): number {
  let n = 0;
  for (const p of queue) n += p.events.length;
  return n;
}

function errorKind(err: unknown): string {
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number') return `http_${status}`;
  const name = (err as { name?: unknown }).name;
  return typeof name === 'string' ? name.replace(/Error$/, '').toLowerCase() || 'bulk' : 'bulk';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
