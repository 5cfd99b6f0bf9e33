// BatchResult constructors, so every sink answers the same way.

import { SinkError } from '@peregrine/events';
import type { BatchResult } from './component.js';

export function delivered(count: number, dropped = 0): BatchResult {
  return dropped > 0 ? { status: 'delivered', delivered: count, dropped } : { status: 'delivered', delivered: count };
}

/** A batch that stopped after its first `count` events; the error says whether resending can help. */
export function undelivered(error: SinkError, count = 0): BatchResult {
  return { status: error.retryable ? 'retryable' : 'rejected', delivered: count, error };
}

export function rejected(message: string, cause?: unknown): BatchResult {
  return undelivered(new SinkError(message, false, cause === undefined ? undefined : { cause }));
}
