// FanotifyGuard against the real kernel: exec and open denied with EPERM from the native responder,
// allow-listed executables, monitor mode, reports, table swaps, validation, close(), the per-event
// timeout and the watchdog. Every mark is on a private tmpfs (fanotify-fixture.ts).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeFanotifyReports, type FanotifyReport } from '../../packages/collector/src/fanotify/reports.js';
import { encodeFanotifyTable, type FanotifyRule } from '../../packages/collector/src/fanotify/table.js';
import { canFanotify, closeAll, fanotifyFds, inodeOf, mountScratch, native, openGuard, type Scratch } from './fanotify-fixture.js';
import { scaled } from '../../test/helpers/time.js';

const EMPTY = encodeFanotifyTable([]);
const SH = realpathSync('/bin/sh');
const CAT = realpathSync('/usr/bin/cat');

describe.skipIf(!canFanotify)('FanotifyGuard', () => {
  let s: Scratch;
  let touch: string; // copy of /usr/bin/touch: its only effect is the marker file
  let secret: string;
  let allowedCat: string;

  beforeAll(() => {
    s = mountScratch();
    touch = s.copyBinary('/usr/bin/touch', 'bin/touch');
    allowedCat = s.copyBinary('/usr/bin/cat', 'trusted/cat');
    secret = join(s.dir, 'data/secret.txt');
    mkdirSync(join(s.dir, 'data'));
    writeFileSync(secret, 'top secret\n');
  });
  afterEach(() => closeAll());
  afterAll(() => {
    closeAll();
    s?.cleanup();
  });

  const denyExecOfTouch = (extra: Partial<FanotifyRule> = {}): FanotifyRule => ({
    id: 11,
    event: 'exec',
    verdict: 'deny',
    file: { op: 'inode', values: [{ kind: 'inode', ...inodeOf(touch) }] },
    ...extra,
  });
  const denyOpenOfSecret = (extra: Partial<FanotifyRule> = {}): FanotifyRule => ({
    id: 22,
    event: 'open',
    verdict: 'deny',
    file: { op: 'equal', values: [{ kind: 'string', value: secret }, { kind: 'inode', ...inodeOf(secret) }] },
    proc: { op: 'notIn', values: [{ kind: 'string', value: allowedCat }] },
    ...extra,
  });
  const reportsOf = (batches: Buffer[]): FanotifyReport[] => batches.flatMap((b) => decodeFanotifyReports(b));

  it('denies exec of a binary by inode: EPERM, exit 126 under sh, and the binary never ran', async () => {
    const { guard, batches } = openGuard();
    guard.mark(s.dir, { exec: true, open: false });
    guard.setTable(encodeFanotifyTable([denyExecOfTouch()]));
    const marker = join(s.dir, 'marker-exec');

    const viaSh = spawnSync('sh', ['-c', `${touch} ${marker}`], { encoding: 'utf8' });
    expect(viaSh.status).toBe(126);
    expect(viaSh.stderr).toContain('Operation not permitted');
    const direct = spawnSync(touch, [marker]);
    expect(direct.error).toMatchObject({ code: 'EPERM' });
    expect(existsSync(marker)).toBe(false);

    // The same program from its original inode is not covered by the rule.
    expect(spawnSync('/usr/bin/touch', [marker]).status).toBe(0);
    expect(existsSync(marker)).toBe(true);

    await vi.waitFor(() => expect(reportsOf(batches).length).toBe(2), { timeout: scaled(2000), interval: 10 });
    const [first, second] = reportsOf(batches);
    expect(first).toMatchObject({ ruleId: 11, event: 'exec', verdict: 'deny', monitor: false, path: touch, exePath: SH, uid: 0 });
    expect(first!.dev).toBe(inodeOf(touch).dev);
    expect(first!.ino).toBe(inodeOf(touch).ino);
    expect(first!.exeIno).toBe(inodeOf(SH).ino);
    // spawned directly, the exec happens in node's forked child: its exe is still node
    expect(second).toMatchObject({ ruleId: 11, verdict: 'deny', exePath: realpathSync(process.execPath) });
    expect(guard.stats()).toMatchObject({ denied: 2, reported: 2, droppedReports: 0, timeouts: 0, watchdogAllows: 0, failed: false });
  });

  it('denies open of a file to every process except an allow-listed executable', async () => {
    const { guard, batches } = openGuard();
    guard.mark(s.dir, { exec: false, open: true });
    guard.setTable(encodeFanotifyTable([denyOpenOfSecret()]));

    const denied = spawnSync('cat', [secret], { encoding: 'utf8' });
    expect(denied.status).toBe(1);
    expect(denied.stdout).toBe(''); // not one byte read
    expect(denied.stderr).toContain('Operation not permitted');
    const viaDd = spawnSync('sh', ['-c', `dd if=${secret} bs=1 count=1 status=none | wc -c`], { encoding: 'utf8' });
    expect(viaDd.stdout.trim()).toBe('0');

    const allowed = spawnSync(allowedCat, [secret], { encoding: 'utf8' });
    expect(allowed.status).toBe(0);
    expect(allowed.stdout).toBe('top secret\n');

    await vi.waitFor(() => expect(reportsOf(batches).length).toBe(2), { timeout: scaled(2000), interval: 10 });
    const [r] = reportsOf(batches);
    expect(r).toMatchObject({ ruleId: 22, event: 'open', verdict: 'deny', monitor: false, pid: denied.pid, path: secret, exePath: CAT, uid: 0 });
    expect(r!.ino).toBe(inodeOf(secret).ino);
    expect(r!.exeIno).toBe(inodeOf(CAT).ino);
    expect(typeof r!.ktimeNs).toBe('bigint');
    expect(r!.ktimeNs).toBeGreaterThan(0n);
    // our own opens of the file are never held, denied or reported
    expect(readFileSync(secret, 'utf8')).toBe('top secret\n');
    await new Promise((r) => setTimeout(r, scaled(50)));
    expect(reportsOf(batches).length).toBe(2);
    expect(guard.stats().denied).toBe(2);
  });

  it('monitor mode allows and reports what would be denied; report bit reports allow matches', async () => {
    const { guard, batches } = openGuard();
    guard.mark(s.dir, { exec: true, open: true });
    guard.setTable(
      encodeFanotifyTable([
        { id: 5, event: 'open', verdict: 'allow', report: true, file: { op: 'postfix', values: [{ kind: 'string', value: '/data/secret.txt' }] }, proc: { op: 'prefix', values: [{ kind: 'string', value: `${s.dir}/trusted/` }] } },
        denyOpenOfSecret({ monitor: true }),
        denyExecOfTouch({ monitor: true }),
      ]),
    );
    const marker = join(s.dir, 'marker-monitor');
    const cat = spawnSync('cat', [secret], { encoding: 'utf8' });
    expect(cat.stdout).toBe('top secret\n');
    expect(spawnSync(touch, [marker]).status).toBe(0);
    expect(existsSync(marker)).toBe(true);
    const trusted = spawnSync(allowedCat, [secret], { encoding: 'utf8' });
    expect(trusted.stdout).toBe('top secret\n');

    await vi.waitFor(() => expect(reportsOf(batches).length).toBe(3), { timeout: scaled(2000), interval: 10 });
    const reports = reportsOf(batches);
    expect(reports[0]).toMatchObject({ ruleId: 22, event: 'open', verdict: 'allow', monitor: true, pid: cat.pid, exePath: CAT });
    expect(reports[1]).toMatchObject({ ruleId: 11, event: 'exec', verdict: 'allow', monitor: true, path: touch });
    expect(reports[2]).toMatchObject({ ruleId: 5, event: 'open', verdict: 'allow', monitor: false, pid: trusted.pid, exePath: allowedCat });
    expect(guard.stats()).toMatchObject({ denied: 0, monitored: 2, reported: 3 });
  });

  it('a full report queue drops reports, never decisions, and counts them', async () => {
    const { guard, batches } = openGuard({ maxQueuedBatches: 1 });
    guard.mark(s.dir, { exec: false, open: true });
    guard.setTable(encodeFanotifyTable([denyOpenOfSecret()]));
    // spawnSync blocks the event loop: batches cannot be delivered meanwhile
    for (let i = 0; i < 5; i++) expect(spawnSync('cat', [secret]).status).toBe(1);
    const st = guard.stats();
    expect(st.denied).toBe(5);
    expect(st.droppedReports).toBeGreaterThanOrEqual(3);
    expect(st.reported + st.droppedReports).toBe(5);
    await vi.waitFor(() => expect(reportsOf(batches).length).toBe(st.reported), { timeout: scaled(2000), interval: 10 });
  });

  it('a table swap takes effect at once and an empty table stops enforcement', async () => {
    const { guard } = openGuard();
    guard.mark(s.dir, { exec: false, open: true });
    const catStatus = () => spawnSync('cat', [secret]).status;
    expect(catStatus()).toBe(0); // no table yet: everything allowed
    guard.setTable(encodeFanotifyTable([denyOpenOfSecret()]));
    await vi.waitFor(() => expect(catStatus()).toBe(1), { timeout: scaled(1000), interval: 20 });
    guard.setTable(EMPTY);
    await vi.waitFor(() => expect(catStatus()).toBe(0), { timeout: scaled(1000), interval: 20 });
    // an allow rule in front wins over the deny behind it (first match)
    guard.setTable(encodeFanotifyTable([{ id: 1, event: 'open', verdict: 'allow', file: { op: 'prefix', values: [{ kind: 'string', value: `${s.dir}/data/` }] } }, denyOpenOfSecret()]));
    expect(catStatus()).toBe(0);
    // unmarking open alone stops enforcement too
    guard.setTable(encodeFanotifyTable([denyOpenOfSecret()]));
    expect(catStatus()).toBe(1);
    guard.unmark(s.dir, { exec: false, open: true });
    expect(catStatus()).toBe(0);
  });

  it('allow cache: a file no rule can match is decided once, setTable flushes, a write drops the mark', async () => {
    const { guard } = openGuard();
    guard.mark(s.dir, { exec: true, open: true });
    guard.setTable(encodeFanotifyTable([denyExecOfTouch(), denyOpenOfSecret()]));
    const script = join(s.dir, 'bin/cached.sh');
    writeFileSync(script, '#!/bin/sh\nexit 3\n', { mode: 0o755 });
    const run = (): number | null => spawnSync(script).status;
    // Counters move right after the answer is written: the caller may already be running on.
    const settled = (want: Record<string, number>) => vi.waitFor(() => expect(guard.stats()).toMatchObject(want), { timeout: scaled(2000), interval: 10 });
    /** Until no cache mark has been added for 100 ms (a mark lands just after its event's answer). */
    const quiet = async (): Promise<void> => {
      for (let last = -1, now = guard.stats().cached; now !== last; last = now, now = guard.stats().cached) await new Promise((r) => setTimeout(r, scaled(100)));
    };

    // The exec (FAN_OPEN_EXEC_PERM) and sh reading the script (FAN_OPEN_PERM) each get a mark; a mark
    // is added just after its answer, so an event racing it may be decided (and cached) twice.
    expect(run()).toBe(3);
    expect(run()).toBe(3);
    await vi.waitFor(() => expect(guard.stats().cached).toBeGreaterThanOrEqual(2), { timeout: scaled(2000), interval: 10 });
    await quiet();
    const first = guard.stats();
    for (let i = 0; i < 5; i++) expect(run()).toBe(3);
    expect(guard.stats().events).toBe(first.events); // not even queued any more
    // a file a rule names is never cached: every exec of it is decided (and denied)
    for (let i = 0; i < 3; i++) expect(spawnSync(touch, [join(s.dir, 'never')]).error).toMatchObject({ code: 'EPERM' });
    await settled({ denied: 3, cached: first.cached });

    // a new table that denies the cached file takes effect at once (the cache was flushed)
    guard.setTable(encodeFanotifyTable([{ id: 5, event: 'exec', verdict: 'deny', file: { op: 'inode', values: [{ kind: 'inode', ...inodeOf(script) }] } }]));
    expect(spawnSync(script).error).toMatchObject({ code: 'EPERM' });
    expect(guard.stats().cacheFlushes).toBe(2);

    // cached again under a table that does not name it; a write to the file drops the mark
    guard.setTable(encodeFanotifyTable([denyExecOfTouch()]));
    const flushedAt = guard.stats().cached;
    expect(run()).toBe(3);
    expect(run()).toBe(3);
    await vi.waitFor(() => expect(guard.stats().cached).toBeGreaterThanOrEqual(flushedAt + 2), { timeout: scaled(2000), interval: 10 });
    await quiet();
    const before = guard.stats();
    expect(run()).toBe(3);
    expect(guard.stats().events).toBe(before.events);
    writeFileSync(script, '#!/bin/sh\nexit 4\n', { mode: 0o755 });
    expect(run()).toBe(4);
    expect(guard.stats().events).toBeGreaterThan(before.events);
    expect(guard.stats().cacheFailures).toBe(0);
  });

  it('allow cache: prefix rules and allowCache: false decide every event', async () => {
    const script = join(s.dir, 'bin/uncached.sh');
    writeFileSync(script, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const prefixRule: FanotifyRule = { id: 7, event: 'exec', verdict: 'deny', file: { op: 'prefix', values: [{ kind: 'string', value: `${s.dir}/data/` }] } };
    for (const [opts, rules] of [[{}, [prefixRule]], [{ allowCache: false }, [denyExecOfTouch()]]] as const) {
      const { guard } = openGuard(opts);
      guard.mark(s.dir, { exec: true, open: false });
      guard.setTable(encodeFanotifyTable([...rules]));
      for (let i = 0; i < 3; i++) expect(spawnSync(script).status).toBe(0);
      await vi.waitFor(() => expect(guard.stats()).toMatchObject({ events: 3, allowed: 3, cached: 0 }), { timeout: scaled(2000), interval: 10 });
      guard.close();
    }
  });

  describe('table validation', () => {
    const good = () => encodeFanotifyTable([denyOpenOfSecret()]);
    const mutate = (f: (b: Buffer) => Buffer | void): Buffer => {
      const b = Buffer.from(good());
      return f(b) ?? b;
    };
    // first rule at 16; its first file value at 40 (string), second at 64 (inode); process value at 88
    const bad: [string, () => Buffer, RegExp][] = [
      ['short header', () => Buffer.alloc(8), /shorter than its 16-byte header/],
      ['version', () => mutate((b) => void b.writeUInt32LE(2, 0)), /version 2/],
      ['flags', () => mutate((b) => void b.writeUInt32LE(1, 12)), /flags must be 0/],
      ['rule count past the end', () => mutate((b) => void b.writeUInt32LE(2, 4)), /truncated rule header/],
      ['huge rule count', () => mutate((b) => void b.writeUInt32LE(0xffffffff, 4)), /exceeds 65536/],
      ['stringsBytes too big', () => mutate((b) => void b.writeUInt32LE(1 << 30, 8)), /exceeds the buffer/],
      ['trailing bytes', () => Buffer.concat([good().subarray(0, 112), Buffer.alloc(8), good().subarray(112)]), /strings section starts/],
      ['event', () => mutate((b) => void b.writeUInt8(3, 20)), /event 3/],
      ['verdict', () => mutate((b) => void b.writeUInt8(2, 21)), /verdict 2/],
      ['fileOp', () => mutate((b) => void b.writeUInt8(9, 23)), /fileOp 9/],
      ['procOp', () => mutate((b) => void b.writeUInt8(7, 28)), /procOp 7/],
      ['reserved', () => mutate((b) => void b.writeUInt16LE(1, 30)), /reserved/],
      ['fileOp any with values', () => mutate((b) => void b.writeUInt8(0, 23)), /fileOp 0 with 2 file values/],
      ['value count overrun', () => mutate((b) => void b.writeUInt32LE(1000, 24)), /overrun/],
      ['value kind', () => mutate((b) => void b.writeUInt32LE(7, 40)), /kind 7/],
      ['string out of range', () => mutate((b) => void b.writeBigUInt64LE(1000n, 48)), /outside the/],
      ['empty string', () => mutate((b) => void b.writeUInt32LE(0, 44)), /string length 0/],
      ['string with NUL', () => mutate((b) => void b.writeUInt8(0, b.length - 3)), /NUL/],
      ['inode set with a string', () => mutate((b) => void b.writeUInt8(1, 23)), /inode values only/],
      ['inode for a prefix process op', () => mutate((b) => { b.writeUInt8(3, 28); b.writeUInt32LE(1, 88); b.writeUInt32LE(0, 92); }), /takes strings only/],
    ];

    it.each(bad)('rejects %s with EINVAL and keeps the good table', (_name, makeTable, message) => {
      const { guard } = openGuard();
      guard.mark(s.dir, { exec: false, open: true });
      guard.setTable(good());
      expect(spawnSync('cat', [secret]).status).toBe(1);
      let err: unknown;
      try {
        guard.setTable(makeTable());
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Error);
      expect(err).toMatchObject({ operation: 'setTable', errno: 22, code: 'EINVAL', message: expect.stringMatching(message) });
      expect(spawnSync('cat', [secret]).status).toBe(1); // still enforced
    });

    it('bad arguments and marks throw with the error contract', () => {
      const { guard } = openGuard();
      expect(() => guard.setTable('x' as unknown as Buffer)).toThrow(expect.objectContaining({ code: 'EINVAL', operation: 'setTable' }));
      expect(() => guard.mark(s.dir, { exec: false, open: false })).toThrow(/selects neither/);
      expect(() => guard.mark('/proc', { exec: true, open: false })).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/procfs/) }));
      expect(() => guard.mark('/nonexistent/x', { exec: true, open: false })).toThrow(expect.objectContaining({ code: 'ENOENT', operation: 'mark' }));
      expect(() => guard.unmark(s.dir, { exec: true, open: false })).toThrow(expect.objectContaining({ code: 'ENOENT', operation: 'unmark' }));
      expect(() => new native.FanotifyGuard((() => {}) as never, { responseTimeoutMs: 0, watchdogMs: 1, maxQueuedBatches: 1 })).toThrow(/responseTimeoutMs must be at least 1/);
    });
  });

  it('close() removes the group: no fanotify fd left, enforcement gone, idempotent', () => {
    const before = fanotifyFds();
    const { guard } = openGuard();
    guard.mark(s.dir, { exec: true, open: true });
    guard.setTable(encodeFanotifyTable([denyOpenOfSecret(), denyExecOfTouch()]));
    expect(fanotifyFds().length).toBe(before.length + 1);
    expect(spawnSync('cat', [secret]).status).toBe(1);
    guard.close();
    guard.close();
    expect(fanotifyFds()).toEqual(before);
    expect(spawnSync('cat', [secret]).status).toBe(0);
    expect(spawnSync(touch, [join(s.dir, 'marker-close')]).status).toBe(0);
    expect(() => guard.mark(s.dir, { exec: true, open: false })).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(guard.stats().failed).toBe(false);
  });

  it('answers FAN_ALLOW when a decision misses responseTimeoutMs (timeouts)', () => {
    const { guard } = openGuard({ responseTimeoutMs: 100, watchdogMs: 10_000, debugStallMs: 3000 });
    guard.mark(s.dir, { exec: true, open: false });
    guard.setTable(encodeFanotifyTable([denyExecOfTouch()]));
    const t0 = performance.now();
    const r = spawnSync(touch, [join(s.dir, 'marker-timeout')]);
    const ms = performance.now() - t0;
    expect(r.status).toBe(0); // fail open: the deny could not be decided in time
    expect(ms).toBeGreaterThanOrEqual(90);
    expect(ms).toBeLessThan(scaled(1000));
    expect(guard.stats()).toMatchObject({ timeouts: 1, denied: 0, watchdogAllows: 0 });
    const c0 = performance.now();
    guard.close(); // the stall is interrupted, not waited out
    expect(performance.now() - c0).toBeLessThan(scaled(1000));
  });

  it('the watchdog allows everything while the responder is stuck', () => {
    // Scaled like every time bound: an exec under emulation can take longer than the real-time 200 ms,
    // and the test tells "waited out the watchdog" from "drained at once" by that period.
    const watchdogMs = scaled(200);
    const { guard } = openGuard({ responseTimeoutMs: scaled(5000), watchdogMs, debugStallMs: scaled(5000) });
    guard.mark(s.dir, { exec: true, open: true });
    guard.setTable(encodeFanotifyTable([denyExecOfTouch(), denyOpenOfSecret()]));
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      const r = spawnSync(touch, [join(s.dir, `marker-watchdog-${i}`)]);
      times.push(performance.now() - t0);
      expect(r.status).toBe(0);
    }
    const cat = spawnSync('cat', [secret], { encoding: 'utf8' });
    expect(cat.stdout).toBe('top secret\n');
    // the first event waits out watchdogMs; later ones are drained while the responder stays stuck
    expect(times[0]).toBeGreaterThanOrEqual(watchdogMs - 10);
    expect(times[0]).toBeLessThan(watchdogMs + scaled(600));
    for (const t of times.slice(1)) expect(t).toBeLessThan(watchdogMs);
    const st = guard.stats();
    expect(st.watchdogAllows).toBeGreaterThanOrEqual(5);
    expect(st).toMatchObject({ denied: 0, failed: false });
    const c0 = performance.now();
    guard.close();
    expect(performance.now() - c0).toBeLessThan(scaled(1000));
  });

  it('if the watchdog cannot answer, it drops the group: the kernel allows, the guard reports failed', async () => {
    // The exec must come from a process that does not hold a copy of the group fd: a child we fork
    // after the guard exists holds one until its exec passes the permission check, so for it a
    // dropped group is never released. A shell started before the guard has none.
    const sh = spawn('sh', [], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    sh.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const run = async (cmd: string): Promise<{ rc: number; ms: number }> => {
      out = '';
      const t0 = performance.now();
      sh.stdin.write(`${cmd}; echo "rc=$?"\n`);
      await vi.waitFor(() => expect(out).toMatch(/rc=\d+/), { timeout: scaled(5000), interval: 2 });
      return { rc: Number(/rc=(\d+)/.exec(out)![1]), ms: performance.now() - t0 };
    };
    try {
      await run('true');
      const before = fanotifyFds();
      const { guard } = openGuard({ responseTimeoutMs: 60_000, watchdogMs: scaled(200), debugStallMs: 60_000, debugFailWatchdog: true });
      guard.mark(s.dir, { exec: true, open: true });
      guard.setTable(encodeFanotifyTable([denyExecOfTouch()]));
      const first = await run(`${touch} ${join(s.dir, 'marker-failsafe')}`);
      expect(first.rc).toBe(0); // allowed by the kernel when the group went away
      expect(first.ms).toBeLessThan(scaled(800));
      const st = guard.stats();
      expect(st).toMatchObject({ failed: true, denied: 0, reason: expect.stringMatching(/watchdog: write response: Input\/output error/) });
      expect(fanotifyFds()).toEqual(before); // the fd number now holds /dev/null: the group is gone
      expect((await run(`cat ${secret} >/dev/null`)).rc).toBe(0);
      expect(() => guard.mark(s.dir, { exec: true, open: false })).toThrow(expect.objectContaining({ code: 'EIO', message: expect.stringMatching(/guard failed/) }));
      guard.close();
      expect(guard.stats().failed).toBe(true);
    } finally {
      sh.kill('SIGKILL');
    }
  });
});
