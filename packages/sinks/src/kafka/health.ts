// The kafka sink's healthcheck and its optional topic creation, both through the admin client (which
// never auto-creates topics by looking at them).

import { SinkError } from '@peregrine/events';
import type { AdminLike, KafkaLike } from './client.js';
import type { KafkaSinkConfig } from './config.js';
import { classifyKafkaError } from './errors.js';

function brokers(config: KafkaSinkConfig): string {
  return config.brokers.join(',');
}

/** A SinkError for a failed admin call: brokers unreachable, authentication refused, or anything else. */
function adminError(err: unknown, config: KafkaSinkConfig, what: string): SinkError {
  if (err instanceof SinkError) return err;
  const f = classifyKafkaError(err, { createTopics: config.create_topics.enabled });
  let message: string;
  if (f.type === 'sasl_authentication' || f.type.startsWith('SASL') || f.type === 'UNSUPPORTED_SASL_MECHANISM') {
    message = `authentication as "${config.sasl.username}" (${config.sasl.mechanism}) refused by ${brokers(config)}: ${f.message}`;
  } else if (f.type.endsWith('AUTHORIZATION_FAILED')) {
    message = `not authorized by ${brokers(config)} (${f.type}): ${f.message}`;
  } else {
    message = `cannot reach brokers ${brokers(config)} (${f.type}): ${f.message}`;
  }
  return new SinkError(`${what}: ${message}`, f.retryable, { cause: err });
}

async function withAdmin<T>(kafka: KafkaLike, config: KafkaSinkConfig, what: string, fn: (admin: AdminLike) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    return await fn(admin);
  } catch (err) {
    throw adminError(err, config, what);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Resolves when the brokers answer and every topic exists (or create_topics.enabled will create it at
 * start) with a leader for each partition.
 */
export function checkKafka(kafka: KafkaLike, config: KafkaSinkConfig, topics: readonly string[], id: string): Promise<void> {
  const what = `kafka sink ${id}`;
  return withAdmin(kafka, config, what, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0 && !config.create_topics.enabled) {
      const list = missing.join(', ');
      throw new SinkError(
        `${what}: topic${missing.length > 1 ? 's' : ''} ${list} ${missing.length > 1 ? 'do' : 'does'} not exist and create_topics.enabled is false ` +
          `(brokers ${brokers(config)}; or the credentials may not describe ${missing.length > 1 ? 'them' : 'it'})`,
        false,
      );
    }
    const present = topics.filter((t) => existing.has(t));
    if (present.length === 0) return;
    const { topics: metadata } = await admin.fetchTopicMetadata({ topics: present });
    for (const t of metadata) {
      const leaderless = t.partitions.filter((p) => p.leader < 0 || p.partitionErrorCode !== 0).map((p) => p.partitionId);
      if (leaderless.length > 0) {
        throw new SinkError(`${what}: topic ${t.name} has no leader for partition${leaderless.length > 1 ? 's' : ''} ${leaderless.join(', ')}`, true);
      }
    }
  });
}

/** Create the topics that do not exist yet, with create_topics' partitions and replication factor. */
export function createMissingTopics(kafka: KafkaLike, config: KafkaSinkConfig, topics: readonly string[]): Promise<void> {
  const what = `kafka sink: cannot create topics ${topics.join(', ')}`;
  return withAdmin(kafka, config, what, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    try {
      await admin.createTopics({
        waitForLeaders: true,
        timeout: config.request_timeout_ms,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: config.create_topics.num_partitions,
          replicationFactor: config.create_topics.replication_factor,
        })),
      });
    } catch (err) {
      // Another agent may have created some of them meanwhile.
      const now = new Set(await admin.listTopics());
      if (missing.some((t) => !now.has(t))) throw err;
    }
  });
}
