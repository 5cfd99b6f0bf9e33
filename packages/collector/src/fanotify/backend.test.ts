// FanotifyBackend on the real kernel (root): path rules resolved to inodes at apply time and still
// matched by path, only the needed marks, reports, rule replacement and rollback. Everything is
// scoped to a private tmpfs so no rule can reach the rest of the machine.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { native } from '../native.js';
import { FanotifyBackend, type FanotifyPolicyRule } from './backend.js';
import type { FanotifyReport } from './reports.js';

const canRun = process.geteuid?.() === 0 && (() => {
  try {
    return native().probeFanotify('/', 'open').ok;
  } catch {
    return false;
  }
})();

function fanotifyFds(): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[fanotify]';
    } catch {
      return false;
    }
  }).length;
}

describe.skipIf(!canRun)('FanotifyBackend', () => {
  let dir: string;
  let secret: string;
  let trustedCat: string;
  let tool: string; // a copy of touch
  const backends: FanotifyBackend[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'peregrine-fanb-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m,mode=0755', 'tmpfs', dir]);
    mkdirSync(join(dir, 'data'));
    mkdirSync(join(dir, 'trusted'));
    mkdirSync(join(dir, 'bin'));
    secret = join(dir, 'data/secret');
    writeFileSync(secret, 'hush\n');
    trustedCat = join(dir, 'trusted/cat');
    copyFileSync('/usr/bin/cat', trustedCat);
    tool = join(dir, 'bin/tool');
    copyFileSync('/usr/bin/touch', tool);
    execFileSync('chmod', ['0755', trustedCat, tool]);
  });
  afterEach(() => {
    for (const b of backends.splice(0)) b.stop();
  });
  afterAll(() => {
    for (const b of backends.splice(0)) b.stop();
    if (dir) {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  function start(): { backend: FanotifyBackend; reports: FanotifyReport[] } {
    const reports: FanotifyReport[] = [];
    const backend = new FanotifyBackend({ anyFileMarkPaths: [dir] }, (r) => reports.push(r));
    backends.push(backend);
    backend.start();
    return { backend, reports };
  }
  const cat = (path: string, bin = 'cat') => spawnSync(bin, [path], { encoding: 'utf8' });
  const protectSecret: FanotifyPolicyRule = {
    id: 100,
    event: 'open',
    action: 'deny',
    file: { op: 'equal', paths: [] },
    process: { op: 'notIn', paths: [] },
  };
  const secretRule = (): FanotifyPolicyRule => ({
    ...protectSecret,
    file: { op: 'equal', paths: [secret] },
    process: { op: 'notIn', paths: [trustedCat] },
  });

  it('enforces a path rule by inode and by path, marks only what it needs, reports', async () => {
    const { backend, reports } = start();
    backend.apply([secretRule()]);
    const dev = statSync(dir, { bigint: true }).dev;
    expect(backend.stats().marks).toEqual([{ path: dir, dev, exec: false, open: true }]);

    const denied = cat(secret);
    expect(denied.status).toBe(1);
    expect(denied.stdout).toBe('');
    expect(cat(secret, trustedCat).stdout).toBe('hush\n');

    // a hard link is the same inode under another path
    const link = join(dir, 'data/alias');
    linkSync(secret, link);
    expect(cat(link).status).toBe(1);
    unlinkSync(link);

    // re-created: a new inode, still caught by its path
    unlinkSync(secret);
    writeFileSync(secret, 'hush again\n');
    expect(cat(secret).status).toBe(1);
    expect(cat(secret, trustedCat).stdout).toBe('hush again\n');

    await vi.waitFor(() => expect(reports.length).toBe(3), { timeout: 2000, interval: 10 });
    expect(reports[0]).toMatchObject({ ruleId: 100, event: 'open', verdict: 'deny', pid: denied.pid, path: secret, exePath: realpathSync('/usr/bin/cat') });
    expect(reports[1]).toMatchObject({ path: link });
    expect(backend.stats()).toMatchObject({ denied: 3, reported: 3, decodeErrors: 0, rules: 1, failed: false });
  });

  it('allow-lists an executable given through a symlink (resolved to what /proc/<pid>/exe shows)', () => {
    const { backend } = start();
    const viaLink = join(dir, 'cat-link');
    symlinkSync(trustedCat, viaLink);
    backend.apply([{ ...secretRule(), process: { op: 'notIn', paths: [viaLink] } }]);
    expect(cat(secret, trustedCat).status).toBe(0);
    expect(cat(secret).status).toBe(1);
    unlinkSync(viaLink);
  });

  it('exec rules mark exec only; replacing and clearing rules adjusts the marks', () => {
    const before = fanotifyFds();
    const { backend } = start();
    const denyTool: FanotifyPolicyRule = { id: 1, event: 'exec', action: 'deny', file: { op: 'equal', paths: [tool] } };
    backend.apply([denyTool]);
    expect(backend.stats().marks).toMatchObject([{ exec: true, open: false }]);
    expect(spawnSync(tool, [join(dir, 'm1')]).error).toMatchObject({ code: 'EPERM' });
    const events = backend.stats().events;
    expect(cat(secret).status).toBe(0); // opens are not even seen
    expect(backend.stats().events).toBe(events);

    backend.apply([denyTool, secretRule()]);
    expect(backend.stats().marks).toMatchObject([{ exec: true, open: true }]);
    expect(cat(secret).status).toBe(1);

    backend.apply([secretRule()]);
    expect(backend.stats().marks).toMatchObject([{ exec: false, open: true }]);
    expect(spawnSync(tool, [join(dir, 'm2')]).status).toBe(0);

    // a prefix rule in monitor mode: allowed, reported as monitor
    backend.apply([{ id: 2, event: 'open', action: 'deny', monitor: true, file: { op: 'prefix', paths: [`${dir}/data/`] } }]);
    expect(cat(secret).status).toBe(0);
    expect(backend.stats().monitored).toBe(1);

    backend.apply([]);
    expect(backend.stats().marks).toEqual([]);
    expect(cat(secret).status).toBe(0);
    expect(fanotifyFds()).toBe(before + 1);
    backend.stop();
    backend.stop();
    expect(fanotifyFds()).toBe(before);
    expect(backend.stats()).toMatchObject({ rules: 0, marks: [], failed: false });
  });

  it('a failing apply keeps the previous rules and marks', () => {
    const { backend } = start();
    backend.apply([secretRule()]);
    const bad = new FanotifyBackend({ anyFileMarkPaths: ['/proc'] });
    backends.push(bad);
    bad.start();
    expect(() => bad.apply([{ id: 9, event: 'exec', action: 'deny' }])).toThrow(expect.objectContaining({ name: 'BpfError', code: 'EINVAL', operation: 'mark' }));
    expect(bad.stats().marks).toEqual([]);
    expect(() => backend.apply([{ id: 3, event: 'open', action: 'deny', file: { op: 'equal', paths: ['relative/path'] } }])).toThrow(/not an absolute path/);
    expect(cat(secret).status).toBe(1);
    expect(backend.stats().rules).toBe(1);
  });
});
