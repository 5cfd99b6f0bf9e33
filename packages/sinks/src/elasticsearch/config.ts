// Options of the `elasticsearch` sink: ECS documents, bulk `create` with a deterministic _id, into a data
// stream where the cluster has them and into daily indices (<index>-YYYY.MM.DD) otherwise.

import { z } from 'zod';

const MiB = 1024 * 1024;

export const ES_MODES = ['auto', 'data_stream', 'index'] as const;
export type EsMode = (typeof ES_MODES)[number];

/** The documented defaults; the schema fills in the same values. */
export const ELASTICSEARCH_SINK_DEFAULTS = {
  url: 'http://localhost:9200',
  index: 'peregrine-events',
  mode: 'auto',
  bulk_max_bytes: 5 * MiB,
  bulk_max_events: 2000,
  max_in_flight_requests: 2,
  flush_interval_ms: 0,
  request_timeout_ms: 30_000,
  retry: { max_attempts: 5, initial_backoff_ms: 100, max_backoff_ms: 5_000 },
  install_template: true,
  ecs_only: false,
} as const;

const D = ELASTICSEARCH_SINK_DEFAULTS;
const httpUrl = z.url({ protocol: /^https?$/ });
const secretSource = (what: string) =>
  ({
    file: z.string().min(1).optional().describe(`File holding the ${what} (trailing newline ignored).`),
    env: z.string().min(1).optional().describe(`Environment variable holding the ${what}.`),
  }) as const;

const password = secretSource('password');
const apiKey = secretSource('API key (the base64 "id:key" form Elasticsearch returns as `encoded`)');

const authSchema = z
  .strictObject({
    username: z.string().min(1).optional().describe('Basic authentication user; needs password_file or password_env.'),
    password_file: password.file,
    password_env: password.env,
    api_key_file: apiKey.file,
    api_key_env: apiKey.env,
  })
  .superRefine((a, ctx) => {
    const basic = a.username !== undefined;
    const pw = [a.password_file, a.password_env].filter((v) => v !== undefined).length;
    const key = [a.api_key_file, a.api_key_env].filter((v) => v !== undefined).length;
    if (basic && key > 0) ctx.addIssue({ code: 'custom', message: 'use either username/password or an API key, not both' });
    if (basic && pw !== 1) ctx.addIssue({ code: 'custom', path: ['password_file'], message: 'username needs exactly one of password_file, password_env' });
    if (!basic && pw > 0) ctx.addIssue({ code: 'custom', path: ['username'], message: 'a password needs a username' });
    if (key > 1) ctx.addIssue({ code: 'custom', path: ['api_key_file'], message: 'give only one of api_key_file, api_key_env' });
    if (!basic && key === 0 && pw === 0) ctx.addIssue({ code: 'custom', message: 'give username + password_file|password_env, or api_key_file|api_key_env' });
  })
  .describe('Credentials, read at start from a file or an environment variable (never inline). Omit for an unsecured cluster.');

export const elasticsearchSinkSchema = z
  .strictObject({
    url: httpUrl.optional().describe(`The Elasticsearch node, e.g. https://es.example.com:9200 (default ${D.url}).`),
    urls: z.array(httpUrl).min(1).optional().describe('Several nodes of one cluster, used round-robin; instead of url.'),
    index: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._+-]*$/, 'lower case letters, digits and . _ + - only, not starting with a symbol')
      .max(200)
      .default(D.index)
      .describe('Data stream name (data_stream mode), or the prefix of daily indices <index>-YYYY.MM.DD (index mode).'),
    mode: z
      .enum(ES_MODES)
      .default(D.mode)
      .describe('data_stream, index, or auto: a data stream when the cluster supports them (GET _data_stream), daily indices otherwise.'),
    auth: authSchema.optional(),
    tls: z
      .strictObject({
        ca_file: z.string().min(1).optional().describe('PEM file of the CA that signed the cluster certificate.'),
        reject_unauthorized: z.boolean().default(true).describe('Verify the server certificate (turn off only for tests).'),
      })
      .optional(),
    bulk_max_bytes: z.int().min(1024).default(D.bulk_max_bytes).describe('Largest _bulk request body; bigger batches are split.'),
    bulk_max_events: z.int().min(1).default(D.bulk_max_events).describe('Most documents per _bulk request; also caps how many queued batches are merged.'),
    max_in_flight_requests: z
      .int()
      .min(1)
      .max(64)
      .default(D.max_in_flight_requests)
      .describe(
        '_bulk requests sent at once. Queued batches are merged into units of up to this many times bulk_max_events, and a ' +
          "unit's documents are spread over up to this many concurrent requests (so a single write uses them too); 1 sends one request at a time.",
      ),
    flush_interval_ms: z
      .int()
      .min(0)
      .default(D.flush_interval_ms)
      .describe('How long a request waits for more batches to merge when it holds fewer than bulk_max_events; 0 sends at once.'),
    request_timeout_ms: z.int().min(1).default(D.request_timeout_ms).describe('Timeout of each HTTP request.'),
    retry: z
      .strictObject({
        max_attempts: z.int().min(1).default(D.retry.max_attempts).describe('Tries per document refused with 429/5xx within one write (1 = no retry).'),
        initial_backoff_ms: z.int().min(0).default(D.retry.initial_backoff_ms).describe('Wait before the first retry; doubled each time, with jitter.'),
        max_backoff_ms: z.int().min(0).default(D.retry.max_backoff_ms).describe('Longest wait between retries.'),
      })
      .default({ ...D.retry })
      .describe('Per-document retries inside one write; whole-request failures are answered retryable to the caller instead.'),
    install_template: z.boolean().default(D.install_template).describe('PUT the index template (ECS mappings) at start.'),
    ecs_only: z.boolean().default(D.ecs_only).describe('Leave out the original Tetragon-shaped event (the `peregrine` field).'),
  })
  .refine((c) => c.url === undefined || c.urls === undefined, { path: ['urls'], message: 'give url or urls, not both' });

export type ElasticsearchSinkConfig = z.output<typeof elasticsearchSinkSchema>;

/** The nodes to talk to. */
export function nodeUrls(config: Pick<ElasticsearchSinkConfig, 'url' | 'urls'>): string[] {
  return config.urls !== undefined ? [...config.urls] : [config.url ?? ELASTICSEARCH_SINK_DEFAULTS.url];
}
