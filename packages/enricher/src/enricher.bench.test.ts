// Micro-benchmark of the enrichment stage alone: logs rates, asserts nothing about time.

import type { RawEvent } from '@peregrine/events';
import { describe, expect, it } from 'vitest';
import { Enricher } from './enricher.js';
import { HOST_NS, NODE, clone, exec, exit, key, testClock } from './testdata/fixtures.js';

const SHELL = key(1000, 1);

/** A shell running `n` commands: clone, exec (replacing the clone), exit — 3 records, 2 events each. */
function burst(n: number, base: number): RawEvent[] {
  const raws: RawEvent[] = [];
  for (let i = 0; i < n; i++) {
    const pid = 2000 + (i % 30000);
    const t = BigInt(base + i * 10);
    const child = key(pid, t);
    const image = key(pid, t + 1n);
    raws.push(clone(child, SHELL));
    raws.push(exec(image, { parent: SHELL, replaces: child, binary: '/usr/bin/curl', args: ['curl', '-s', `https://example.com/${i}`] }));
    raws.push(exit(image, t + 5n));
  }
  return raws;
}

describe('Enricher throughput', () => {
  it('logs events/s for a 10k-exec burst', () => {
    const e = new Enricher({ nodeName: NODE, hostNs: HOST_NS, enableAncestors: true, clock: testClock() });
    e.process(exec(SHELL, { binary: '/bin/bash' }), 0);
    const rounds = 10;
    const n = 10_000;
    const inputs = Array.from({ length: rounds }, (_, r) => burst(n, 10 + r * n * 10));
    let events = 0;
    let best = 0;
    for (const raws of inputs) {
      const start = process.hrtime.bigint();
      let count = 0;
      for (const raw of raws) count += e.process(raw, 0).length;
      const secs = Number(process.hrtime.bigint() - start) / 1e9;
      best = Math.max(best, count / secs);
      events += count;
    }
    console.log(`enricher: ${Math.round(best).toLocaleString('en')} events/s (best of ${rounds} × ${n} fork+exec+exit)`);
    expect(events).toBe(rounds * n * 2);
    expect(e.stats()).toMatchObject({ cacheSize: 1, parentMisses: 0, parked: 0 });
  });
});
