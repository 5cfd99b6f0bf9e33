// Turning I/O failures into SinkErrors: an errno that more attempts cannot fix is permanent (rejected),
// anything else (ENOSPC, EDQUOT, EIO, EMFILE, a short write…) is retryable.

import { SinkError } from '@peregrine/events';

const PERMANENT = new Set(['EACCES', 'EPERM', 'EROFS', 'EISDIR', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP', 'EINVAL', 'ENXIO']);

/** The errno code of a Node system error (ENOSPC), or undefined. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The label an error is counted under in stats().errors. */
export function errorType(err: unknown, fallback = 'unknown'): string {
  const code = errnoCode(err);
  return code !== undefined && code !== 'ERR_SINK' ? code : fallback;
}

export function toSinkError(err: unknown, what: string): SinkError {
  if (err instanceof SinkError) return err;
  const code = errnoCode(err);
  const message = err instanceof Error ? err.message : String(err);
  return new SinkError(`${what}: ${message}`, code === undefined || !PERMANENT.has(code), { cause: err });
}
