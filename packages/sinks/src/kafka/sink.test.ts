// The sink's queueing, splitting, coalescing and failure answers, against a fake kafkajs client. The
// real broker is exercised by test/integration/kafka.test.ts.

import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { AdminConfig, KafkaConfig, ProducerBatch, ProducerConfig } from 'kafkajs';
import { SinkError, type PeregrineEvent } from '@peregrine/events';
import { execEvent, exitEvent } from '../testdata/events.js';
import type { AdminLike, KafkaLike, ProducerLike } from './client.js';
import { kafkaSinkSchema } from './config.js';
import { KafkaSink } from './sink.js';
import { javaCompatiblePartitioner } from './partitioner.js';

const require = createRequire(import.meta.url);
const kerrors = require('kafkajs/src/errors') as Record<string, new (...args: unknown[]) => Error>;
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode: (code: number) => unknown };
const protocolError = (code: number): Error => new kerrors.KafkaJSProtocolError!(createErrorFromCode(code));
const exhausted = (e: Error): Error => new kerrors.KafkaJSNumberOfRetriesExceeded!(e, { retryCount: 5, retryTime: 100 });
/** What sendBatch() rejects with when the retrier bails on a non-retriable error. */
const bailed = (e: Error): Error => new kerrors.KafkaJSNonRetriableError!(e, { cause: e });
const connectionDown = (): Error => exhausted(new kerrors.KafkaJSConnectionError!('Connection error: connect ECONNREFUSED 127.0.0.1:9092', { code: 'ECONNREFUSED' }));

type Step = Error | undefined | (() => Promise<void>);

class FakeProducer implements ProducerLike {
  connected = false;
  disconnects = 0;
  readonly batches: ProducerBatch[] = [];
  constructor(
    readonly fake: FakeKafka,
    readonly config: ProducerConfig,
  ) {}
  async connect(): Promise<void> {
    const e = this.fake.connectFailures.shift();
    if (e !== undefined) throw e;
    this.connected = true;
  }
  async disconnect(): Promise<void> {
    this.connected = false;
    this.disconnects++;
  }
  sendBatch = async (batch: ProducerBatch): Promise<never[]> => {
    if (!this.connected) throw new kerrors.KafkaJSError!('The producer is disconnected');
    const step = this.fake.script.shift();
    if (typeof step === 'function') await step();
    else if (step !== undefined) throw step;
    this.batches.push(batch);
    this.fake.sent.push(batch);
    return [];
  };
}

class FakeAdmin implements AdminLike {
  constructor(readonly fake: FakeKafka) {}
  connect = async (): Promise<void> => {
    if (this.fake.adminConnectError !== undefined) throw this.fake.adminConnectError;
  };
  disconnect = async (): Promise<void> => undefined;
  listTopics = async (): Promise<string[]> => [...this.fake.topics.keys()];
  fetchTopicMetadata = async ({ topics }: { topics: string[] } = { topics: [] }) => ({
    topics: topics.map((name) => ({
      name,
      partitions: Array.from({ length: this.fake.topics.get(name) ?? 0 }, (_, i) => ({
        partitionErrorCode: 0,
        partitionId: i,
        leader: this.fake.leaderless.has(`${name}/${i}`) ? -1 : 1,
        replicas: [1],
        isr: [1],
      })),
    })),
  });
  createTopics = async ({ topics }: { topics: { topic: string; numPartitions?: number }[] }): Promise<boolean> => {
    this.fake.created.push(...topics);
    for (const t of topics) this.fake.topics.set(t.topic, t.numPartitions === undefined || t.numPartitions < 0 ? 1 : t.numPartitions);
    return true;
  };
}

