// Options of the `otlp_http` sink: one OTLP log record per event, POSTed as OTLP/HTTP JSON to a collector.
//
// Precedence follows the OpenTelemetry convention: an option given explicitly in the sink's configuration
// wins over the environment (OTEL_EXPORTER_OTLP_LOGS_* before OTEL_EXPORTER_OTLP_*), which wins over the
// built-in default. That is why endpoint, headers, timeout_ms and compression have no schema default: an
// absent option means "from the environment, else the built-in default", resolved by resolveOtlpSettings()
// when the sink is created.

import { z } from 'zod';
import { parseKeyPairsIntoRecord } from '@opentelemetry/core';
import { ConfigError, type ConfigIssue } from '@peregrine/events';

/** The built-in defaults, used when neither the configuration nor the environment sets a value. */
export const OTLP_SINK_DEFAULTS = {
  endpoint: 'http://localhost:4318/v1/logs',
  timeout_ms: 10_000,
  compression: 'none',
  max_batch_events: 512, // = OTEL_BLRP_MAX_EXPORT_BATCH_SIZE's default
  max_in_flight_requests: 2,
  service_name: 'peregrine',
} as const;

export const OTLP_COMPRESSIONS = ['none', 'gzip'] as const;
export type OtlpCompression = (typeof OTLP_COMPRESSIONS)[number];

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

export const otlpSinkSchema = z.strictObject({
  endpoint: httpUrl
    .optional()
    .describe(
      'Full URL log records are POSTed to (OTLP/HTTP, JSON). Default: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT as is, else ' +
        'OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/logs", else http://localhost:4318/v1/logs.',
    ),
  headers: z
    .record(z.string().min(1), z.string())
    .optional()
    .describe(
      'HTTP headers sent with every request (e.g. authorization). Merged per key over OTEL_EXPORTER_OTLP_HEADERS and ' +
        'OTEL_EXPORTER_OTLP_LOGS_HEADERS; these win.',
    ),
  timeout_ms: z
    .int()
    .min(1)
    .optional()
    .describe(
      'Time one batch may take, the exporter\'s own retries of 429/502/503/504 and network errors included. ' +
        'Default: OTEL_EXPORTER_OTLP_LOGS_TIMEOUT, else OTEL_EXPORTER_OTLP_TIMEOUT, else 10000.',
    ),
  compression: z
    .enum(OTLP_COMPRESSIONS)
    .optional()
    .describe('Request body compression. Default: OTEL_EXPORTER_OTLP_LOGS_COMPRESSION, else OTEL_EXPORTER_OTLP_COMPRESSION, else none.'),
  max_batch_events: z
    .int()
    .min(1)
    .max(100_000)
    .default(OTLP_SINK_DEFAULTS.max_batch_events)
    .describe('Log records per request; a larger write() is sent as several requests, in order.'),
  max_in_flight_requests: z
    .int()
    .min(1)
    .max(64)
    .default(OTLP_SINK_DEFAULTS.max_in_flight_requests)
    .describe(
      'Export requests of one write sent at once (a write larger than max_batch_events is several requests). When one fails, ' +
        'the write answers with the requests before it delivered; later ones that got through are resent with the rest (at-least-once).',
    ),
  resource_attributes: z
    .record(z.string().min(1), z.string())
    .default({})
    .describe(
      'Resource attributes of every record. Merged over OTEL_RESOURCE_ATTRIBUTES (percent-decoded) and OTEL_SERVICE_NAME; ' +
        'these win. service.name defaults to "peregrine", host.name to the node name.',
    ),
});

export type OtlpSinkConfig = z.output<typeof otlpSinkSchema>;

