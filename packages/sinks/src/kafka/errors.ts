// kafkajs failures → SinkErrors. kafkajs has already retried what it considers retriable (retry.max_retries
// times, with the same record batches) before sendBatch() rejects, so the question here is only whether the
// caller's own retry, later, can help.
//
// retryable (resend later):
//   - KafkaJSNumberOfRetriesExceeded whose last cause is retriable: broker down or unreachable
//     (KafkaJSConnectionError, ECONNREFUSED…), KafkaJSRequestTimeoutError, leader elections
//     (NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE), NOT_ENOUGH_REPLICAS(_AFTER_APPEND), REQUEST_TIMED_OUT,
//     NETWORK_EXCEPTION, KafkaJSMetadataNotLoaded, KafkaJSLockTimeout, "the producer is disconnected";
//   - idempotence state the broker no longer accepts (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID,
//     INVALID_PRODUCER_EPOCH, INVALID_PRODUCER_ID_MAPPING): the sink starts a new producer (`resetProducer`),
//     after which the resend succeeds;
//   - any other kafkajs error that kafkajs marks retriable;
//   - no answer at all within every timeout and retry (WatchdogError): a new producer, as above.
// rejected (resending cannot help):
//   - MESSAGE_TOO_LARGE, INVALID_RECORD, CORRUPT_MESSAGE: the records themselves. The sink sends an event
//     larger than batch_max_bytes alone, so for a request of one record this is that event's fault and
//     the sink hands it back as a dead letter instead (`recordRefused`); for a larger request,
//     batch_max_bytes is above the broker's limit: a configuration error. RECORD_LIST_TOO_LARGE: the same;
//   - TOPIC_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED, TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
//     SASL authentication failures, UNSUPPORTED_SASL_MECHANISM, ILLEGAL_SASL_STATE: credentials or ACLs;
//   - UNKNOWN_TOPIC_OR_PARTITION when create_topics is off (with it on, the topic may still be on its way:
//     retryable), INVALID_TOPIC_EXCEPTION, POLICY_VIOLATION, UNSUPPORTED_VERSION,
//     UNSUPPORTED_COMPRESSION_TYPE, UNSUPPORTED_FOR_MESSAGE_FORMAT, INVALID_REQUIRED_ACKS: configuration;
//   - other protocol errors Kafka marks non-retriable, and non-kafkajs errors (TypeError…: a bug).

import { SinkError } from '@peregrine/events';

interface KafkaJSLike {
  name?: unknown;
  type?: unknown;
  code?: unknown;
  retriable?: unknown;
  cause?: unknown;
  message?: unknown;
}

const EOS_STATE = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);

const RECORD_REFUSED = new Set(['MESSAGE_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE']);

const PERMANENT = new Set([
  ...RECORD_REFUSED,
  'RECORD_LIST_TOO_LARGE',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
  'INVALID_TOPIC_EXCEPTION',
  'POLICY_VIOLATION',
  'UNSUPPORTED_VERSION',
  'UNSUPPORTED_COMPRESSION_TYPE',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'INVALID_REQUIRED_ACKS',
]);

const NAMES: Record<string, string> = {
  KafkaJSConnectionError: 'connection',
  KafkaJSConnectionClosedError: 'connection_closed',
  KafkaJSRequestTimeoutError: 'request_timeout',
  KafkaJSSASLAuthenticationError: 'sasl_authentication',
  KafkaJSMetadataNotLoaded: 'metadata_not_loaded',
  KafkaJSTopicMetadataNotLoaded: 'metadata_not_loaded',
  KafkaJSBrokerNotFound: 'broker_not_found',
  KafkaJSLockTimeout: 'lock_timeout',
  KafkaJSNumberOfRetriesExceeded: 'retries_exceeded',
  KafkaJSNonRetriableError: 'non_retriable',
  KafkaJSError: 'kafkajs',
};

/** kafkajs did not answer a request within every timeout and retry it was given (the sink's watchdog). */
export class WatchdogError extends Error {
  override readonly name = 'WatchdogError';
}

