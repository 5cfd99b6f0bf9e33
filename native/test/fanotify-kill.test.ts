// A process holding a guard with deny rules is SIGKILLed: the kernel drops its group with it and
// allows whatever was waiting, so the machine keeps working (exec and open succeed at once), also
// when the victim's responder was stuck with an event in hand.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFanotifyTable } from '../../packages/collector/src/fanotify/table.js';
import { canFanotify, inodeOf, mountScratch, type Scratch } from './fanotify-fixture.js';
import { scaled } from '../../test/helpers/time.js';

const addonPath = fileURLToPath(new URL('../index.cjs', import.meta.url));

// The child: opens a guard on the scratch filesystem with the given table, says "ready", waits.
const CHILD = `
const native = require(process.argv[2]);
const [dir, tableHex, optsJson] = process.argv.slice(3);
const guard = new native.FanotifyGuard(() => {}, JSON.parse(optsJson));
guard.mark(dir, { exec: true, open: true });
guard.setTable(Buffer.from(tableHex, 'hex'));
process.stdout.write('ready\\n');
setInterval(() => {}, 1000);
`;

function waitReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`child exited early (${code}): ${out}`)));
  });
}

function killAndWait(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe.skipIf(!canFanotify)('FanotifyGuard in a killed process', () => {
  let s: Scratch;
  let scriptDir: string;
  let script: string;
  let touch: string;
  let secret: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    s = mountScratch();
    touch = s.copyBinary('/usr/bin/touch', 'bin/touch');
    mkdirSync(join(s.dir, 'data'));
    secret = join(s.dir, 'data/secret.txt');
    writeFileSync(secret, 'x\n');
    scriptDir = mkdtempSync(join(tmpdir(), 'peregrine-fan-child-')); // not on the marked filesystem
    script = join(scriptDir, 'child.cjs');
    writeFileSync(script, CHILD);
  });
  afterAll(async () => {
    for (const c of children) await killAndWait(c);
    s?.cleanup();
    rmSync(scriptDir, { recursive: true, force: true });
  });

  const table = () =>
    encodeFanotifyTable([
      { id: 1, event: 'exec', verdict: 'deny', file: { op: 'inode', values: [{ kind: 'inode', ...inodeOf(touch) }] } },
      { id: 2, event: 'open', verdict: 'deny', file: { op: 'equal', values: [{ kind: 'string', value: secret }] } },
    ]).toString('hex');

  function startChild(opts: object): ChildProcess {
    const child = spawn(process.execPath, [script, addonPath, s.dir, table(), JSON.stringify(opts)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    return child;
  }

  it('enforces while alive; after SIGKILL exec and open succeed immediately', async () => {
    const child = startChild({ responseTimeoutMs: 1000, watchdogMs: 2000, maxQueuedBatches: 8 });
    await waitReady(child);
    expect(spawnSync('cat', [secret]).status).toBe(1);
    expect(spawnSync(touch, [join(s.dir, 'm1')]).error).toMatchObject({ code: 'EPERM' });

    await killAndWait(child);
    const t0 = performance.now();
    expect(spawnSync('cat', [secret], { encoding: 'utf8' }).stdout).toBe('x\n');
    expect(spawnSync(touch, [join(s.dir, 'm2')]).status).toBe(0);
    expect(performance.now() - t0).toBeLessThan(scaled(1000));
  });

  it('an access waiting on a stuck responder completes when the holder is killed', async () => {
    // Neither the timeout nor the watchdog would answer within the test: only the kill releases it.
    const child = startChild({ responseTimeoutMs: 60_000, watchdogMs: 60_000, maxQueuedBatches: 8, debugStallMs: 60_000 });
    await waitReady(child);
    const waiting = spawn('cat', [join(s.dir, 'data/secret.txt')]);
    let out = '';
    waiting.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<number | null>((resolve) => waiting.once('exit', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, scaled(300)));
    expect(waiting.exitCode).toBeNull(); // held by the stuck responder

    const t0 = performance.now();
    await killAndWait(child);
    expect(await done).toBe(0); // allowed by the kernel when the group went away
    expect(out).toBe('x\n');
    expect(performance.now() - t0).toBeLessThan(scaled(1000));
    expect(spawnSync(touch, [join(s.dir, 'm3')]).status).toBe(0);
  });
});
