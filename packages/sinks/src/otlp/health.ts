// The otlp_http sink's healthcheck: POST an empty ExportLogsServiceRequest ({"resourceLogs":[]}) to the
// endpoint, with the configured headers. Any 2xx means a collector is there and takes our requests.

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SinkError } from '@peregrine/events';
import { errnoCode } from '../errors.js';
import { isRetryableStatus } from './retry.js';

export const EMPTY_EXPORT_REQUEST = '{"resourceLogs":[]}';

/** Resolves on a 2xx answer; rejects with a SinkError saying what went wrong otherwise. */
export function checkEndpoint(endpoint: string, headers: Record<string, string>, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (message: string, retryable: boolean, cause?: unknown): void =>
      reject(new SinkError(`OTLP endpoint ${endpoint} ${message}`, retryable, cause === undefined ? undefined : { cause }));
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch (err) {
      fail('is not a valid URL', false, err);
      return;
    }
    const body = Buffer.from(EMPTY_EXPORT_REQUEST);
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(body.length) },
      timeout: timeoutMs,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.length < 16 && chunks.push(c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve();
        const text = Buffer.concat(chunks).toString('utf8').slice(0, 200).trim();
        fail(`answered HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}${text ? `: ${text}` : ''}`, isRetryableStatus(status));
      });
      res.on('error', (err) => fail(`unreachable: ${describe(err)}`, true, err));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => fail(`unreachable: ${describe(err)}`, true, err));
    req.end(body);
  });
}

/** ECONNREFUSED rather than "connect ECONNREFUSED 127.0.0.1:4318" (the URL is already in the message). */
function describe(err: unknown): string {
  const code = errnoCode(err) ?? errnoCode((err as { errors?: unknown[] } | null)?.errors?.[0]);
  if (code === 'ETIMEDOUT' && err instanceof Error && !err.message.includes('ETIMEDOUT')) return `${code} (${err.message})`;
  return code ?? (err instanceof Error ? err.message : String(err));
}