class FakeKafka implements KafkaLike {
  readonly producers: FakeProducer[] = [];
  readonly sent: ProducerBatch[] = [];
  readonly script: Step[] = [];
  readonly connectFailures: Error[] = [];
  readonly topics = new Map<string, number>();
  readonly leaderless = new Set<string>();
  readonly created: { topic: string; numPartitions?: number }[] = [];
  adminConnectError: Error | undefined;
  clientConfigs: KafkaConfig[] = [];
  producer(config: ProducerConfig): FakeProducer {
    const p = new FakeProducer(this, config);
    this.producers.push(p);
    return p;
  }
  admin(_config?: AdminConfig): FakeAdmin {
    return new FakeAdmin(this);
  }
  /** Every message sent, in order, with its topic. */
  messages(): { topic: string; key: string; value: string; headers: Record<string, string> }[] {
    return this.sent.flatMap((b) =>
      (b.topicMessages ?? []).flatMap((tm) =>
        tm.messages.map((m) => ({ topic: tm.topic, key: String(m.key), value: String(m.value), headers: m.headers as Record<string, string> })),
      ),
    );
  }
}

function setup(over: Record<string, unknown> = {}): { fake: FakeKafka; sink: KafkaSink } {
  const fake = new FakeKafka();
  const config = kafkaSinkSchema.parse({ linger_ms: 0, ...over });
  const sink = new KafkaSink(config, {
    id: 'k',
    nodeName: 'n1',
    kafka: (cfg) => {
      fake.clientConfigs.push(cfg);
      return fake;
    },
    env: { KAFKA_PW: 'from-env' },
  });
  return { fake, sink };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const execs = (from: number, to: number): PeregrineEvent[] => range(from, to).map((i) => execEvent(i));
const pids = (fake: FakeKafka): number[] => fake.messages().map((m) => (JSON.parse(m.value) as { process_exec: { process: { pid: number } } }).process_exec.process.pid);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('kafka sink lifecycle', () => {
  it('rejects writes before start and after stop; stop is idempotent and safe without start', async () => {
    const { fake, sink } = setup();
    expect(await sink.write(execs(0, 2))).toMatchObject({ status: 'rejected', delivered: 0, error: expect.objectContaining({ message: 'kafka sink k is not started' }) });
    await sink.stop();
    await sink.stop();
    expect(await sink.write(execs(0, 1))).toMatchObject({ status: 'rejected', error: expect.objectContaining({ message: 'kafka sink k is stopped' }) });
    await expect(sink.start()).rejects.toThrow(/stopped/);
    expect(fake.producers).toHaveLength(0);
    expect(sink.stats()).toMatchObject({ sent: 0, failed: 3, retried: 0 });
  });

  it('configures kafkajs: acks all, idempotent, no topic auto-creation, bounded retries', async () => {
    const { fake, sink } = setup({ client_id: 'agent-7', compression: 'gzip', request_timeout_ms: 5000, retry: { max_retries: 3 } });
    await sink.start();
    await sink.start();
    expect(fake.producers).toHaveLength(1);
    expect(fake.producers[0]?.config).toEqual({
      allowAutoTopicCreation: false,
      createPartitioner: javaCompatiblePartitioner,
      idempotent: true,
      maxInFlightRequests: 5,
      retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 30_000 },
    });
    expect(fake.clientConfigs[0]).toMatchObject({ brokers: ['127.0.0.1:9092'], clientId: 'agent-7', requestTimeout: 5000, enforceRequestTimeout: true });
    expect(fake.clientConfigs[0]?.ssl).toBeUndefined();
    expect(fake.clientConfigs[0]?.sasl).toBeUndefined();
    await sink.write(execs(0, 1));
    expect(fake.sent[0]).toMatchObject({ acks: -1, timeout: 5000, compression: 1 });
    await sink.stop();
    expect(fake.producers[0]?.disconnects).toBe(1);
  });

  it('passes SASL with the password from the environment, a file or inline', async () => {
    const { fake, sink } = setup({ sasl: { enabled: true, mechanism: 'scram-sha-256', username: 'agent', password_env: 'KAFKA_PW' } });
    await sink.start();
    expect(fake.clientConfigs[0]?.sasl).toEqual({ mechanism: 'scram-sha-256', username: 'agent', password: 'from-env' });
    const missing = setup({ sasl: { enabled: true, username: 'agent', password_env: 'NOT_SET' } });
    await expect(missing.sink.start()).rejects.toThrow(/NOT_SET is not set/);
    const file = setup({ sasl: { enabled: true, username: 'agent', password_file: '/nonexistent/secret' } });
    await expect(file.sink.start()).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/cannot read sasl.password_file \/nonexistent\/secret/) });
  });

  it('rejects start with a retryable SinkError when the brokers are down, and can start later', async () => {
    const { fake, sink } = setup();
    fake.connectFailures.push(connectionDown());
    const err = await sink.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect(err).toMatchObject({ retryable: true, message: expect.stringMatching(/cannot connect to 127\.0\.0\.1:9092.*ECONNREFUSED/) });
    await sink.start();
    expect(await sink.write(execs(0, 1))).toEqual({ status: 'delivered', delivered: 1 });
  });

  it('creates missing topics at start only when asked', async () => {
    const off = setup({ topic: 'peregrine.{event_type}' });
    await off.sink.start();
    expect(off.fake.created).toEqual([]);
    const on = setup({ topic: 'peregrine.{event_type}', create_topics: { enabled: true, num_partitions: 6, replication_factor: 3 } });
    on.fake.topics.set('peregrine.process_exec', 3);
    await on.sink.start();
    expect(on.fake.created.map((t) => t.topic)).toEqual(['peregrine.process_exit', 'peregrine.process_kprobe', 'peregrine.process_lsm', 'peregrine.process_tracepoint']);
    expect(on.fake.created[0]).toEqual({ topic: 'peregrine.process_exit', numPartitions: 6, replicationFactor: 3 });
    expect(on.fake.producers[0]?.config.allowAutoTopicCreation).toBe(true);
  });
});

