// Options of the `kafka` sink: one record per event (the file sink's JSON line), keyed by exec_id, with
// CloudEvents binary-mode headers, written by an idempotent kafkajs producer with acks=all.

import { z } from 'zod';
import { parseTopicTemplate } from './topic.js';

const SECRET_SOURCES = ['password', 'password_file', 'password_env'] as const;

/** Headers the sink sets itself; `headers` may not override them. */
export const RESERVED_HEADERS = ['ce_specversion', 'ce_type', 'ce_source', 'ce_id', 'ce_time', 'content-type', 'schema_version'] as const;

/** The documented defaults; the schema fills in the same values. */
export const KAFKA_SINK_DEFAULTS = {
  brokers: ['127.0.0.1:9092'],
  topic: 'peregrine.events',
  client_id: 'peregrine',
  compression: 'none',
  acks: 'all',
  idempotent: true,
  batch_max_bytes: 1_000_000,
  linger_ms: 5,
  request_timeout_ms: 30_000,
  connection_timeout_ms: 3_000,
  max_in_flight_requests: 5,
  retry: { max_retries: 5, initial_backoff_ms: 300, max_backoff_ms: 30_000 },
  tls: { enabled: false, reject_unauthorized: true },
  sasl: { enabled: false, mechanism: 'scram-sha-512', username: '' },
  create_topics: { enabled: false, num_partitions: -1, replication_factor: -1 },
  headers: {},
  log_level: 'error',
} as const;

// kafkajs splits a broker on ':' (connectionPoolBuilder), so an IPv6 literal cannot be a seed broker.
const BROKER = /^([A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?):([0-9]{1,5})$/;

const broker = z.string().superRefine((s, ctx) => {
  const m = BROKER.exec(s);
  if (m === null) {
    const hint = s.includes('[') || (s.match(/:/g)?.length ?? 0) > 1 ? ' (kafkajs cannot take IPv6 literals: use a host name)' : '';
    ctx.addIssue({ code: 'custom', message: `"${s}" is not host:port${hint}` });
  } else if (Number(m[3]) < 1 || Number(m[3]) > 65535) {
    ctx.addIssue({ code: 'custom', message: `port of "${s}" is not in 1..65535` });
  }
});

const topic = z
  .string()
  .superRefine((s, ctx) => {
    for (const message of parseTopicTemplate(s).errors) ctx.addIssue({ code: 'custom', message });
  })
  .describe(
    'Topic of every event, or a template: {event_type} is replaced by the event type (peregrine.{event_type} → peregrine.process_exec). ' +
      'Every name it can render must match [a-zA-Z0-9._-]{1,249}.',
  );

const tls = z
  .strictObject({
    enabled: z.boolean().default(KAFKA_SINK_DEFAULTS.tls.enabled).describe('Connect with TLS.'),
    ca_file: z.string().min(1).optional().describe('PEM CA bundle to trust instead of the system store.'),
    cert_file: z.string().min(1).optional().describe('PEM client certificate (mutual TLS); needs key_file.'),
    key_file: z.string().min(1).optional().describe('PEM private key of cert_file.'),
    reject_unauthorized: z
      .boolean()
      .default(KAFKA_SINK_DEFAULTS.tls.reject_unauthorized)
      .describe('Refuse brokers whose certificate does not verify. Turn off only for tests.'),
  })
  .superRefine((t, ctx) => {
    if ((t.cert_file === undefined) !== (t.key_file === undefined)) {
      ctx.addIssue({ code: 'custom', path: [t.cert_file === undefined ? 'cert_file' : 'key_file'], message: 'cert_file and key_file go together' });
    }
    if (!t.enabled) {
      for (const k of ['ca_file', 'cert_file', 'key_file'] as const) {
        if (t[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'is ignored unless tls.enabled is true' });
      }
    }
  })
  .default({ ...KAFKA_SINK_DEFAULTS.tls });

const sasl = z
  .strictObject({
    enabled: z.boolean().default(KAFKA_SINK_DEFAULTS.sasl.enabled).describe('Authenticate with SASL.'),
    mechanism: z
      .enum(['plain', 'scram-sha-256', 'scram-sha-512'])
      .default(KAFKA_SINK_DEFAULTS.sasl.mechanism)
      .describe('plain sends the password as is: use it only with tls.enabled.'),
    username: z.string().default(KAFKA_SINK_DEFAULTS.sasl.username),
    password_file: z.string().min(1).optional().describe('File holding the password (trailing newline ignored). Preferred.'),
    password_env: z.string().min(1).optional().describe('Environment variable holding the password.'),
    password: z.string().min(1).optional().describe('The password inline; prefer password_file or password_env, which keep it out of the config.'),
  })
  .superRefine((s, ctx) => {
    const given = SECRET_SOURCES.filter((k) => s[k] !== undefined);
    if (s.enabled) {
      if (s.username === '') ctx.addIssue({ code: 'custom', path: ['username'], message: 'is required when sasl.enabled is true' });
      if (given.length !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: [given[1] ?? 'password_file'],
          message: `give exactly one of ${SECRET_SOURCES.join(', ')} (got ${given.length === 0 ? 'none' : given.join(', ')})`,
        });
      }
    } else {
      for (const k of given) ctx.addIssue({ code: 'custom', path: [k], message: 'is ignored unless sasl.enabled is true' });
    }
  })
  .default({ ...KAFKA_SINK_DEFAULTS.sasl });

