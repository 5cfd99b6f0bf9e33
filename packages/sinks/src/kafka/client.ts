// The kafkajs client behind the sink: its configuration (TLS files and SASL secrets are read here, at
// start(), never at config time), a rate-limited logger, and the narrow interfaces the sink uses, so that
// unit tests can hand it a fake and another client library could replace kafkajs behind them.

import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from 'node:tls';
import {
  Kafka,
  logLevel,
  type Admin,
  type AdminConfig,
  type KafkaConfig,
  type LogEntry,
  type logCreator,
  type Producer,
  type ProducerConfig,
  type SASLOptions,
} from 'kafkajs';
import { SinkError } from '@peregrine/events';
import type { KafkaSinkConfig } from './config.js';
import { kafkaFastEncoding } from './fast-encoding.js';
import { javaCompatiblePartitioner } from './partitioner.js';

// Before any kafkajs producer or consumer loads its record encoder (lazily, at its first request).
kafkaFastEncoding();

export type ProducerLike = Pick<Producer, 'connect' | 'disconnect' | 'sendBatch'>;
export type AdminLike = Pick<Admin, 'connect' | 'disconnect' | 'listTopics' | 'fetchTopicMetadata' | 'createTopics'>;

/** What the sink needs from a kafkajs `Kafka` instance. */
export interface KafkaLike {
  producer(config: ProducerConfig): ProducerLike;
  admin(config?: AdminConfig): AdminLike;
}

export type KafkaFactory = (config: KafkaConfig) => KafkaLike;

export const createKafka: KafkaFactory = (config) => new Kafka(config);

const LEVELS = { none: logLevel.NOTHING, error: logLevel.ERROR, warn: logLevel.WARN, info: logLevel.INFO, debug: logLevel.DEBUG } as const;
const LOG_INTERVAL_MS = 10_000;

// We bound the idempotent producer's retries on purpose (write() must answer); kafkajs warns about it once
// per producer, which would be noise on every producer reset.
const EXPECTED = /^Limiting retries for the idempotent producer/;

/**
 * kafkajs log entries → one stderr line each, the same message at most once per 10 s (with the number
 * suppressed meanwhile): a broker outage makes kafkajs log every attempt.
 */
export function rateLimitedLogger(id: string, write: (line: string) => void = (l) => process.stderr.write(l + '\n')): logCreator {
  const last = new Map<string, { at: number; suppressed: number }>();
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _t, logger: _l, ...extra } = log as { message: string; [k: string]: unknown };
      if (EXPECTED.test(message)) return;
      const now = Date.now();
      const key = `${level}:${namespace}:${message}`;
      const seen = last.get(key);
      if (seen !== undefined && now - seen.at < LOG_INTERVAL_MS) {
        seen.suppressed++;
        return;
      }
      if (last.size > 1000) last.clear();
      last.set(key, { at: now, suppressed: 0 });
      const name = level <= logLevel.ERROR ? 'error' : level === logLevel.WARN ? 'warn' : level === logLevel.INFO ? 'info' : 'debug';
      const more = seen !== undefined && seen.suppressed > 0 ? ` (${seen.suppressed} more since)` : '';
      const detail = Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
      write(`kafka sink ${id}: ${name}: [${namespace}] ${message}${more}${detail}`);
    };
}

async function readSecretFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new SinkError(`cannot read ${what} ${path}: ${(err as Error).message}`, false, { cause: err });
  }
}

async function tlsOptions(tls: KafkaSinkConfig['tls']): Promise<ConnectionOptions | undefined> {
  if (!tls.enabled) return undefined;
  const out: ConnectionOptions = { rejectUnauthorized: tls.reject_unauthorized };
  if (tls.ca_file !== undefined) out.ca = await readSecretFile(tls.ca_file, 'tls.ca_file');
  if (tls.cert_file !== undefined) out.cert = await readSecretFile(tls.cert_file, 'tls.cert_file');
  if (tls.key_file !== undefined) out.key = await readSecretFile(tls.key_file, 'tls.key_file');
  return out;
}

async function saslOptions(sasl: KafkaSinkConfig['sasl'], env: NodeJS.ProcessEnv): Promise<SASLOptions | undefined> {
  if (!sasl.enabled) return undefined;
  let password: string;
  if (sasl.password_file !== undefined) {
    password = (await readSecretFile(sasl.password_file, 'sasl.password_file')).replace(/\r?\n$/, '');
  } else if (sasl.password_env !== undefined) {
    const v = env[sasl.password_env];
    if (v === undefined || v === '') throw new SinkError(`sasl.password_env: environment variable ${sasl.password_env} is not set`, false);
    password = v;
  } else {
    password = sasl.password ?? '';
  }
  return { mechanism: sasl.mechanism, username: sasl.username, password };
}

/** The kafkajs client configuration; reads the TLS files and the SASL password. Rejects with a SinkError. */
export async function kafkaClientConfig(config: KafkaSinkConfig, id: string, env: NodeJS.ProcessEnv = process.env): Promise<KafkaConfig> {
  const ssl = await tlsOptions(config.tls);
  const sasl = await saslOptions(config.sasl, env);
  return {
    brokers: [...config.brokers],
    clientId: config.client_id,
    connectionTimeout: config.connection_timeout_ms,
    authenticationTimeout: config.connection_timeout_ms,
    requestTimeout: config.request_timeout_ms,
    enforceRequestTimeout: true,
    retry: {
      retries: config.retry.max_retries,
      initialRetryTime: config.retry.initial_backoff_ms,
      maxRetryTime: config.retry.max_backoff_ms,
    },
    ...(ssl !== undefined ? { ssl } : {}),
    ...(sasl !== undefined ? { sasl } : {}),
    logLevel: LEVELS[config.log_level],
    logCreator: rateLimitedLogger(id),
  };
}

/** The producer configuration: no topic auto-creation unless asked, idempotence as configured, Java's key partitioning. */
export function producerConfig(config: KafkaSinkConfig): ProducerConfig {
  return {
    allowAutoTopicCreation: config.create_topics.enabled,
    createPartitioner: javaCompatiblePartitioner,
    idempotent: config.idempotent,
    maxInFlightRequests: config.max_in_flight_requests,
    retry: {
      retries: config.retry.max_retries,
      initialRetryTime: config.retry.initial_backoff_ms,
      maxRetryTime: config.retry.max_backoff_ms,
    },
  };
}
