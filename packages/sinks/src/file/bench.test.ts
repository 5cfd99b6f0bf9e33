// Micro-benchmark: events/s through the file sink (encode + write + rotation at the default 10 MiB).
// It only logs; CI machines are too noisy for a timing assertion.

import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PeregrineEvent } from '@peregrine/events';
import { execEvent } from '../testdata/events.js';
import { tempDir } from '../testdata/files.js';
import { fileSinkSchema } from './config.js';
import { FileSink } from './sink.js';

const TOTAL = 400_000;
const BATCH = 1000;
const IN_FLIGHT = 4;

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

it('file sink throughput', { timeout: 120_000 }, async () => {
  // Distinct event objects, as the pipeline would hand over; built before timing starts.
  const batches: PeregrineEvent[][] = [];
  for (let b = 0; b < 50; b++) batches.push(Array.from({ length: BATCH }, (_, i) => execEvent(b * BATCH + i)));
  const lineBytes = JSON.stringify(batches[0]?.[0]).length + 1;

  const sink = new FileSink(fileSinkSchema.parse({ path: join(dir, 'bench.log'), max_backups: 2 }));
  await sink.start();
  await sink.write(batches[0] ?? []); // warm-up

  const t0 = performance.now();
  let sent = 0;
  const inFlight = new Set<Promise<unknown>>();
  for (let n = 0; n < TOTAL / BATCH; n++) {
    const p = sink.write(batches[n % batches.length] ?? []).then((r) => {
      inFlight.delete(p);
      sent += r.delivered;
    });
    inFlight.add(p);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await sink.flush();
  const secs = (performance.now() - t0) / 1000;
  await sink.stop();

  expect(sent).toBe(TOTAL);
  const rate = TOTAL / secs;
  console.log(
    `file sink: ${Math.round(rate).toLocaleString('en')} events/s, ${((rate * lineBytes) / 1024 / 1024).toFixed(0)} MiB/s ` +
      `(${lineBytes}-byte lines, batches of ${BATCH}, ${IN_FLIGHT} in flight, ${sink.stats().rotations} rotations)`,
  );
});