const createTopics = z
  .strictObject({
    enabled: z
      .boolean()
      .default(KAFKA_SINK_DEFAULTS.create_topics.enabled)
      .describe('Create missing topics at start(). Off by default: the producer never auto-creates topics.'),
    num_partitions: z
      .int()
      .refine((n) => n === -1 || n >= 1, 'must be at least 1, or -1 for the broker default (num.partitions)')
      .default(KAFKA_SINK_DEFAULTS.create_topics.num_partitions),
    replication_factor: z
      .int()
      .refine((n) => n === -1 || (n >= 1 && n <= 32767), 'must be 1..32767, or -1 for the broker default (default.replication.factor)')
      .default(KAFKA_SINK_DEFAULTS.create_topics.replication_factor),
  })
  .default({ ...KAFKA_SINK_DEFAULTS.create_topics });

const retry = z
  .strictObject({
    max_retries: z
      .int()
      .min(1)
      .max(1000)
      .default(KAFKA_SINK_DEFAULTS.retry.max_retries)
      .describe('Attempts kafkajs makes after the first before write() answers retryable (an idempotent producer needs at least 1).'),
    initial_backoff_ms: z.int().min(1).default(KAFKA_SINK_DEFAULTS.retry.initial_backoff_ms).describe('Wait before the first retry; doubles each time.'),
    max_backoff_ms: z.int().min(1).default(KAFKA_SINK_DEFAULTS.retry.max_backoff_ms).describe('Longest wait between retries.'),
  })
  .refine((r) => r.max_backoff_ms >= r.initial_backoff_ms, { path: ['max_backoff_ms'], message: 'must not be below initial_backoff_ms' })
  .default({ ...KAFKA_SINK_DEFAULTS.retry })
  .describe('kafkajs retries of one produce request. Retrying keeps the same record batches, so the idempotent producer deduplicates them.');

export const kafkaSinkSchema = z
  .strictObject({
    brokers: z.array(broker).min(1, 'give at least one broker').default([...KAFKA_SINK_DEFAULTS.brokers]).describe('Seed brokers, host:port.'),
    topic: topic.default(KAFKA_SINK_DEFAULTS.topic),
    client_id: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,255}$/, 'must match [A-Za-z0-9._-]{1,255}')
      .default(KAFKA_SINK_DEFAULTS.client_id)
      .describe('client.id the brokers log and quota by.'),
    compression: z
      .enum(['none', 'gzip'])
      .default(KAFKA_SINK_DEFAULTS.compression)
      .describe('Record batch compression. kafkajs itself only implements gzip; snappy, lz4 and zstd need codec plugins we do not ship.'),
    acks: z
      .union([z.literal('all'), z.literal(-1)], {
        error:
          'must be "all" (-1): the sink answers delivered only for events every in-sync replica has, and the idempotent producer refuses anything else; acks 0 or 1 can lose events the sink reported delivered',
      })
      .default(KAFKA_SINK_DEFAULTS.acks)
      .describe('Fixed to all (-1).'),
    idempotent: z
      .boolean()
      .default(KAFKA_SINK_DEFAULTS.idempotent)
      .describe('Producer ids and sequence numbers let the broker drop the duplicates that kafkajs retries would otherwise write.'),
    batch_max_bytes: z
      .int()
      .min(1024)
      .max(256 * 1024 * 1024)
      .default(KAFKA_SINK_DEFAULTS.batch_max_bytes)
      .describe(
        'Most record bytes (key, value, headers and per-record overhead, before compression) in one produce request; larger writes are split. ' +
          'Keep it below the broker message.max.bytes (1048588 by default). A single larger event is sent alone.',
      ),
    linger_ms: z
      .int()
      .min(0)
      .max(60_000)
      .default(KAFKA_SINK_DEFAULTS.linger_ms)
      .describe('How long a write waits for more writes to share its produce request (unless batch_max_bytes is reached first); 0 sends at once.'),
    request_timeout_ms: z
      .int()
      .min(1)
      .default(KAFKA_SINK_DEFAULTS.request_timeout_ms)
      .describe('How long a broker may take to answer a request (also the produce timeout waiting for replicas).'),
    connection_timeout_ms: z.int().min(1).default(KAFKA_SINK_DEFAULTS.connection_timeout_ms).describe('Connect timeout per broker: TCP and TLS, and SASL authentication.'),
    max_in_flight_requests: z
      .int()
      .min(1)
      .default(KAFKA_SINK_DEFAULTS.max_in_flight_requests)
      .describe('Unanswered requests per broker connection. At most 5 with idempotent (the broker remembers 5 batches per producer and partition).'),
    retry,
    tls,
    sasl,
    create_topics: createTopics,
    headers: z
      .record(z.string().min(1), z.string())
      .superRefine((headers, ctx) => {
        for (const k of Object.keys(headers)) {
          if ((RESERVED_HEADERS as readonly string[]).includes(k.toLowerCase())) ctx.addIssue({ code: 'custom', path: [k], message: 'is set by the sink itself' });
        }
      })
      .default({})
      .describe('Extra static headers on every record.'),
    log_level: z
      .enum(['none', 'error', 'warn', 'info', 'debug'])
      .default(KAFKA_SINK_DEFAULTS.log_level)
      .describe('kafkajs log messages at this level or above go to stderr, each distinct message at most once per 10 s.'),
  })
  .superRefine((c, ctx) => {
    if (c.idempotent && c.max_in_flight_requests > 5) {
      ctx.addIssue({
        code: 'custom',
        path: ['max_in_flight_requests'],
        message: 'must be at most 5 with idempotent: the broker deduplicates only the last 5 batches of a producer per partition',
      });
    }
  });

export type KafkaSinkConfig = z.output<typeof kafkaSinkSchema>;
