// The @elastic/elasticsearch client, built at start from the config (secrets read from files or the
// environment), and client errors turned into SinkErrors that say what to fix.

import { readFile } from 'node:fs/promises';
import { Client, errors, type ClientOptions } from '@elastic/elasticsearch';
import { SinkError } from '@peregrine/events';
import { nodeUrls, type ElasticsearchSinkConfig } from './config.js';

export type { Client };

export async function createClient(config: ElasticsearchSinkConfig): Promise<Client> {
  const options: ClientOptions = {
    node: nodeUrls(config),
    requestTimeout: config.request_timeout_ms,
    // The sink retries (per document, or the caller per batch): the client must not resend a _bulk on its own.
    maxRetries: 0,
    name: 'peregrine',
  };
  const auth = config.auth;
  if (auth?.username !== undefined) {
    options.auth = { username: auth.username, password: await secret(auth.password_file, auth.password_env, 'password') };
  } else if (auth !== undefined) {
    options.auth = { apiKey: await secret(auth.api_key_file, auth.api_key_env, 'API key') };
  }
  if (config.tls !== undefined) {
    options.tls = {
      rejectUnauthorized: config.tls.reject_unauthorized,
      ...(config.tls.ca_file !== undefined ? { ca: await readSecretFile(config.tls.ca_file, 'CA file') } : {}),
    };
  }
  return new Client(options);
}

async function secret(file: string | undefined, env: string | undefined, what: string): Promise<string> {
  if (file !== undefined) return (await readSecretFile(file, what)).replace(/\r?\n$/, '');
  const value = env === undefined ? undefined : process.env[env];
  if (value === undefined || value === '') throw new SinkError(`${what} environment variable ${env ?? '(none)'} is not set`, false);
  return value;
}

async function readSecretFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new SinkError(`cannot read ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`, false, { cause: err });
  }
}

/** HTTP status of a client error, if the server answered. */
export function statusOf(err: unknown): number | undefined {
  return err instanceof errors.ResponseError ? err.statusCode : undefined;
}

/** `type: reason` of an Elasticsearch error body (or the message). */
export function reasonOf(err: unknown): string {
  if (err instanceof errors.ResponseError) {
    const e = (err.body as { error?: unknown } | undefined)?.error;
    if (typeof e === 'object' && e !== null) return describeCause(e as { type?: string; reason?: string });
    if (typeof e === 'string') return e;
  }
  return err instanceof Error ? err.message : String(err);
}

export function describeCause(cause: { type?: string | undefined; reason?: string | null | undefined; caused_by?: unknown }): string {
  const inner = cause.caused_by as { type?: string; reason?: string } | undefined;
  const base = `${cause.type ?? 'error'}: ${cause.reason ?? ''}`.trim();
  return inner?.reason ? `${base} (${inner.type ?? 'caused by'}: ${inner.reason})` : base;
}

/** Retry helps after 429, 5xx, timeouts and connection failures; not after other 4xx or bad config. */
export function isRetryable(err: unknown): boolean {
  const status = statusOf(err);
  if (status !== undefined) return status === 429 || status >= 500;
  return (
    err instanceof errors.ConnectionError ||
    err instanceof errors.TimeoutError ||
    err instanceof errors.NoLivingConnectionsError ||
    err instanceof errors.DeserializationError
  );
}

/** A SinkError naming the cluster and the cause: "cannot reach Elasticsearch at …", "authentication failed (401)". */
export function toEsError(err: unknown, urls: readonly string[], what: string): SinkError {
  if (err instanceof SinkError) return err;
  const where = urls.join(', ');
  const status = statusOf(err);
  let message: string;
  if (status === 401) message = `${what}: authentication failed (401) at ${where}`;
  else if (status === 403) message = `${what}: permission denied (403) at ${where}: ${reasonOf(err)}`;
  else if (status !== undefined) message = `${what}: Elasticsearch at ${where} answered ${status}: ${reasonOf(err)}`;
  else if (err instanceof errors.ProductNotSupportedError) message = `${what}: ${where} is not Elasticsearch`;
  else if (err instanceof errors.TimeoutError) message = `${what}: Elasticsearch at ${where} timed out`;
  else message = `${what}: cannot reach Elasticsearch at ${where}: ${reasonOf(err)}`;
  return new SinkError(message, isRetryable(err), { cause: err });
}