describe('kafka sink writes', () => {
  it('sends key = exec_id, value = the JSON line, CloudEvents headers, in call order', async () => {
    const { fake, sink } = setup({ headers: { cluster: 'eu-1' } });
    await sink.start();
    const batches = [execs(0, 3), [exitEvent(3)], execs(4, 10)];
    expect(await Promise.all(batches.map((b) => sink.write(b)))).toEqual([
      { status: 'delivered', delivered: 3 },
      { status: 'delivered', delivered: 1 },
      { status: 'delivered', delivered: 6 },
    ]);
    const msgs = fake.messages();
    expect(msgs.map((m) => m.value)).toEqual(batches.flat().map((e) => JSON.stringify(e)));
    expect(msgs[3]).toMatchObject({
      topic: 'peregrine.events',
      key: exitEvent(3).process_exit.process.exec_id,
      headers: { cluster: 'eu-1', ce_type: 'io.peregrine.process_exit', ce_source: 'peregrine://worker-1.example.internal', 'content-type': 'application/json' },
    });
    const s = sink.stats();
    expect(s).toMatchObject({ sent: 10, failed: 0, retried: 0, errors: {} });
    expect(s.bytes).toBeGreaterThan(msgs.reduce((n, m) => n + m.value.length, 0));
  });

  it('groups one write’s events by topic into one sendBatch', async () => {
    const { fake, sink } = setup({ topic: 'peregrine.{event_type}' });
    await sink.start();
    await sink.write([execEvent(1), exitEvent(1), execEvent(2), exitEvent(2)]);
    expect(fake.sent).toHaveLength(1);
    expect(fake.sent[0]?.topicMessages?.map((t) => [t.topic, t.messages.length])).toEqual([
      ['peregrine.process_exec', 2],
      ['peregrine.process_exit', 2],
    ]);
  });

  it('splits a large write into requests of at most batch_max_bytes, sending an oversized event alone', async () => {
    const { fake, sink } = setup({ batch_max_bytes: 8 * 1024 });
    await sink.start();
    const events = execs(0, 50);
    events.splice(20, 0, execEvent(1000, { arguments: 'x'.repeat(20_000) }));
    expect(await sink.write(events)).toEqual({ status: 'delivered', delivered: 51 });
    expect(fake.sent.length).toBeGreaterThan(5);
    for (const b of fake.sent) {
      const msgs = b.topicMessages?.[0]?.messages ?? [];
      const bytes = msgs.reduce((n, m) => n + String(m.value).length, 0);
      expect(msgs.length === 1 || bytes <= 8 * 1024).toBe(true);
    }
    expect(fake.sent.some((b) => b.topicMessages?.[0]?.messages.length === 1 && String(b.topicMessages[0].messages[0]?.value).length > 20_000)).toBe(true);
    expect(pids(fake)).toEqual(events.map((e) => (e as ReturnType<typeof execEvent>).process_exec.process.pid));
    expect(sink.stats()).toMatchObject({ sent: 51, requests: fake.sent.length });
  });

  it('coalesces writes made within linger_ms into one request; flush() does not wait', async () => {
    const { fake, sink } = setup({ linger_ms: 1000 });
    await sink.start();
    const results = [sink.write(execs(0, 2)), sink.write(execs(2, 4)), sink.write(execs(4, 5))];
    await sleep(10);
    expect(fake.sent).toHaveLength(0);
    await Promise.all(results);
    expect(fake.sent).toHaveLength(1);
    expect(pids(fake)).toEqual(range(0, 5));
    const t0 = Date.now();
    const r = sink.write(execs(5, 6));
    await sink.flush();
    expect(Date.now() - t0).toBeLessThan(500) // well under linger_ms: flush() sent at once;
    expect(await r).toEqual({ status: 'delivered', delivered: 1 });
  });

  it('sends at once when batch_max_bytes are queued, without waiting for linger_ms', async () => {
    const { fake, sink } = setup({ linger_ms: 10_000, batch_max_bytes: 4096 });
    await sink.start();
    const t0 = Date.now();
    expect(await sink.write(execs(0, 20))).toEqual({ status: 'delivered', delivered: 20 });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(fake.sent.length).toBeGreaterThan(1);
  });

  it('keeps writes made during a request for the next one', async () => {
    const { fake, sink } = setup();
    await sink.start();
    let release!: () => void;
    fake.script.push(() => new Promise<void>((r) => (release = r)));
    const first = sink.write(execs(0, 1));
    await sleep(5);
    const more = [sink.write(execs(1, 2)), sink.write(execs(2, 3))];
    release();
    await Promise.all([first, ...more]);
    expect(fake.sent.map((b) => b.topicMessages?.[0]?.messages.length)).toEqual([1, 2]);
  });

  it('rejects a batch with an event it cannot encode, sending nothing of it', async () => {
    const { fake, sink } = setup();
    await sink.start();
    const bad = { ...execEvent(1), extra: 1n } as unknown as PeregrineEvent;
    expect(await sink.write([execEvent(0), bad])).toMatchObject({ status: 'rejected', delivered: 0, error: expect.objectContaining({ message: expect.stringMatching(/cannot encode event 1/) }) });
    expect(fake.sent).toHaveLength(0);
    expect(sink.stats()).toMatchObject({ failed: 2, retried: 0, errors: { encode: 1 } });
  });

  it('stop() sends what is queued, without waiting for linger_ms', async () => {
    const { fake, sink } = setup({ linger_ms: 10_000 });
    await sink.start();
    const r = sink.write(execs(0, 3));
    const t0 = Date.now();
    await sink.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await r).toEqual({ status: 'delivered', delivered: 3 });
    expect(fake.messages()).toHaveLength(3);
  });
});

