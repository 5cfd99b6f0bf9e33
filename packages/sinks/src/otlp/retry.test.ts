import { describe, expect, it } from 'vitest';
import { classifyExportError } from './retry.js';

/** What @opentelemetry/otlp-exporter-base's OTLPExporterError looks like (not a direct dependency). */
function httpError(status: number, message = 'Bad Request', data = ''): Error {
  return Object.assign(new Error(message), { name: 'OTLPExporterError', code: status, data });
}
const errno = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:4318`), { code });

describe('classifyExportError', () => {
  it.each([
    [httpError(400, 'Bad Request', '{"code":3,"message":"unmarshal failed"}'), false, 'http_400', /HTTP 400 Bad Request: \{"code":3/],
    [httpError(401, 'Unauthorized'), false, 'http_401', /HTTP 401/],
    [httpError(413, 'Payload Too Large'), false, 'http_413', /HTTP 413/],
    [httpError(500, 'Internal Server Error'), false, 'http_500', /HTTP 500/],
    [httpError(429, 'Too Many Requests'), true, 'http_429', /HTTP 429/],
    [httpError(503, 'Service Unavailable'), true, 'http_503', /HTTP 503/],
    [errno('ECONNREFUSED'), true, 'ECONNREFUSED', /ECONNREFUSED/],
    [errno('ECONNRESET'), true, 'ECONNRESET', /ECONNRESET/],
    [errno('CERT_HAS_EXPIRED'), true, 'CERT_HAS_EXPIRED', /CERT_HAS_EXPIRED/],
    [Object.assign(new AggregateError([errno('ECONNREFUSED')], '')), true, 'ECONNREFUSED', /ECONNREFUSED/],
    [new Error('Request timed out'), true, 'timeout', /timed out/],
    [Object.assign(new Error('Export failed with retryable status'), { name: 'OTLPExporterError' }), true, 'http_retryable', /429\/502\/503\/504/],
    [new Error('Concurrent export limit reached'), true, 'concurrency_limit', /limit/],
    [new Error('something new'), true, 'unknown', /something new/],
    [undefined, true, 'unknown', /without an error/],
  ])('%s → retryable %s, counted as %s', (err, retryable, type, message) => {
    const f = classifyExportError(err, 'otlp_http sink x: export failed');
    expect(f.type).toBe(type);
    expect(f.error.retryable).toBe(retryable);
    expect(f.error.message).toMatch(/^otlp_http sink x: export failed: /);
    expect(f.error.message).toMatch(message);
  });
});