/** What the sink actually uses: every option resolved against the environment and the defaults. */
export interface OtlpSettings {
  endpoint: string;
  headers: Record<string, string>;
  timeoutMs: number;
  compression: OtlpCompression;
  maxBatchEvents: number;
  maxInFlightRequests: number;
  /** service.name, host.name, OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME, then resource_attributes. */
  resourceAttributes: Record<string, string>;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Resolve a validated configuration against the environment (OTel precedence: config > OTEL_*_LOGS_* >
 * OTEL_* > default). Throws a ConfigError naming the variable when the environment holds a bad value.
 */
export function resolveOtlpSettings(config: OtlpSinkConfig, nodeName: string, env: Env = process.env): OtlpSettings {
  const issues: ConfigIssue[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };

  const endpoint = config.endpoint ?? endpointFromEnv(get, issues) ?? OTLP_SINK_DEFAULTS.endpoint;

  const headers = {
    ...parseKeyPairsIntoRecord(get('OTEL_EXPORTER_OTLP_HEADERS')),
    ...parseKeyPairsIntoRecord(get('OTEL_EXPORTER_OTLP_LOGS_HEADERS')),
    ...config.headers,
  };

  const timeoutMs =
    config.timeout_ms ??
    positiveInt('OTEL_EXPORTER_OTLP_LOGS_TIMEOUT', get, issues) ??
    positiveInt('OTEL_EXPORTER_OTLP_TIMEOUT', get, issues) ??
    OTLP_SINK_DEFAULTS.timeout_ms;

  const compression =
    config.compression ??
    compressionFromEnv('OTEL_EXPORTER_OTLP_LOGS_COMPRESSION', get, issues) ??
    compressionFromEnv('OTEL_EXPORTER_OTLP_COMPRESSION', get, issues) ??
    OTLP_SINK_DEFAULTS.compression;

  // We speak OTLP/HTTP; any OTLP/HTTP receiver takes JSON as well as protobuf. gRPC would need another port.
  if (config.endpoint === undefined) {
    const protoVar = get('OTEL_EXPORTER_OTLP_LOGS_PROTOCOL') !== undefined ? 'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
    if (get(protoVar) === 'grpc') {
      issues.push({ path: protoVar, message: 'the otlp_http sink speaks OTLP/HTTP, not grpc: set its endpoint to the collector\'s HTTP port (4318)' });
    }
  }

  const resourceAttributes: Record<string, string> = {
    'service.name': OTLP_SINK_DEFAULTS.service_name,
    ...(nodeName !== '' ? { 'host.name': nodeName } : {}),
    ...parseResourceAttributes(get('OTEL_RESOURCE_ATTRIBUTES'), issues),
    ...(get('OTEL_SERVICE_NAME') !== undefined ? { 'service.name': get('OTEL_SERVICE_NAME') as string } : {}),
    ...config.resource_attributes,
  };

  if (issues.length > 0) throw new ConfigError('otlp_http sink environment', issues);
  return { endpoint, headers, timeoutMs, compression, maxBatchEvents: config.max_batch_events, maxInFlightRequests: config.max_in_flight_requests, resourceAttributes };
}

type Get = (name: string) => string | undefined;

function endpointFromEnv(get: Get, issues: ConfigIssue[]): string | undefined {
  const logs = get('OTEL_EXPORTER_OTLP_LOGS_ENDPOINT');
  if (logs !== undefined) return checkUrl('OTEL_EXPORTER_OTLP_LOGS_ENDPOINT', logs, issues); // used verbatim
  const base = get('OTEL_EXPORTER_OTLP_ENDPOINT');
  if (base !== undefined) return checkUrl('OTEL_EXPORTER_OTLP_ENDPOINT', `${base.replace(/\/+$/, '')}/v1/logs`, issues);
  return undefined;
}

function checkUrl(name: string, value: string, issues: ConfigIssue[]): string | undefined {
  if (httpUrl.safeParse(value).success) return value;
  issues.push({ path: name, message: `"${value}" is not an http:// or https:// URL` });
  return undefined;
}

function positiveInt(name: string, get: Get, issues: ConfigIssue[]): number | undefined {
  const raw = get(name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (Number.isInteger(n) && n > 0) return n;
  issues.push({ path: name, message: `"${raw}" is not a positive whole number of milliseconds` });
  return undefined;
}

function compressionFromEnv(name: string, get: Get, issues: ConfigIssue[]): OtlpCompression | undefined {
  const raw = get(name);
  if (raw === undefined) return undefined;
  if ((OTLP_COMPRESSIONS as readonly string[]).includes(raw)) return raw as OtlpCompression;
  issues.push({ path: name, message: `"${raw}" is not one of ${OTLP_COMPRESSIONS.join(', ')}` });
  return undefined;
}

/**
 * OTEL_RESOURCE_ATTRIBUTES: `key=value` pairs separated by commas, keys and values percent-decoded
 * (`,` and `=` inside them must be encoded). Unlike the SDK's envDetector, which discards a malformed
 * value silently, a bad entry is a configuration error: the agent fails fast at start instead.
 */
export function parseResourceAttributes(raw: string | undefined, issues: ConfigIssue[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined) return out;
  for (const entry of raw.split(',')) {
    if (entry.trim() === '') continue;
    const parts = entry.split('=');
    const key = parts[0]?.trim() ?? '';
    if (parts.length !== 2 || key === '') {
      issues.push({ path: 'OTEL_RESOURCE_ATTRIBUTES', message: `"${entry}" is not key=value (percent-encode "," and "=")` });
      continue;
    }
    try {
      out[decodeURIComponent(key)] = decodeURIComponent((parts[1] as string).trim());
    } catch {
      issues.push({ path: 'OTEL_RESOURCE_ATTRIBUTES', message: `"${entry}" is not validly percent-encoded` });
    }
  }
  return out;
}