describe('kafka sink failures', () => {
  it('answers retryable with the delivered prefix when the brokers go away, and those queued behind too', async () => {
    const { fake, sink } = setup({ batch_max_bytes: 4096 });
    await sink.start();
    fake.script.push(undefined, connectionDown());
    const [a, b] = await Promise.all([sink.write(execs(0, 10)), sink.write(execs(10, 12))]);
    const first = fake.sent[0]?.topicMessages?.[0]?.messages.length ?? 0;
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(10);
    expect(a).toMatchObject({ status: 'retryable', delivered: first, error: expect.objectContaining({ retryable: true, message: expect.stringMatching(/ECONNREFUSED/) }) });
    expect(b).toMatchObject({ status: 'retryable', delivered: 0, error: expect.objectContaining({ message: expect.stringMatching(/earlier batch failed/) }) });
    expect(sink.stats()).toMatchObject({ sent: first, failed: 12 - first, retried: 12 - first, errors: { ECONNREFUSED: 1 } });
    // The caller resends the rest, in order, once the broker is back.
    expect(await sink.write(execs(first, 10))).toEqual({ status: 'delivered', delivered: 10 - first });
    expect(await sink.write(execs(10, 12))).toEqual({ status: 'delivered', delivered: 2 });
    expect(pids(fake)).toEqual(range(0, 12));
  });

  it('resends the records of a failed request as the same request, so the broker can deduplicate them', async () => {
    const { fake, sink } = setup({ linger_ms: 20 });
    await sink.start();
    fake.script.push(connectionDown());
    const failed = await Promise.all([sink.write(execs(0, 3)), sink.write(execs(3, 5))]);
    expect(failed.map((r) => r.status)).toEqual(['retryable', 'retryable']);
    // The caller resends everything in one write, with more events behind: the first request is the failed one again.
    expect(await sink.write(execs(0, 9))).toEqual({ status: 'delivered', delivered: 9 });
    expect(fake.sent.map((b) => b.topicMessages?.[0]?.messages.length)).toEqual([5, 4]);
    expect(pids(fake)).toEqual(range(0, 9));
    expect(sink.stats().errors).toEqual({ ECONNREFUSED: 1 });
  });

  it('counts a resend that does not repeat the failed request', async () => {
    const { fake, sink } = setup();
    await sink.start();
    fake.script.push(connectionDown());
    await sink.write(execs(0, 3));
    expect(await sink.write(execs(1, 3))).toEqual({ status: 'delivered', delivered: 2 });
    expect(sink.stats().errors).toEqual({ ECONNREFUSED: 1, retry_changed: 1 });
  });

  it('answers retryable and replaces the producer when kafkajs never answers', async () => {
    const { fake, sink } = setup({ request_timeout_ms: 10, connection_timeout_ms: 10, retry: { max_retries: 1, initial_backoff_ms: 1, max_backoff_ms: 1 } });
    await sink.start();
    fake.script.push(() => new Promise<void>(() => undefined));
    const t0 = Date.now();
    expect(await sink.write(execs(0, 2))).toMatchObject({ status: 'retryable', delivered: 0, error: expect.objectContaining({ message: expect.stringMatching(/watchdog: no answer from kafkajs/) }) });
    expect(Date.now() - t0).toBeLessThan(6_000);
    expect(await sink.write(execs(0, 2))).toEqual({ status: 'delivered', delivered: 2 });
    expect(sink.stats()).toMatchObject({ producerResets: 1, errors: { watchdog: 1 } });
  }, 10_000);

  it('hands back an event the broker refuses as a dead letter, and sends the rest', async () => {
    const { fake, sink } = setup({ batch_max_bytes: 2048 });
    await sink.start();
    const big = execEvent(1, { arguments: 'x'.repeat(5000) });
    fake.script.push(undefined, protocolError(10));
    const r = await sink.write([execEvent(0), big, execEvent(2)]);
    expect(r).toEqual({ status: 'delivered', delivered: 3, deadLetters: [{ event: big, reason: expect.stringMatching(/MESSAGE_TOO_LARGE/) }] });
    expect(pids(fake)).toEqual([0, 2]);
    expect(sink.stats()).toMatchObject({ sent: 2, failed: 0, deadLettered: 1, errors: { MESSAGE_TOO_LARGE: 1 } });
  });

  it('rejects a request of several events the broker finds too large (batch_max_bytes above its limit)', async () => {
    const { fake, sink } = setup();
    await sink.start();
    let release!: () => void;
    fake.script.push(() => new Promise<void>((r) => (release = r)), protocolError(10));
    const first = sink.write(execs(0, 1));
    await sleep(5);
    const tooBig = sink.write(execs(1, 4));
    await sleep(5);
    release();
    await first;
    expect(await tooBig).toMatchObject({ status: 'rejected', delivered: 0, error: expect.objectContaining({ message: expect.stringMatching(/MESSAGE_TOO_LARGE.*lower batch_max_bytes/) }) });
    expect(await sink.write(execs(4, 5))).toEqual({ status: 'delivered', delivered: 1 });
    expect(sink.stats()).toMatchObject({ sent: 2, failed: 3, retried: 0, deadLettered: 0, errors: { MESSAGE_TOO_LARGE: 1 } });
  });

  it('rejects writes to a missing topic when topics are not created', async () => {
    const { fake, sink } = setup({ topic: 'peregrine.{event_type}' });
    await sink.start();
    fake.script.push(exhausted(protocolError(3)));
    expect(await sink.write([execEvent(1)])).toMatchObject({
      status: 'rejected',
      error: expect.objectContaining({ message: expect.stringMatching(/topic peregrine\.process_exec does not exist and create_topics\.enabled is false/) }),
    });
  });

  it('starts a new producer when the broker lost its idempotence state', async () => {
    const { fake, sink } = setup();
    await sink.start();
    fake.script.push(bailed(protocolError(45)));
    expect(await sink.write(execs(0, 2))).toMatchObject({ status: 'retryable', delivered: 0 });
    expect(fake.producers[0]?.disconnects).toBe(1);
    expect(await sink.write(execs(0, 2))).toEqual({ status: 'delivered', delivered: 2 });
    expect(fake.producers).toHaveLength(2);
    expect(sink.stats()).toMatchObject({ sent: 2, producerResets: 1, errors: { OUT_OF_ORDER_SEQUENCE_NUMBER: 1 } });
  });

  it('reconnects a lost producer on the next write; a failed reconnect is retryable', async () => {
    const { fake, sink } = setup();
    await sink.start();
    fake.script.push(bailed(protocolError(59)));
    await sink.write(execs(0, 1));
    fake.connectFailures.push(connectionDown());
    expect(await sink.write(execs(0, 1))).toMatchObject({ status: 'retryable', delivered: 0 });
    expect(await sink.write(execs(0, 1))).toEqual({ status: 'delivered', delivered: 1 });
  });
});

