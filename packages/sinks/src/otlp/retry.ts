// What a failed OTLP export means for the batch. The exporter has already retried 429/502/503/504 and
// network errors itself within timeout_ms; what reaches us is final for this attempt:
// - an HTTP status the collector chose (OTLPExporterError.code): 429/502/503/504 retryable, any other
//   (400 bad request, 401/403, 404, 413, 500…) rejected: the collector saw the data and refused it;
// - a network error (errno code), a timeout, or the exporter's "retryable status" (a 429/502/503/504 whose
//   retries ran out; the exporter does not keep the status): retryable;
// - anything else: retryable, so that an unknown failure never drops events.

import { SinkError } from '@peregrine/events';
import { errnoCode } from '../errors.js';

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status);
}

export interface ExportFailure {
  error: SinkError;
  /** The label counted in stats().errors: http_400, ECONNREFUSED, timeout, http_retryable… */
  type: string;
}

export function classifyExportError(err: Error | undefined, what: string): ExportFailure {
  if (err === undefined) return failure(what, 'unknown', 'export failed without an error', true);
  const status = (err as { code?: unknown }).code;
  if (err.name === 'OTLPExporterError' && typeof status === 'number') {
    const data = (err as { data?: unknown }).data;
    const detail = typeof data === 'string' && data.trim() !== '' ? `: ${data.trim().slice(0, 300)}` : '';
    return failure(what, `http_${status}`, `HTTP ${status}${err.message ? ` ${err.message}` : ''}${detail}`, isRetryableStatus(status), err);
  }
  const code = errnoCode(err) ?? errnoCode((err as { errors?: unknown[] }).errors?.[0]);
  if (code !== undefined) return failure(what, code, `${code}: ${err.message}`, true, err);
  if (/timed out/i.test(err.message)) return failure(what, 'timeout', err.message, true, err);
  if (/retryable status/i.test(err.message)) {
    return failure(what, 'http_retryable', `${err.message} (429/502/503/504 after the exporter's retries)`, true, err);
  }
  if (/concurrent export limit/i.test(err.message)) return failure(what, 'concurrency_limit', err.message, true, err);
  return failure(what, 'unknown', err.message, true, err);
}

function failure(what: string, type: string, message: string, retryable: boolean, cause?: unknown): ExportFailure {
  return { type, error: new SinkError(`${what}: ${message}`, retryable, cause === undefined ? undefined : { cause }) };
}
