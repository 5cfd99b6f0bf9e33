// The elasticsearch sink's checks: can we reach and use the cluster, and does it have data streams?

import { SinkError } from '@peregrine/events';
import { statusOf, toEsError, type Client } from './client.js';
import type { EsMode } from './config.js';
import type { ResolvedMode } from './template.js';

/**
 * Resolves when GET _cluster/health answers (which also proves the credentials) and the cluster is not red.
 * Rejects with "cannot reach Elasticsearch at …: connect ECONNREFUSED …", "authentication failed (401)", ….
 * (Not GET /: it lives in the rest-root module, which minimal distributions such as integ-test-zip lack.)
 */
export async function checkHealth(client: Client, urls: readonly string[], timeoutMs: number): Promise<void> {
  const what = 'elasticsearch healthcheck';
  let status: string;
  try {
    status = (await client.cluster.health({ timeout: `${Math.max(1, Math.floor(timeoutMs / 1000))}s` }, { requestTimeout: timeoutMs })).status;
  } catch (err) {
    throw toEsError(err, urls, what);
  }
  if (status.toLowerCase() === 'red') throw new SinkError(`${what}: cluster at ${urls.join(', ')} is red`, true);
}

/**
 * data_stream or index. `auto` asks GET _data_stream/<index>: 200 (it exists) or 404 index_not_found (it
 * does not yet) mean the cluster has data streams; any other answer (405/400 on a node without the
 * data-streams module, whose core still creates a data stream from a template but offers no API to list,
 * delete or roll it over; 403 without the monitor privilege) falls back to daily indices.
 */
export async function resolveMode(client: Client, mode: EsMode, index: string): Promise<ResolvedMode> {
  if (mode === 'index') return 'index';
  const supported = await hasDataStreams(client, index);
  if (supported) return 'data_stream';
  if (mode === 'data_stream') {
    throw new SinkError(`mode data_stream: this cluster has no data streams (GET _data_stream fails); use mode index or auto`, false);
  }
  return 'index';
}

export async function hasDataStreams(client: Client, index: string): Promise<boolean> {
  try {
    await client.indices.getDataStream({ name: index });
    return true;
  } catch (err) {
    const status = statusOf(err);
    if (status === undefined || status === 401) throw err; // unreachable or unauthenticated: start() fails
    const type = (err as { body?: { error?: { type?: string } } }).body?.error?.type;
    return status === 404 && type === 'index_not_found_exception';
  }
}