describe('kafka sink healthcheck', () => {
  it('passes when every rendered topic exists with leaders', async () => {
    const { fake, sink } = setup({ topic: 'peregrine.{event_type}' });
    for (const t of sink.topics.topics) fake.topics.set(t, 3);
    await sink.healthcheck();
  });

  it('names a missing topic', async () => {
    const { fake, sink } = setup({ topic: 'peregrine.{event_type}' });
    for (const t of sink.topics.topics) fake.topics.set(t, 1);
    fake.topics.delete('peregrine.process_exec');
    await expect(sink.healthcheck()).rejects.toThrow(/topic peregrine\.process_exec does not exist and create_topics\.enabled is false \(brokers 127\.0\.0\.1:9092;/);
  });

  it('accepts missing topics that start() will create', async () => {
    const { sink } = setup({ create_topics: { enabled: true } });
    await sink.healthcheck();
  });

  it('names partitions without a leader', async () => {
    const { fake, sink } = setup();
    fake.topics.set('peregrine.events', 3);
    fake.leaderless.add('peregrine.events/2');
    await expect(sink.healthcheck()).rejects.toThrow(/topic peregrine\.events has no leader for partition 2/);
  });

  it('names the brokers it cannot reach, and the user it cannot authenticate', async () => {
    const down = setup({ brokers: ['kafka-a:9092', 'kafka-b:9092'] });
    down.fake.adminConnectError = connectionDown();
    await expect(down.sink.healthcheck()).rejects.toMatchObject({ retryable: true, message: expect.stringMatching(/cannot reach brokers kafka-a:9092,kafka-b:9092 \(ECONNREFUSED\)/) });
    const auth = setup({ sasl: { enabled: true, username: 'agent', password: 'wrong' } });
    auth.fake.adminConnectError = new kerrors.KafkaJSSASLAuthenticationError!('SASL SCRAM SHA512 authentication failed: invalid credentials');
    await expect(auth.sink.healthcheck()).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/authentication as "agent" \(scram-sha-512\) refused/) });
  });
});
