// Enricher options, their defaults and validation.

import { ConfigError } from '@peregrine/events';
import type { ConfigIssue, NamespaceInums } from '@peregrine/events';
import type { Clock } from './clock.js';

export interface EnricherOptions {
  /** Node name: first part of every exec_id and the envelope's node_name. */
  nodeName: string;
  /** The host's namespaces (those of pid 1), to tell `is_host`. */
  hostNs: NamespaceInums;
  /** Add `ancestors` (parent's parent … root, nearest first) to exec and exit events. */
  enableAncestors: boolean;
  /** Maximum cached process images (default 65536, as Tetragon's processCacheSize). */
  cacheSize?: number;
  /** Maximum parked out-of-order events (default 8192). */
  pendingMax?: number;
  /** How long a parked event waits for the image it references (default 2000 ms). */
  pendingTimeoutMs?: number;
  /**
   * How long an image whose reference count reached 0 stays findable for late events before tick()
   * removes it (default 0: removed at once). Lingering entries are the first evicted.
   */
  releaseDelayMs?: number;
  /** Add cap, process_credentials and binary_properties to processes (default true). */
  processCred?: boolean;
  /** Add ns (namespace inums with is_host) to processes (default true). */
  processNs?: boolean;
  /** Time conversion and the nowMs source (default createClock()). */
  clock?: Clock;
}

export type ResolvedEnricherOptions = Required<Omit<EnricherOptions, 'clock'>>;

export const DEFAULT_CACHE_SIZE = 65536;
export const DEFAULT_PENDING_MAX = 8192;
export const DEFAULT_PENDING_TIMEOUT_MS = 2000;

export function resolveOptions(o: EnricherOptions): ResolvedEnricherOptions {
  const r: ResolvedEnricherOptions = {
    nodeName: o.nodeName,
    hostNs: o.hostNs,
    enableAncestors: o.enableAncestors,
    cacheSize: o.cacheSize ?? DEFAULT_CACHE_SIZE,
    pendingMax: o.pendingMax ?? DEFAULT_PENDING_MAX,
    pendingTimeoutMs: o.pendingTimeoutMs ?? DEFAULT_PENDING_TIMEOUT_MS,
    processCred: o.processCred ?? true,
    processNs: o.processNs ?? true,
    releaseDelayMs: o.releaseDelayMs ?? 0,
  };
  const issues: ConfigIssue[] = [];
  if (typeof r.nodeName !== 'string' || r.nodeName === '') issues.push({ path: 'nodeName', message: 'must be a non-empty string' });
  if (!Number.isSafeInteger(r.cacheSize) || r.cacheSize < 1) issues.push({ path: 'cacheSize', message: 'must be an integer ≥ 1' });
  if (!Number.isSafeInteger(r.pendingMax) || r.pendingMax < 0) issues.push({ path: 'pendingMax', message: 'must be an integer ≥ 0' });
  if (!(r.pendingTimeoutMs >= 0)) issues.push({ path: 'pendingTimeoutMs', message: 'must be a number ≥ 0' });
  if (!(r.releaseDelayMs >= 0)) issues.push({ path: 'releaseDelayMs', message: 'must be a number ≥ 0' });
  if (issues.length > 0) throw new ConfigError('enricher options', issues);
  return r;
}
