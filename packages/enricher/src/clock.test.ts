import { describe, expect, it } from 'vitest';
import { createClock, parseUptimeNs } from './clock.js';
import { nsToIso } from './iso-time.js';

const epochNs = (iso: string, fracNs: bigint): bigint => BigInt(Date.parse(iso)) * 1_000_000n + fracNs;

describe('nsToIso', () => {
  it('renders nine fractional digits', () => {
    expect(nsToIso(epochNs('2023-10-06T22:03:57Z', 700327580n))).toBe('2023-10-06T22:03:57.700327580Z');
    expect(nsToIso(epochNs('2023-10-06T22:03:57Z', 1n))).toBe('2023-10-06T22:03:57.000000001Z');
    expect(nsToIso(epochNs('2023-10-06T22:03:58Z', 0n))).toBe('2023-10-06T22:03:58.000000000Z');
  });

  it('reuses the second prefix only within the same second', () => {
    const base = epochNs('2023-12-31T23:59:59Z', 0n);
    expect(nsToIso(base + 999_999_999n)).toBe('2023-12-31T23:59:59.999999999Z');
    expect(nsToIso(base + 1_000_000_000n)).toBe('2024-01-01T00:00:00.000000000Z');
    expect(nsToIso(base + 5n)).toBe('2023-12-31T23:59:59.000000005Z');
  });
});

describe('createClock', () => {
  it("converts ktime with one fixed offset (Tetragon's example start_time)", () => {
    // The bash image of the events.md example: ktime 13548670883299 started at 22:03:57.696889812.
    const wallNs = epochNs('2023-10-06T22:03:57Z', 696889812n);
    const clock = createClock({ wallNs, monoNs: 13548670883299n });
    expect(clock.ktimeToIso(13548670883299n)).toBe('2023-10-06T22:03:57.696889812Z');
    // curl started 3_438_074 ns later.
    expect(clock.ktimeToIso(13548674321373n)).toBe('2023-10-06T22:03:57.700327886Z');
  });

  it('converts boot-time based times with the boot offset', () => {
    const wallNs = epochNs('2024-01-01T00:00:00Z', 0n);
    // Booted 100 s ago, of which 40 s suspended: monotonic 60 s.
    const clock = createClock({ wallNs, monoNs: 60_000_000_000n, bootNs: 100_000_000_000n });
    expect(clock.boottimeToIso(0n)).toBe('2023-12-31T23:58:20.000000000Z');
    expect(clock.ktimeToIso(0n)).toBe('2023-12-31T23:59:00.000000000Z');
    // procFS starttime: 4200 ticks × 10 ms.
    expect(clock.boottimeToIso(4200n * 10_000_000n)).toBe('2023-12-31T23:59:02.000000000Z');
  });

  it('samples the real clocks: now in ktime renders as now', () => {
    const clock = createClock();
    const before = Date.now();
    const iso = clock.ktimeToIso(process.hrtime.bigint());
    const after = Date.now();
    const ms = Date.parse(iso);
    expect(ms).toBeGreaterThanOrEqual(before - 5);
    expect(ms).toBeLessThanOrEqual(after + 5);
    expect(iso).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });

  it.runIf(process.platform === 'linux')('derives boot time from /proc/uptime', () => {
    const clock = createClock();
    const hr = process.hrtime.bigint();
    // CLOCK_BOOTTIME ≥ CLOCK_MONOTONIC, so the same ns read as boot time is never later (10 ms resolution);
    // without suspend the clock uses one offset for both and they are equal.
    const a = Date.parse(clock.ktimeToIso(hr));
    const b = Date.parse(clock.boottimeToIso(hr));
    expect(b).toBeLessThanOrEqual(a + 10);
  });

  it('uses the injected nowMs', () => {
    let t = 5;
    const clock = createClock({ wallNs: 0n, monoNs: 0n, nowMs: () => t++ });
    expect(clock.nowMs()).toBe(5);
    expect(clock.nowMs()).toBe(6);
  });
});

describe('parseUptimeNs', () => {
  it('parses the first field exactly', () => {
    expect(parseUptimeNs('517.12 911.00\n')).toBe(517_120_000_000n);
    expect(parseUptimeNs('3.5 1.0\n')).toBe(3_500_000_000n);
    expect(parseUptimeNs('garbage')).toBeUndefined();
  });
});
