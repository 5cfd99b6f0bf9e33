import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logLevel, type LogEntry } from 'kafkajs';
import { SinkError } from '@peregrine/events';
import { tempDir } from '../testdata/files.js';
import { kafkaClientConfig, producerConfig, rateLimitedLogger } from './client.js';
import { javaCompatiblePartitioner } from './partitioner.js';
import { kafkaSinkSchema } from './config.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => {
  vi.useRealTimers();
  await cleanup();
});

const config = (over: Record<string, unknown>) => kafkaSinkSchema.parse(over);

describe('kafka client configuration', () => {
  it('reads the TLS files at start', async () => {
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) await writeFile(join(dir, f), `-----${f}-----\n`);
    const cfg = await kafkaClientConfig(
      config({ tls: { enabled: true, ca_file: join(dir, 'ca.pem'), cert_file: join(dir, 'cert.pem'), key_file: join(dir, 'key.pem'), reject_unauthorized: false } }),
      'k',
    );
    expect(cfg.ssl).toEqual({ rejectUnauthorized: false, ca: '-----ca.pem-----\n', cert: '-----cert.pem-----\n', key: '-----key.pem-----\n' });
    expect((await kafkaClientConfig(config({ tls: { enabled: true } }), 'k')).ssl).toEqual({ rejectUnauthorized: true });
  });

  it('names a TLS file it cannot read', async () => {
    const err = await kafkaClientConfig(config({ tls: { enabled: true, ca_file: join(dir, 'missing.pem') } }), 'k').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect(err).toMatchObject({ retryable: false, message: expect.stringContaining(`cannot read tls.ca_file ${join(dir, 'missing.pem')}`) });
  });

  it('reads the SASL password from a file without its trailing newline', async () => {
    await writeFile(join(dir, 'pw'), 's3cret\n', { mode: 0o600 });
    const cfg = await kafkaClientConfig(config({ sasl: { enabled: true, mechanism: 'plain', username: 'agent', password_file: join(dir, 'pw') } }), 'k');
    expect(cfg.sasl).toEqual({ mechanism: 'plain', username: 'agent', password: 's3cret' });
  });

  it('takes the password from the environment or inline', async () => {
    const env = await kafkaClientConfig(config({ sasl: { enabled: true, username: 'u', password_env: 'PW' } }), 'k', { PW: 'e' });
    expect(env.sasl).toMatchObject({ password: 'e' });
    await expect(kafkaClientConfig(config({ sasl: { enabled: true, username: 'u', password_env: 'PW' } }), 'k', { PW: '' })).rejects.toThrow(/PW is not set/);
    expect((await kafkaClientConfig(config({ sasl: { enabled: true, username: 'u', password: 'i' } }), 'k')).sasl).toMatchObject({ password: 'i' });
  });

  it('maps timeouts, retries and the log level', async () => {
    const cfg = await kafkaClientConfig(
      config({ connection_timeout_ms: 1234, request_timeout_ms: 5678, retry: { max_retries: 7, initial_backoff_ms: 10, max_backoff_ms: 20 }, log_level: 'warn' }),
      'k',
    );
    expect(cfg).toMatchObject({
      connectionTimeout: 1234,
      authenticationTimeout: 1234,
      requestTimeout: 5678,
      enforceRequestTimeout: true,
      retry: { retries: 7, initialRetryTime: 10, maxRetryTime: 20 },
      logLevel: logLevel.WARN,
    });
    expect(producerConfig(config({ idempotent: false, max_in_flight_requests: 9, create_topics: { enabled: true } }))).toMatchObject({
      idempotent: false,
      maxInFlightRequests: 9,
      allowAutoTopicCreation: true,
      createPartitioner: javaCompatiblePartitioner,
    });
  });
});

describe('kafkajs log lines', () => {
  const entry = (message: string, extra: Record<string, unknown> = {}): LogEntry => ({
    namespace: 'Connection',
    level: logLevel.ERROR,
    label: 'ERROR',
    log: { timestamp: 't', logger: 'kafkajs', message, ...extra },
  });

  it('writes each distinct message at most once per 10 s, saying how many were held back', () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const log = rateLimitedLogger('audit', (l) => lines.push(l))(logLevel.ERROR);
    log(entry('Connection error: connect ECONNREFUSED', { broker: '127.0.0.1:9092' }));
    log(entry('Connection error: connect ECONNREFUSED', { broker: '127.0.0.1:9092' }));
    log(entry('Connection error: connect ECONNREFUSED', { broker: '127.0.0.1:9092' }));
    log(entry('Request timed out'));
    vi.advanceTimersByTime(10_001);
    log(entry('Connection error: connect ECONNREFUSED', { broker: '127.0.0.1:9092' }));
    expect(lines).toEqual([
      'kafka sink audit: error: [Connection] Connection error: connect ECONNREFUSED {"broker":"127.0.0.1:9092"}',
      'kafka sink audit: error: [Connection] Request timed out',
      'kafka sink audit: error: [Connection] Connection error: connect ECONNREFUSED (2 more since) {"broker":"127.0.0.1:9092"}',
    ]);
  });

  it('drops kafkajs’s warning about the bounded retries we chose', () => {
    const lines: string[] = [];
    rateLimitedLogger('k', (l) => lines.push(l))(logLevel.WARN)(entry('Limiting retries for the idempotent producer may invalidate EoS guarantees'));
    expect(lines).toEqual([]);
  });
});
