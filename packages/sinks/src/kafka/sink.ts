// The `kafka` sink: each event becomes one record (see encoder.ts) sent by an idempotent kafkajs producer
// with acks=all.
//
// write() encodes its batch at once and queues it. One drain loop sends the queue in call order: it waits
// up to linger_ms after the oldest queued write for more writes to join (or until batch_max_bytes are
// queued, or a flush()), then takes records up to batch_max_bytes, groups them by topic into one
// sendBatch(), and answers every batch it completed. kafkajs retries a failed request itself (retry.*),
// resending the same record batches so that the broker drops duplicates by producer sequence. When it
// gives up, the batch in flight is answered with how many of its events got through and a classified
// error (errors.ts), and so are the batches queued behind it (retryable, since nothing was wrong with
// them): resending them in order keeps each process's events in order. An event the broker refuses as it
// is (MESSAGE_TOO_LARGE for an event sent alone because it exceeds batch_max_bytes, INVALID_RECORD) is
// handed back in BatchResult.deadLetters and the rest of the write goes on. After a retryable failure the
// resent records go out as the very same request (see #inDoubt), so that a request the broker wrote but
// could not acknowledge is dropped as a duplicate instead of written twice. A watchdog answers a request
// kafkajs never finishes. write() never throws and always settles.

import { CompressionTypes, type Message, type TopicMessages } from 'kafkajs';
import { SinkError, type PeregrineEvent } from '@peregrine/events';
import type { BatchResult, DeadLetter, Sink, SinkStats } from '../component.js';
import { delivered, rejected, undelivered } from '../result.js';
import { SinkStatsCounter } from '../stats.js';
import { createKafka, kafkaClientConfig, producerConfig, type KafkaFactory, type KafkaLike, type ProducerLike } from './client.js';
import type { KafkaSinkConfig } from './config.js';
import { RecordEncoder, type KafkaRecord } from './encoder.js';
import { WatchdogError, produceError } from './errors.js';
import { kafkaFastEncoding, type FastEncodingStatus } from './fast-encoding.js';
import { checkKafka, createMissingTopics } from './health.js';
import { parseTopicTemplate, type TopicTemplate } from './topic.js';

export interface KafkaSinkStats extends SinkStats {
  /** Produce requests (sendBatch calls) that succeeded. */
  requests: number;
  /** Producers replaced after the broker dropped their idempotence state. */
  producerResets: number;
  /** Events handed back in BatchResult.deadLetters (the broker refuses them as they are). */
  deadLettered: number;
  /** Whether kafkajs encodes records with the sink's fast encoders, and why not (fast-encoding.ts). */
  fastEncoding: FastEncodingStatus;
}

export interface KafkaSinkOptions {
  id?: string;
  /** ce_source of events without node_name. */
  nodeName?: string;
  /** Builds the client; tests pass a fake. */
  kafka?: KafkaFactory;
  env?: NodeJS.ProcessEnv;
}

/** A queued write: its records, and how many of them are already delivered (or dead-lettered). */
interface Pending {
  readonly events: readonly PeregrineEvent[];
  readonly records: readonly KafkaRecord[];
  next: number;
  readonly deadLetters: DeadLetter[];
  readonly at: number;
  readonly settle: (result: BatchResult) => void;
}

/** Part of a pending write that rides in one produce request. */
interface Segment {
  readonly pending: Pending;
  readonly from: number;
  readonly to: number;
  readonly bytes: number;
}

export class KafkaSink implements Sink {
  readonly id: string;
  readonly topics: TopicTemplate;
  readonly #config: KafkaSinkConfig;
  readonly #options: KafkaSinkOptions;
  readonly #encoder: RecordEncoder;
  readonly #stats = new SinkStatsCounter();
  #requests = 0;
  #resets = 0;
  #deadLettered = 0;

  #state: 'new' | 'running' | 'stopped' = 'new';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #kafka: KafkaLike | undefined;
  #producer: ProducerLike | undefined;
  #connecting: Promise<ProducerLike> | undefined;

