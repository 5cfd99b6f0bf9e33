import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '@peregrine/events';
import { defaultSinkRegistry } from '../builtin.js';
import { OTLP_SINK_DEFAULTS, otlpSinkSchema, parseResourceAttributes, resolveOtlpSettings } from './config.js';

const parse = (v: unknown = {}) => otlpSinkSchema.parse(v);
const resolve = (cfg: unknown = {}, env: Record<string, string> = {}, node = 'node-a') => resolveOtlpSettings(parse(cfg), node, env);

describe('otlp_http config', () => {
  it('fills in the built-in defaults when neither config nor environment says anything', () => {
    expect(parse()).toEqual({ max_batch_events: 512, max_in_flight_requests: 2, resource_attributes: {} });
    expect(resolve()).toEqual({
      endpoint: 'http://localhost:4318/v1/logs',
      headers: {},
      timeoutMs: 10_000,
      compression: 'none',
      maxBatchEvents: 512,
      maxInFlightRequests: 2,
      resourceAttributes: { 'service.name': 'peregrine', 'host.name': 'node-a' },
    });
    expect(OTLP_SINK_DEFAULTS.endpoint).toBe('http://localhost:4318/v1/logs');
  });

  it('rejects unknown keys, bad URLs and bad values with their paths', () => {
    const r = defaultSinkRegistry();
    expect(() => r.parse('otlp_http', { endpoint: 'ftp://x/v1/logs', timeout: 5, compression: 'zstd', max_batch_events: 0 }, 'sinks.otel')).toThrow(
      ConfigError,
    );
    try {
      r.parse('otlp_http', { endpoint: 'ftp://x/v1/logs', timeout: 5, compression: 'zstd', max_batch_events: 0 }, 'sinks.otel');
    } catch (err) {
      const paths = (err as ConfigError).issues.map((i) => i.path).sort();
      expect(paths).toEqual(['sinks.otel.compression', 'sinks.otel.endpoint', 'sinks.otel.max_batch_events', 'sinks.otel.timeout']);
    }
  });

  it('endpoint: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT verbatim, over OTEL_EXPORTER_OTLP_ENDPOINT + /v1/logs', () => {
    expect(resolve({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).endpoint).toBe('http://collector:4318/v1/logs');
    expect(resolve({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/otlp/' }).endpoint).toBe('http://collector:4318/otlp/v1/logs');
    expect(
      resolve({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'https://logs.example:443/custom' }).endpoint,
    ).toBe('https://logs.example:443/custom');
  });

  it('explicit config wins over the environment (OTel convention)', () => {
    const env = {
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://env-logs:4318/v1/logs',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318',
      OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: '2500',
      OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
      OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20env,x-a=1',
      OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'x-a=2,x-b=3',
      OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-env,deployment.environment.name=prod',
    };
    const fromEnv = resolve({}, env);
    expect(fromEnv).toMatchObject({
      endpoint: 'http://env-logs:4318/v1/logs',
      timeoutMs: 2500,
      compression: 'gzip',
      headers: { authorization: 'Bearer env', 'x-a': '2', 'x-b': '3' },
      resourceAttributes: { 'service.name': 'from-env', 'deployment.environment.name': 'prod' },
    });
    const explicit = resolve(
      {
        endpoint: 'http://cfg:4318/v1/logs',
        timeout_ms: 900,
        compression: 'none',
        headers: { 'x-b': 'cfg' },
        resource_attributes: { 'service.name': 'cfg-svc' },
      },
      env,
    );
    expect(explicit).toMatchObject({
      endpoint: 'http://cfg:4318/v1/logs',
      timeoutMs: 900,
      compression: 'none',
      headers: { authorization: 'Bearer env', 'x-a': '2', 'x-b': 'cfg' },
      resourceAttributes: { 'service.name': 'cfg-svc', 'deployment.environment.name': 'prod', 'host.name': 'node-a' },
    });
  });

  it('timeout and compression fall back from the LOGS variable to the generic one', () => {
    expect(resolve({}, { OTEL_EXPORTER_OTLP_TIMEOUT: '3000', OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' })).toMatchObject({
      timeoutMs: 3000,
      compression: 'gzip',
    });
  });

  it('resource: service.name peregrine, host.name the node; OTEL_SERVICE_NAME over OTEL_RESOURCE_ATTRIBUTES', () => {
    expect(resolve({}, { OTEL_RESOURCE_ATTRIBUTES: 'service.name=a', OTEL_SERVICE_NAME: 'b' }).resourceAttributes['service.name']).toBe('b');
    expect(resolve({}, { OTEL_RESOURCE_ATTRIBUTES: 'host.name=override' }).resourceAttributes['host.name']).toBe('override');
    expect(resolve({}, {}, '').resourceAttributes).toEqual({ 'service.name': 'peregrine' });
  });

  it('percent-decodes OTEL_RESOURCE_ATTRIBUTES keys and values', () => {
    expect(parseResourceAttributes('k8s.cluster.name=prod%2Ceu, team = sec%3Dops ,note=caf%C3%A9%20%E2%9C%93,,')).toEqual({
      'k8s.cluster.name': 'prod,eu',
      team: 'sec=ops',
      note: 'café ✓',
    });
  });

  it('fails fast on a malformed environment, naming the variable', () => {
    const bad = {
      OTEL_RESOURCE_ATTRIBUTES: 'a=b=c,ok=1,pct=%E2%28',
      OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: 'soon',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'collector:4318',
    };
    let err: unknown;
    try {
      resolve({}, bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => i.path)).toEqual([
      'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT',
      'OTEL_EXPORTER_OTLP_LOGS_TIMEOUT',
      'OTEL_EXPORTER_OTLP_COMPRESSION',
      'OTEL_RESOURCE_ATTRIBUTES',
      'OTEL_RESOURCE_ATTRIBUTES',
    ]);
  });

  it('refuses OTEL_EXPORTER_OTLP_PROTOCOL=grpc unless the endpoint is explicit', () => {
    expect(() => resolve({}, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL.*OTLP\/HTTP/s);
    expect(() => resolve({}, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' })).not.toThrow();
    expect(() => resolve({ endpoint: 'http://c:4318/v1/logs' }, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).not.toThrow();
  });

  it('is registered as otlp_http with a JSON Schema that leaves env-resolved options without a default', () => {
    const f = defaultSinkRegistry().get('otlp_http');
    expect(f?.defaultConfig()).toEqual(parse());
    const schema = z.toJSONSchema(otlpSinkSchema, { io: 'input' }) as { properties: Record<string, { default?: unknown }>; additionalProperties: boolean };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties['endpoint']?.default).toBeUndefined();
    expect(schema.properties['max_batch_events']?.default).toBe(512);
  });
});
