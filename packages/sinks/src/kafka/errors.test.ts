import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { SinkError } from '@peregrine/events';
import { classifyKafkaError, produceError } from './errors.js';

// The real kafkajs error classes and protocol error table, as the producer throws them.
const require = createRequire(import.meta.url);
type ErrorClass = new (...args: unknown[]) => Error;
const errors = require('kafkajs/src/errors') as Record<
  | 'KafkaJSError'
  | 'KafkaJSProtocolError'
  | 'KafkaJSNumberOfRetriesExceeded'
  | 'KafkaJSNonRetriableError'
  | 'KafkaJSConnectionError'
  | 'KafkaJSRequestTimeoutError'
  | 'KafkaJSSASLAuthenticationError',
  ErrorClass
>;
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode: (code: number) => unknown };
const { KafkaJSProtocolError, KafkaJSNumberOfRetriesExceeded, KafkaJSNonRetriableError, KafkaJSConnectionError, KafkaJSRequestTimeoutError } = errors;

const CODES = {
  MESSAGE_TOO_LARGE: 10,
  NOT_LEADER_FOR_PARTITION: 6,
  REQUEST_TIMED_OUT: 7,
  NOT_ENOUGH_REPLICAS: 19,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  TOPIC_AUTHORIZATION_FAILED: 29,
  CLUSTER_AUTHORIZATION_FAILED: 31,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  UNKNOWN_PRODUCER_ID: 59,
  INVALID_PRODUCER_EPOCH: 47,
  RECORD_LIST_TOO_LARGE: 18,
  INVALID_RECORD: 87,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  POLICY_VIOLATION: 44,
} as const;

const protocol = (type: keyof typeof CODES): Error => new KafkaJSProtocolError(createErrorFromCode(CODES[type]));
/** What sendBatch() rejects with once kafkajs ran out of retries on a retriable error. */
const exhausted = (e: Error): Error => new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 5, retryTime: 1000 });
/** What it rejects with when the retrier bails on a non-retriable one. */
const bailed = (e: Error): Error => new KafkaJSNonRetriableError(e, { cause: e });

describe('kafka error classification', () => {
  it('answers retryable when kafkajs ran out of retries on a broker that is down', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { code: 'ECONNREFUSED' });
    const conn = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', { broker: '127.0.0.1:9092', code: 'ECONNREFUSED' });
    (conn as Error & { cause?: unknown }).cause = refused;
    expect(classifyKafkaError(exhausted(conn))).toEqual({
      type: 'ECONNREFUSED',
      retryable: true,
      resetProducer: false,
      recordRefused: false,
      message: 'connect ECONNREFUSED 127.0.0.1:9092',
    });
    expect(classifyKafkaError(exhausted(new KafkaJSConnectionError('Connection timeout', { broker: 'b:1' })))).toMatchObject({
      type: 'connection',
      retryable: true,
    });
    expect(classifyKafkaError(exhausted(new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out')))).toMatchObject({
      type: 'request_timeout',
      retryable: true,
    });
  });

  it.each(['NOT_ENOUGH_REPLICAS', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'NOT_LEADER_FOR_PARTITION', 'REQUEST_TIMED_OUT'] as const)(
    'answers retryable for %s',
    (type) => {
      expect(classifyKafkaError(exhausted(protocol(type)))).toMatchObject({ type, retryable: true, resetProducer: false });
    },
  );

  it.each([
    'MESSAGE_TOO_LARGE',
    'RECORD_LIST_TOO_LARGE',
    'INVALID_RECORD',
    'TOPIC_AUTHORIZATION_FAILED',
    'CLUSTER_AUTHORIZATION_FAILED',
    'UNSUPPORTED_COMPRESSION_TYPE',
    'POLICY_VIOLATION',
  ] as const)('answers rejected for %s', (type) => {
    expect(classifyKafkaError(protocol(type))).toMatchObject({ type, retryable: false });
    expect(classifyKafkaError(bailed(protocol(type)))).toMatchObject({ type, retryable: false });
  });

  it('rejects a missing topic unless topics are being created', () => {
    const e = exhausted(protocol('UNKNOWN_TOPIC_OR_PARTITION'));
    expect(classifyKafkaError(e)).toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION', retryable: false });
    expect(classifyKafkaError(e, { createTopics: true })).toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION', retryable: true });
    const { error } = produceError(e, 'kafka sink k: cannot send to peregrine.process_exec', { topics: ['peregrine.process_exec'] });
    expect(error).toBeInstanceOf(SinkError);
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/topic peregrine\.process_exec does not exist and create_topics\.enabled is false/);
  });

  it.each(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH'] as const)(
    'starts a new producer after %s and answers retryable',
    (type) => {
      expect(classifyKafkaError(bailed(protocol(type)))).toMatchObject({ type, retryable: true, resetProducer: true });
    },
  );

  it('rejects SASL authentication failures', () => {
    const sasl = new errors.KafkaJSSASLAuthenticationError('SASL SCRAM SHA512 authentication failed: invalid credentials');
    expect(classifyKafkaError(sasl)).toMatchObject({ type: 'sasl_authentication', retryable: false });
    expect(classifyKafkaError(bailed(sasl))).toMatchObject({ type: 'sasl_authentication', retryable: false });
  });

  it('answers retryable for a disconnected producer, rejected while it disconnects', () => {
    expect(classifyKafkaError(new errors.KafkaJSError('The producer is disconnected'))).toMatchObject({ type: 'kafkajs', retryable: true });
    expect(classifyKafkaError(new KafkaJSNonRetriableError("The producer is disconnecting; therefore, it can't safely accept messages anymore"))).toMatchObject({
      type: 'non_retriable',
      retryable: false,
    });
  });

  it('rejects what is not a Kafka problem (a bug does not fix itself)', () => {
    expect(classifyKafkaError(new TypeError('x is not a function'))).toMatchObject({ type: 'TypeError', retryable: false });
    expect(classifyKafkaError(bailed(new TypeError('bad')))).toMatchObject({ type: 'TypeError', retryable: false });
    expect(classifyKafkaError('weird')).toMatchObject({ type: 'unknown', retryable: false, message: 'weird' });
  });

  it('builds SinkErrors that keep the cause and give hints', () => {
    const cause = protocol('MESSAGE_TOO_LARGE');
    const { error, failure } = produceError(cause, 'kafka sink k: cannot send to t');
    expect(failure.type).toBe('MESSAGE_TOO_LARGE');
    expect(error.cause).toBe(cause);
    expect(error.message).toMatch(/^kafka sink k: cannot send to t: MESSAGE_TOO_LARGE: .*lower batch_max_bytes/);
    expect(produceError(protocol('TOPIC_AUTHORIZATION_FAILED'), 'w', { topics: ['a.b'] }).error.message).toMatch(/not allowed to write to a\.b/);
  });
});
