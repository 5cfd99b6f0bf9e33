// Enricher counters (cumulative unless noted); the metrics exporter reads them with Enricher.stats().

export interface EnricherStats {
  /** Cached images now (running, exited-but-referenced, and lingering released ones). */
  cacheSize: number;
  /** Images evicted because the cache was full. */
  cacheEvictions: number;
  /** Events emitted without the parent their process names in parent_exec_id. */
  parentMisses: number;
  /** Events parked because they arrived before the image they reference. */
  outOfOrder: number;
  /** Events parked now. */
  parked: number;
  /** Events handled at once, without waiting, because the parking queue was full. */
  pendingDropped: number;
  /** Parked events released by tick() after pendingTimeoutMs. */
  pendingTimeouts: number;
  execs: number;
  exits: number;
  clones: number;
  /** Exits emitted for an image never seen (minimal process, flags "unknown"). */
  unknownExits: number;
  /** Execs or clones ignored because their exec_id was already cached. */
  duplicates: number;
}