export interface KafkaFailure {
  /** Label for stats().errors: a Kafka error code name (NOT_ENOUGH_REPLICAS), an errno (ECONNREFUSED) or a kafkajs kind. */
  type: string;
  retryable: boolean;
  /** The producer's idempotence state is lost: start a new producer before the resend. */
  resetProducer: boolean;
  /** The broker refuses the records themselves (too large, invalid): a lone record is a dead letter. */
  recordRefused: boolean;
  /** The innermost error's message, for the SinkError. */
  message: string;
}

/** The error and its causes, outermost first (bounded: kafkajs nests a few levels at most). */
function chain(err: unknown): KafkaJSLike[] {
  const out: KafkaJSLike[] = [];
  for (let e = err; typeof e === 'object' && e !== null && out.length < 8; e = (e as KafkaJSLike).cause) {
    if (out.includes(e as KafkaJSLike)) break;
    out.push(e as KafkaJSLike);
  }
  return out;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function classifyKafkaError(err: unknown, options: { createTopics?: boolean } = {}): KafkaFailure {
  const errors = chain(err);
  const inner = errors.at(-1);
  const message = str(inner?.message) ?? String(err);
  const protocol = errors.find((e) => str(e.type) !== undefined && e.name === 'KafkaJSProtocolError');
  if (protocol !== undefined) {
    const type = protocol.type as string;
    const base = { type, resetProducer: false, recordRefused: RECORD_REFUSED.has(type), message };
    if (EOS_STATE.has(type)) return { ...base, retryable: true, resetProducer: true };
    if (type === 'UNKNOWN_TOPIC_OR_PARTITION') return { ...base, retryable: options.createTopics === true };
    return { ...base, retryable: !PERMANENT.has(type) && protocol.retriable !== false };
  }
  if (errors.some((e) => e.name === 'WatchdogError')) return { type: 'watchdog', retryable: true, resetProducer: true, recordRefused: false, message };
  const sasl = errors.find((e) => e.name === 'KafkaJSSASLAuthenticationError');
  if (sasl !== undefined) return { type: 'sasl_authentication', retryable: false, resetProducer: false, recordRefused: false, message: str(sasl.message) ?? message };
  const errno = errors.map((e) => str(e.code)).find((c) => c !== undefined && /^E[A-Z0-9_]+$/.test(c));
  const named = errors.map((e) => NAMES[str(e.name) ?? '']).findLast((n) => n !== undefined);
  const innerName = str(inner?.name);
  const foreign = innerName !== undefined && innerName !== 'Error' && !innerName.startsWith('KafkaJS') ? innerName : undefined;
  const type = errno ?? foreign ?? named ?? 'unknown';
  // The innermost error decides: the last attempt's cause for KafkaJSNumberOfRetriesExceeded. A socket errno
  // (ECONNREFUSED, ETIMEDOUT…) is transient; a TLS verification code (DEPTH_ZERO_SELF_SIGNED_CERT) or a
  // TypeError is not.
  const retryable = innerName?.startsWith('KafkaJS') === true ? inner?.retriable !== false : errno !== undefined && str(inner?.code) === errno;
  return { type, retryable, resetProducer: false, recordRefused: false, message };
}

/** A SinkError for a failed produce, saying what failed and, when it helps, what to do. */
export function produceError(err: unknown, what: string, options: { createTopics?: boolean; topics?: readonly string[] } = {}): {
  error: SinkError;
  failure: KafkaFailure;
} {
  const failure = classifyKafkaError(err, options);
  let hint = '';
  const topics = options.topics?.join(', ') ?? '';
  if (failure.type === 'UNKNOWN_TOPIC_OR_PARTITION' && options.createTopics !== true) hint = ` (topic ${topics} does not exist and create_topics.enabled is false)`;
  else if (failure.type === 'TOPIC_AUTHORIZATION_FAILED') hint = ` (not allowed to write to ${topics})`;
  else if (failure.type === 'MESSAGE_TOO_LARGE' || failure.type === 'RECORD_LIST_TOO_LARGE')
    hint = ' (an event or batch exceeds the broker or topic max.message.bytes; lower batch_max_bytes)';
  const error = new SinkError(`${what}: ${failure.type}: ${failure.message}${hint}`, failure.retryable, { cause: err });
  return { error, failure };
}
