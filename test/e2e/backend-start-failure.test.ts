// A backend whose BPF object cannot be set up must fail start() with its typed error and release what
// it opened — never crash the agent with a second error from the cleanup (a stats lookup on maps that
// were never created used to escape as an unhandled rejection and kill the process).
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { BpfError } from '../../packages/collector/src/native.js';
import { bpfObjectPath } from '../../packages/collector/src/paths.js';
import { ProcessSensor } from '../../packages/collector/src/sensor/process-sensor.js';
import { SyscallBackend } from '../../packages/collector/src/syscall/backend.js';

// The connect object has neither the syscall backend's maps nor the process sensor's: both fail at
// their first map operation, before load().
const WRONG = bpfObjectPath('connect');
const canRun = process.geteuid?.() === 0 && existsSync(WRONG);

describe.skipIf(!canRun)('a backend that fails to start', () => {
  const rejections: unknown[] = [];
  const onRejection = (e: unknown): void => {
    rejections.push(e);
  };
  process.on('unhandledRejection', onRejection);
  afterEach(async () => {
    await new Promise((r) => setTimeout(r, 50));
    expect(rejections).toEqual([]);
  });

  it('syscall backend: start() throws the BpfError naming the map; stop() and stats() still work', async () => {
    const b = new SyscallBackend({ objectPath: WRONG });
    let err: unknown;
    try {
      b.start();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect(String((err as Error).message)).toMatch(/sel_rb_events/);
    await b.stop();
    expect(Object.values(b.stats().kernel).every((v) => v === 0)).toBe(true);
  });

  it('process sensor: start() throws the BpfError naming the map; stop() resolves', async () => {
    const s = new ProcessSensor({ objectPath: WRONG, maxArgsBytes: 1024, ringBufferBytes: 1 << 20, pollIntervalMs: 5, cgroup2Root: null, onEvents: () => {} });
    expect(() => s.start()).toThrow(BpfError);
    await s.stop();
    expect(s.counters().reader.records).toBe(0);
  });
});