  readonly #queue: Pending[] = [];
  #queuedBytes = 0;
  #draining = false;
  #last: Promise<unknown> = Promise.resolve();
  #urgent = 0;
  #wake: (() => void) | undefined;
  /**
   * The records (topic and ce_id) of the last request that failed retryably. The broker may have written
   * it even so (the answer was lost). kafkajs rolled the producer's sequence numbers back, so the next
   * request must be exactly this one again: then the broker recognises it by sequence and drops it if it
   * has it already. Any other request would be refused (OUT_OF_ORDER_SEQUENCE_NUMBER), forcing a new
   * producer and duplicating the request. So when the caller resends these records first, as it should,
   * they go out as the same request.
   */
  #inDoubt: string[] | undefined;

  constructor(config: KafkaSinkConfig, options: KafkaSinkOptions = {}) {
    this.id = options.id ?? 'kafka';
    this.#config = config;
    this.#options = options;
    this.topics = parseTopicTemplate(config.topic);
    this.#encoder = new RecordEncoder(this.topics, { headers: config.headers, ...(options.nodeName !== undefined ? { nodeName: options.nodeName } : {}) });
  }

  /** Build the client (reading TLS files and the SASL secret), create missing topics if configured, connect. */
  start(): Promise<void> {
    this.#starting ??= this.#start().catch((err: unknown) => {
      this.#starting = undefined;
      throw err instanceof SinkError ? err : produceError(err, `kafka sink ${this.id}: cannot connect to ${this.#brokers()}`).error;
    });
    return this.#starting;
  }

  write(batch: readonly PeregrineEvent[]): Promise<BatchResult> {
    if (this.#state !== 'running') {
      this.#stats.undelivered(batch.length, false);
      return Promise.resolve(rejected(`kafka sink ${this.id} is ${this.#state === 'new' ? 'not started' : 'stopped'}`));
    }
    if (batch.length === 0) return Promise.resolve(delivered(0));
    const records: KafkaRecord[] = [];
    try {
      for (const event of batch) records.push(this.#encoder.encode(event));
    } catch (err) {
      this.#stats.error('encode');
      this.#stats.undelivered(batch.length, false);
      return Promise.resolve(rejected(`kafka sink ${this.id}: cannot encode event ${records.length} of the batch`, err));
    }
    const result = new Promise<BatchResult>((settle) => {
      this.#queue.push({ events: batch, records, next: 0, deadLetters: [], at: Date.now(), settle });
    });
    for (const r of records) this.#queuedBytes += r.bytes;
    this.#last = result;
    if (!this.#draining) {
      this.#draining = true;
      void this.#drain();
    } else if (this.#queuedBytes >= this.#config.batch_max_bytes) {
      this.#wake?.();
    }
    return result;
  }

  /** Send what is queued without waiting for linger_ms; resolves when every earlier write has settled. */
  async flush(): Promise<void> {
    this.#urgent++;
    this.#wake?.();
    try {
      await this.#last;
    } finally {
      this.#urgent--;
    }
  }

  /** Stop accepting writes, send the queued ones, disconnect. Idempotent; safe without start(). */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /**
   * Connect to the brokers with a short retry budget and check that every topic the template renders
   * exists (or will be created) and has a leader for every partition. Rejects with a SinkError naming
   * the brokers, the topic or the authentication problem.
   */
  async healthcheck(): Promise<void> {
    const config = await kafkaClientConfig(this.#config, this.id, this.#options.env);
    await checkKafka((this.#options.kafka ?? createKafka)({ ...config, retry: { ...config.retry, retries: 1 } }), this.#config, this.topics.topics, this.id);
  }

  stats(): KafkaSinkStats {
    return { ...this.#stats.snapshot(), requests: this.#requests, producerResets: this.#resets, deadLettered: this.#deadLettered, fastEncoding: kafkaFastEncoding() };
  }

  #brokers(): string {
    return this.#config.brokers.join(',');
  }

  async #start(): Promise<void> {
    if (this.#state === 'stopped') throw new SinkError(`kafka sink ${this.id} is stopped`, false);
    if (this.#kafka === undefined) {
      const config = await kafkaClientConfig(this.#config, this.id, this.#options.env);
      this.#kafka = (this.#options.kafka ?? createKafka)(config);
    }
    if (this.#config.create_topics.enabled) await createMissingTopics(this.#kafka, this.#config, this.topics.topics);
    await this.#connect();
    if (this.#state === 'new') this.#state = 'running';
  }

  async #stop(): Promise<void> {
    this.#state = 'stopped';
    await this.#starting?.catch(() => undefined);
    await this.flush();
    await this.#connecting?.catch(() => undefined);
    const producer = this.#producer;
    this.#producer = undefined;
    await producer?.disconnect().catch(() => this.#stats.error('disconnect'));
  }

  /** The connected producer; a new one after a reset or a failed connect. */
  #connect(): Promise<ProducerLike> {
    if (this.#producer !== undefined) return Promise.resolve(this.#producer);
    this.#connecting ??= (async () => {
      const producer = (this.#kafka as KafkaLike).producer(producerConfig(this.#config));
      try {
        await producer.connect();
      } catch (err) {
        await producer.disconnect().catch(() => undefined);
        throw err;
      }
      this.#producer = producer;
      return producer;
    })().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #resetProducer(): Promise<void> {
    const producer = this.#producer;
    this.#producer = undefined;
    this.#resets++;
    await producer?.disconnect().catch(() => undefined);
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      try {
        await this.#linger();
        await this.#send(this.#take());
      } catch (err) {
        // A bug must not leave writes waiting forever: answer them and start over with a new producer.
        this.#stats.error('internal');
        const error = new SinkError(`kafka sink ${this.id}: internal error: ${(err as Error)?.message ?? String(err)}`, true, { cause: err });
        await this.#resetProducer().catch(() => undefined);
        this.#failQueue(error, error);
      }
    }
    this.#draining = false;
  }

  /** Wait until the oldest write has lingered linger_ms, batch_max_bytes are queued, or someone flushes. */
  async #linger(): Promise<void> {
    for (;;) {
      const head = this.#queue[0];
      // A write already partly sent has nothing left to wait for.
      if (head === undefined || head.next > 0 || this.#urgent > 0 || this.#state === 'stopped' || this.#queuedBytes >= this.#config.batch_max_bytes) return;
      const wait = head.at + this.#config.linger_ms - Date.now();
      if (wait <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /**
   * Records from the head of the queue up to batch_max_bytes (at least one); after a retryable failure,
   * the failed request's records again, if the caller resent them (see #inDoubt).
   */
  #take(): Segment[] {
    const doubt = this.#inDoubt;
    this.#inDoubt = undefined;
    const max = this.#config.batch_max_bytes;
    const segments: Segment[] = [];
    let total = 0;
    let n = 0;
    const same = doubt !== undefined && this.#resent(doubt);
    if (doubt !== undefined && !same) this.#stats.error('retry_changed');
    for (const pending of this.#queue) {
      let to = pending.next;
      let bytes = 0;
      while (to < pending.records.length) {
        const size = (pending.records[to] as KafkaRecord).bytes;
        if (same ? n === doubt.length : total + bytes + size > max && (total > 0 || bytes > 0)) break;
        bytes += size;
        to++;
        n++;
      }
      if (to > pending.next) segments.push({ pending, from: pending.next, to, bytes });
      total += bytes;
      if (to < pending.records.length) break;
    }
    return segments;
  }

  /** Whether the queue starts with the records of the request in doubt, in the same order. */
  #resent(doubt: readonly string[]): boolean {
    let i = 0;
    for (const pending of this.#queue) {
      for (let j = pending.next; j < pending.records.length && i < doubt.length; j++, i++) {
        if (recordId(pending.records[j] as KafkaRecord) !== doubt[i]) return false;
      }
      if (i === doubt.length) return true;
    }
    return false;
  }

  async #send(segments: Segment[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const { pending, from, to } of segments) {
      for (let i = from; i < to; i++) {
        const r = pending.records[i] as KafkaRecord;
        let messages = byTopic.get(r.topic);
        if (messages === undefined) byTopic.set(r.topic, (messages = []));
        messages.push({ key: r.key, value: r.value, headers: r.headers });
      }
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    try {
      const producer = await this.#connect();
      await this.#watchdog(
        producer.sendBatch({
          topicMessages,
          acks: -1,
          timeout: this.#config.request_timeout_ms,
          compression: this.#config.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
        }),
      );
    } catch (err) {
      await this.#fail(err, segments, [...byTopic.keys()]);
      return;
    }
    this.#requests++;
    for (const { pending, to, bytes } of segments) {
      this.#stats.delivered(to - pending.next, bytes);
      this.#queuedBytes -= bytes;
      pending.next = to;
      if (to === pending.records.length) this.#settleHead();
    }
  }

  /** The head write is through: answer it delivered, with its dead letters if any. */
  #settleHead(): void {
    const pending = this.#queue.shift() as Pending;
    const result = delivered(pending.records.length);
    pending.settle(pending.deadLetters.length > 0 ? { ...result, deadLetters: pending.deadLetters } : result);
  }

  /**
   * kafkajs bounds a request by its own timeouts and retries; should it still never answer, give up after
   * all of them could have run out, so that write() always settles. The request's fate is then unknown:
   * the producer is replaced (its sequence numbers cannot be trusted) and the batch answered retryable.
   */
  #watchdog<T>(request: Promise<T>): Promise<T> {
    const c = this.#config;
    const attempts = c.retry.max_retries + 1;
    const ms = attempts * (c.request_timeout_ms + c.connection_timeout_ms) + c.retry.max_retries * c.retry.max_backoff_ms + 5_000;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new WatchdogError(`no answer from kafkajs after ${ms} ms`)), ms);
    });
    return Promise.race([request, expired]).finally(() => clearTimeout(timer));
  }

  /**
   * Answer the writes in the failed request with the classified error, and those queued behind it with a
   * retryable one: their order must be kept, and nothing was wrong with them.
   */
  async #fail(err: unknown, segments: readonly Segment[], topics: string[]): Promise<void> {
    const { error, failure } = produceError(err, `kafka sink ${this.id}: cannot send to ${topics.join(', ')}`, {
      createTopics: this.#config.create_topics.enabled,
      topics,
    });
    this.#stats.error(failure.type);
    if (failure.resetProducer) await this.#resetProducer();
    else if (error.retryable) this.#inDoubt = segments.flatMap(({ pending, from, to }) => pending.records.slice(from, to).map(recordId));
    const only = segments.length === 1 && segments[0] !== undefined && segments[0].to - segments[0].from === 1 ? segments[0] : undefined;
    if (failure.recordRefused && only !== undefined) {
      // The broker refuses this one event as it is (too large, invalid): hand it back as a dead letter and go on.
      const { pending, from, bytes } = only;
      pending.deadLetters.push({ event: pending.events[from] as PeregrineEvent, reason: error.message });
      this.#deadLettered++;
      this.#queuedBytes -= bytes;
      pending.next = from + 1;
      if (pending.next === pending.records.length) this.#settleHead();
      return;
    }
    const behind = new SinkError(`kafka sink ${this.id}: not sent because an earlier batch failed: ${error.message}`, true, { cause: error });
    this.#failQueue(error, behind, new Set(segments.map((s) => s.pending)));
  }

  /** Answer every queued write: `error` for those in the failed request, `behind` for the others. */
  #failQueue(error: SinkError, behind: SinkError, inRequest: ReadonlySet<Pending> = new Set()): void {
    for (const pending of this.#queue.splice(0)) {
      const e = inRequest.has(pending) ? error : behind;
      this.#stats.undelivered(pending.records.length - pending.next, e.retryable);
      pending.settle(undelivered(e, pending.next));
    }
    this.#queuedBytes = 0;
  }
}

/** What identifies a record across a resend: its topic and ce_id. */
function recordId(r: KafkaRecord): string {
  return `${r.topic}\0${r.headers.ce_id}`;
}
