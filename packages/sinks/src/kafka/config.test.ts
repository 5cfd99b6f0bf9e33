import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, parseConfig } from '@peregrine/events';
import { KAFKA_SINK_DEFAULTS, kafkaSinkSchema } from './config.js';
import { kafkaSinkFactory } from './factory.js';

function issues(value: unknown): { path: string; message: string }[] {
  try {
    parseConfig(kafkaSinkSchema, value, 'kafka sink config');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

const paths = (value: unknown): string[] => issues(value).map((i) => i.path).sort();
const parse = (value: unknown) => parseConfig(kafkaSinkSchema, value, 'kafka sink config');

describe('kafka sink config', () => {
  it('fills in every default', () => {
    expect(parse({})).toEqual(KAFKA_SINK_DEFAULTS);
    expect(parse({})).toEqual({
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
    });
  });

  it('defaultConfig() is complete and valid', () => {
    const cfg = kafkaSinkFactory.defaultConfig();
    expect(cfg).toEqual(KAFKA_SINK_DEFAULTS);
    expect(kafkaSinkSchema.parse(cfg)).toEqual(cfg);
  });

  it('rejects unknown keys at every level, naming them', () => {
    const found = issues({ bootstrap_servers: ['a:1'], tls: { enable: true }, sasl: { user: 'x' }, create_topics: { partitions: 3 }, retry: { retries: 2 } });
    expect(found.map((i) => i.path).sort()).toEqual(['bootstrap_servers', 'create_topics.partitions', 'retry.retries', 'sasl.user', 'tls.enable']);
    expect(found.every((i) => i.message === 'unknown field')).toBe(true);
  });

  it('rejects wrong types, naming every field', () => {
    expect(
      paths({ brokers: 'a:1', topic: 7, idempotent: 'yes', linger_ms: 1.5, batch_max_bytes: '1MB', request_timeout_ms: null, headers: { a: 1 } }),
    ).toEqual(['batch_max_bytes', 'brokers', 'headers.a', 'idempotent', 'linger_ms', 'request_timeout_ms', 'topic']);
  });

  describe('brokers', () => {
    it('takes host:port names and IPv4 addresses', () => {
      expect(parse({ brokers: ['kafka-0.kafka.svc:9093', '10.0.0.7:9092', 'localhost:1'] }).brokers).toHaveLength(3);
    });

    it('needs at least one', () => {
      expect(issues({ brokers: [] })).toEqual([{ path: 'brokers', message: 'give at least one broker' }]);
    });

    it('rejects a missing or bad port, URLs and IPv6 literals', () => {
      expect(paths({ brokers: ['kafka', 'kafka:', 'kafka:0', 'kafka:65536', 'kafka:x', 'PLAINTEXT://kafka:9092', '[::1]:9092', '::1:9092'] })).toEqual(
        ['brokers.0', 'brokers.1', 'brokers.2', 'brokers.3', 'brokers.4', 'brokers.5', 'brokers.6', 'brokers.7'],
      );
      expect(issues({ brokers: ['[::1]:9092'] })[0]?.message).toMatch(/IPv6/);
      expect(issues({ brokers: ['kafka:70000'] })[0]?.message).toMatch(/1\.\.65535/);
    });
  });

  describe('topic', () => {
    it('takes a plain name or an {event_type} template', () => {
      expect(parse({ topic: 'security.events_v1' }).topic).toBe('security.events_v1');
      expect(parse({ topic: 'peregrine.{event_type}' }).topic).toBe('peregrine.{event_type}');
    });

    it('validates every rendered name against Kafka’s rules', () => {
      expect(issues({ topic: '' })[0]?.message).toMatch(/\[a-zA-Z0-9\._-\]\{1,249\}/);
      expect(issues({ topic: 'bad topic' })[0]?.message).toMatch(/renders "bad topic"/);
      expect(issues({ topic: 'a'.repeat(250) })).toHaveLength(1);
      expect(parse({ topic: 'a'.repeat(249) }).topic).toHaveLength(249);
      // 249 - "process_tracepoint".length leaves room for a 231-character prefix.
      expect(issues({ topic: `${'a'.repeat(232)}{event_type}` })[0]?.message).toMatch(/process_tracepoint/);
      expect(issues({ topic: '..' })[0]?.message).toMatch(/reserves/);
      expect(issues({ topic: 'événements' })).toHaveLength(1);
    });

    it('rejects unknown placeholders and stray braces', () => {
      expect(issues({ topic: 'peregrine.{node_name}' })).toEqual([{ path: 'topic', message: 'unknown placeholder {node_name} (known: {event_type})' }]);
      expect(issues({ topic: 'peregrine.{event_type' })[0]?.message).toMatch(/unbalanced/);
      expect(issues({ topic: 'peregrine.event_type}' })[0]?.message).toMatch(/unbalanced/);
    });
  });

  it('checks client_id', () => {
    expect(parse({ client_id: 'peregrine-node-1' }).client_id).toBe('peregrine-node-1');
    expect(paths({ client_id: '' })).toEqual(['client_id']);
    expect(paths({ client_id: 'a b' })).toEqual(['client_id']);
  });

  it('offers none and gzip compression only, and says why', () => {
    expect(parse({ compression: 'gzip' }).compression).toBe('gzip');
    expect(paths({ compression: 'zstd' })).toEqual(['compression']);
    expect(paths({ compression: 'snappy' })).toEqual(['compression']);
    expect(kafkaSinkSchema.shape.compression.description).toMatch(/kafkajs itself only implements gzip/);
  });

  it('fixes acks to all, explaining why', () => {
    expect(parse({ acks: 'all' }).acks).toBe('all');
    expect(parse({ acks: -1 }).acks).toBe(-1);
    for (const acks of [0, 1, '1', 'leader', 'none']) {
      expect(issues({ acks })).toEqual([{ path: 'acks', message: expect.stringMatching(/must be "all" \(-1\).*idempotent.*lose events/) }]);
    }
  });

  it('checks sizes and times', () => {
    expect(paths({ batch_max_bytes: 100, linger_ms: -1, request_timeout_ms: 0, connection_timeout_ms: 0 })).toEqual([
      'batch_max_bytes',
      'connection_timeout_ms',
      'linger_ms',
      'request_timeout_ms',
    ]);
    expect(paths({ linger_ms: 60_001 })).toEqual(['linger_ms']);
    expect(parse({ linger_ms: 0, batch_max_bytes: 1024 })).toMatchObject({ linger_ms: 0, batch_max_bytes: 1024 });
  });

  it('limits in-flight requests to 5 for the idempotent producer only', () => {
    expect(parse({ max_in_flight_requests: 5 }).max_in_flight_requests).toBe(5);
    expect(issues({ max_in_flight_requests: 6 })).toEqual([{ path: 'max_in_flight_requests', message: expect.stringMatching(/at most 5 with idempotent/) }]);
    expect(parse({ idempotent: false, max_in_flight_requests: 20 }).max_in_flight_requests).toBe(20);
    expect(paths({ max_in_flight_requests: 0 })).toEqual(['max_in_flight_requests']);
  });

  it('checks retry', () => {
    expect(parse({ retry: { max_retries: 10 } }).retry).toEqual({ max_retries: 10, initial_backoff_ms: 300, max_backoff_ms: 30_000 });
    expect(paths({ retry: { max_retries: 0 } })).toEqual(['retry.max_retries']);
    expect(paths({ retry: { initial_backoff_ms: 500, max_backoff_ms: 100 } })).toEqual(['retry.max_backoff_ms']);
  });

  describe('tls', () => {
    it('takes CA, client certificate and key files', () => {
      expect(parse({ tls: { enabled: true, ca_file: '/etc/ca.pem', cert_file: '/c.pem', key_file: '/k.pem' } }).tls).toEqual({
        enabled: true,
        ca_file: '/etc/ca.pem',
        cert_file: '/c.pem',
        key_file: '/k.pem',
        reject_unauthorized: true,
      });
    });

    it('wants cert_file and key_file together', () => {
      expect(paths({ tls: { enabled: true, cert_file: '/c.pem' } })).toEqual(['tls.key_file']);
      expect(paths({ tls: { enabled: true, key_file: '/k.pem' } })).toEqual(['tls.cert_file']);
    });

    it('refuses files that would be ignored', () => {
      expect(issues({ tls: { ca_file: '/etc/ca.pem' } })).toEqual([{ path: 'tls.ca_file', message: 'is ignored unless tls.enabled is true' }]);
    });
  });

  describe('sasl', () => {
    it('takes plain and scram with the password from a file, the environment or inline', () => {
      for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512']) {
        expect(parse({ sasl: { enabled: true, mechanism, username: 'u', password_file: '/run/secrets/kafka' } }).sasl.mechanism).toBe(mechanism);
      }
      expect(parse({ sasl: { enabled: true, username: 'u', password_env: 'KAFKA_PASSWORD' } }).sasl.password_env).toBe('KAFKA_PASSWORD');
      expect(parse({ sasl: { enabled: true, username: 'u', password: 'p' } }).sasl.password).toBe('p');
    });

    it('rejects other mechanisms', () => {
      expect(paths({ sasl: { enabled: true, mechanism: 'oauthbearer', username: 'u', password: 'p' } })).toEqual(['sasl.mechanism']);
      expect(paths({ sasl: { enabled: true, mechanism: 'aws', username: 'u', password: 'p' } })).toEqual(['sasl.mechanism']);
    });

    it('needs a username and exactly one password source', () => {
      expect(paths({ sasl: { enabled: true, password: 'p' } })).toEqual(['sasl.username']);
      expect(issues({ sasl: { enabled: true, username: 'u' } })).toEqual([
        { path: 'sasl.password_file', message: 'give exactly one of password, password_file, password_env (got none)' },
      ]);
      expect(issues({ sasl: { enabled: true, username: 'u', password: 'p', password_env: 'X' } })).toEqual([
        { path: 'sasl.password_env', message: 'give exactly one of password, password_file, password_env (got password, password_env)' },
      ]);
    });

    it('refuses a secret that would be ignored', () => {
      expect(paths({ sasl: { username: 'u', password: 'p' } })).toEqual(['sasl.password']);
    });
  });

  it('checks create_topics', () => {
    expect(parse({ create_topics: { enabled: true } }).create_topics).toEqual({ enabled: true, num_partitions: -1, replication_factor: -1 });
    expect(parse({ create_topics: { enabled: true, num_partitions: 12, replication_factor: 3 } }).create_topics.num_partitions).toBe(12);
    expect(paths({ create_topics: { num_partitions: 0, replication_factor: -2 } })).toEqual([
      'create_topics.num_partitions',
      'create_topics.replication_factor',
    ]);
  });

  it('takes extra headers but not the ones the sink sets', () => {
    expect(parse({ headers: { cluster: 'prod-eu', team: 'secops' } }).headers).toEqual({ cluster: 'prod-eu', team: 'secops' });
    for (const name of ['ce_id', 'ce_type', 'content-type', 'schema_version']) {
      expect(issues({ headers: { [name]: 'x' } })).toEqual([{ path: `headers.${name}`, message: 'is set by the sink itself' }]);
    }
    expect(paths({ headers: { '': 'x' } })).toEqual(['headers']);
  });

  it('checks log_level', () => {
    expect(parse({ log_level: 'none' }).log_level).toBe('none');
    expect(paths({ log_level: 'trace' })).toEqual(['log_level']);
  });

  it('has a JSON Schema with the descriptions', () => {
    const schema = z.toJSONSchema(kafkaSinkSchema, { io: 'input' }) as { properties: Record<string, { description?: string }>; additionalProperties: boolean };
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(KAFKA_SINK_DEFAULTS).sort());
    expect(schema.properties.topic?.description).toMatch(/\{event_type\}/);
  });
});
