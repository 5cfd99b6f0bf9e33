import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, parseConfig } from '@peregrine/events';
import { ELASTICSEARCH_SINK_DEFAULTS, elasticsearchSinkSchema, nodeUrls } from './config.js';
import { elasticsearchSinkFactory } from './factory.js';

function issues(value: unknown): { path: string; message: string }[] {
  try {
    parseConfig(elasticsearchSinkSchema, value, 'elasticsearch sink config');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

const paths = (value: unknown): string[] => issues(value).map((i) => i.path).sort();

describe('elasticsearch sink config', () => {
  it('fills in the defaults', () => {
    expect(parseConfig(elasticsearchSinkSchema, {}, 'cfg')).toEqual({
      index: 'peregrine-events',
      mode: 'auto',
      bulk_max_bytes: 5 * 1024 * 1024,
      bulk_max_events: 2000,
      max_in_flight_requests: 2,
      flush_interval_ms: 0,
      request_timeout_ms: 30_000,
      retry: { max_attempts: 5, initial_backoff_ms: 100, max_backoff_ms: 5000 },
      install_template: true,
      ecs_only: false,
    });
    expect(nodeUrls(parseConfig(elasticsearchSinkSchema, {}, 'cfg'))).toEqual(['http://localhost:9200']);
  });

  it('defaultConfig() is complete and valid', () => {
    const cfg = elasticsearchSinkFactory.defaultConfig();
    expect(cfg.url).toBe(ELASTICSEARCH_SINK_DEFAULTS.url);
    expect(elasticsearchSinkSchema.parse(cfg)).toEqual(cfg);
  });

  it('takes url or urls, not both', () => {
    expect(nodeUrls(elasticsearchSinkSchema.parse({ url: 'https://es:9200' }))).toEqual(['https://es:9200']);
    expect(nodeUrls(elasticsearchSinkSchema.parse({ urls: ['http://a:9200', 'http://b:9200'] }))).toEqual(['http://a:9200', 'http://b:9200']);
    expect(paths({ url: 'http://a:9200', urls: ['http://b:9200'] })).toEqual(['urls']);
    expect(paths({ url: 'es:9200' })).toEqual(['url']);
    expect(paths({ url: 'ftp://es' })).toEqual(['url']);
    expect(paths({ urls: [] })).toEqual(['urls']);
  });

  it('checks the index name and mode', () => {
    expect(paths({ index: 'Peregrine' })).toEqual(['index']);
    expect(paths({ index: '-x' })).toEqual(['index']);
    expect(paths({ index: 'a b' })).toEqual(['index']);
    expect(elasticsearchSinkSchema.parse({ index: 'logs-peregrine.process-default', mode: 'data_stream' }).mode).toBe('data_stream');
    expect(paths({ mode: 'stream' })).toEqual(['mode']);
  });

  it('rejects unknown keys, naming them', () => {
    const found = issues({ hosts: ['x'], retry: { attempts: 3 } });
    expect(found.map((i) => i.path).sort()).toEqual(['hosts', 'retry.attempts']);
    expect(found.every((i) => i.message === 'unknown field')).toBe(true);
  });

  it('rejects wrong types and ranges, naming every field', () => {
    expect(paths({ bulk_max_bytes: '5MB', bulk_max_events: 0, flush_interval_ms: -1, request_timeout_ms: 1.5, install_template: 'yes' })).toEqual([
      'bulk_max_bytes',
      'bulk_max_events',
      'flush_interval_ms',
      'install_template',
      'request_timeout_ms',
    ]);
    expect(paths({ retry: { max_attempts: 0, initial_backoff_ms: -5 } })).toEqual(['retry.initial_backoff_ms', 'retry.max_attempts']);
  });

  it('takes secrets from files or the environment only', () => {
    expect(elasticsearchSinkSchema.parse({ auth: { username: 'elastic', password_env: 'ES_PASSWORD' } }).auth).toEqual({
      username: 'elastic',
      password_env: 'ES_PASSWORD',
    });
    expect(elasticsearchSinkSchema.parse({ auth: { api_key_file: '/run/secrets/es' } }).auth).toEqual({ api_key_file: '/run/secrets/es' });
    expect(paths({ auth: { username: 'elastic', password: 'x' } })).toEqual(['auth.password', 'auth.password_file']);
    expect(paths({ auth: { username: 'elastic' } })).toEqual(['auth.password_file']);
    expect(paths({ auth: { password_file: '/p' } })).toEqual(['auth.username']);
    expect(paths({ auth: { username: 'u', password_env: 'P', api_key_env: 'K' } })).toEqual(['auth']);
    expect(paths({ auth: {} })).toEqual(['auth']);
  });

  it('takes TLS options', () => {
    expect(elasticsearchSinkSchema.parse({ tls: { ca_file: '/etc/ca.pem' } }).tls).toEqual({ ca_file: '/etc/ca.pem', reject_unauthorized: true });
    expect(paths({ tls: { ca: 'PEM' } })).toEqual(['tls.ca']);
  });

  it('has a JSON Schema', () => {
    const schema = z.toJSONSchema(elasticsearchSinkSchema, { io: 'input' }) as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(Object.keys(schema.properties)).toContain('bulk_max_bytes');
    expect(schema.additionalProperties).toBe(false);
  });
});
