import { ConfigError, ExecFlag } from '@peregrine/events';
import type { PeregrineEvent, ProcessExec, ProcessExit, ProcessKey } from '@peregrine/events';
import { describe, expect, it } from 'vitest';
import { CAPABILITY_NAMES } from './capabilities.js';
import { createClock } from './clock.js';
import { Enricher } from './enricher.js';
import { execId } from './exec-id.js';
import type { EnricherOptions } from './options.js';
import { EPOCH_NS, HOST_NS, NODE, clone, exec, exit, key, testClock } from './testdata/fixtures.js';

function enricher(options: Partial<EnricherOptions> = {}): Enricher {
  return new Enricher({ nodeName: NODE, hostNs: HOST_NS, enableAncestors: false, clock: testClock(), ...options });
}

const id = (k: ProcessKey): string => execId(NODE, k.ktime, k.pid);

/** Wall time of monotonic `ns` under testClock(). */
const iso = (ns: bigint | number): string => {
  const t = EPOCH_NS + BigInt(ns);
  const s = t / 1_000_000_000n;
  return `${new Date(Number(s) * 1000).toISOString().slice(0, 19)}.${String(t % 1_000_000_000n).padStart(9, '0')}Z`;
};

function execBody(ev: PeregrineEvent | undefined): ProcessExec {
  if (ev === undefined || !('process_exec' in ev)) throw new Error(`not a process_exec: ${JSON.stringify(ev)}`);
  return ev.process_exec;
}

function exitBody(ev: PeregrineEvent | undefined): ProcessExit {
  if (ev === undefined || !('process_exit' in ev)) throw new Error(`not a process_exit: ${JSON.stringify(ev)}`);
  return ev.process_exit;
}

/** "exec:<binary>" / "exit:<binary>" per event, to check order at a glance. */
const summary = (evs: PeregrineEvent[]): string[] =>
  evs.map((ev) => ('process_exec' in ev ? `exec:${ev.process_exec.process.binary}` : 'process_exit' in ev ? `exit:${ev.process_exit.process.binary}` : 'policy'));

const P = key(100, 1_000);

describe('Enricher: process_exec', () => {
  it('emits the Tetragon shape', () => {
    const e = enricher();
    const evs = e.process(exec(P, { binary: '/bin/bash', args: ['bash', '-c', 'curl https://ebpf.io'], ktime: 1_500n }));
    expect(evs).toHaveLength(1);
    const ev = evs[0];
    expect(ev).toEqual({
      process_exec: {
        process: {
          exec_id: id(P),
          pid: 100,
          uid: 0,
          cwd: '/',
          binary: '/bin/bash',
          arguments: '-c "curl https://ebpf.io"',
          flags: 'execve rootcwd',
          start_time: iso(1_000),
          auid: 4294967295,
          cap: { permitted: CAPABILITY_NAMES, effective: CAPABILITY_NAMES, inheritable: [] },
          ns: Object.fromEntries(Object.entries(HOST_NS).map(([k, inum]) => [k, { inum, is_host: true }])),
          tid: 100,
          process_credentials: { uid: 0, gid: 0, euid: 0, egid: 0, suid: 0, sgid: 0, fsuid: 0, fsgid: 0 },
          cgroup: { id: '1234', name: 'session-1.scope' },
        },
      },
      node_name: NODE,
      time: iso(1_500),
    });
    const process = execBody(ev).process;
    expect(Object.keys(process)).not.toContain('parent_exec_id');
    expect(Object.keys(process)).not.toContain('binary_properties');
    expect(Object.isFrozen(process)).toBe(true);
    expect(JSON.parse(JSON.stringify(ev))).toEqual(ev); // no bigint anywhere
  });

  it('reports euid as uid, setuid binaries, and non-root cwd', () => {
    const e = enricher();
    const [ev] = e.process(exec(P, { binary: '/usr/bin/passwd', euid: 0, setuid: 0, cwd: '/home/a' }));
    const p = execBody(ev).process;
    expect(p.binary_properties).toEqual({ setuid: 0 });
    expect(p.flags).toBe('execve');
    const [ev2] = e.process(exec(key(101, 2_000), { euid: 1000 }));
    expect(execBody(ev2).process.uid).toBe(1000);
  });

  it('follows fork → exec: the new image is a child of the forking process', () => {
    const e = enricher();
    const C = key(101, 2_000);
    const X = key(101, 3_000);
    e.process(exec(P, { binary: '/bin/bash' }));
    expect(e.process(clone(C, P))).toEqual([]); // no clone event
    const [ev] = e.process(exec(X, { parent: P, replaces: C, binary: '/usr/bin/curl' }));
    const body = execBody(ev);
    expect(body.process.exec_id).toBe(id(X));
    expect(body.process.parent_exec_id).toBe(id(P));
    expect(body.parent?.exec_id).toBe(id(P));
    expect(body.parent?.binary).toBe('/bin/bash');
    // The clone image was replaced and nothing references it.
    expect(e.lookup(id(C))).toBeUndefined();
    expect(e.stats()).toMatchObject({ cacheSize: 2, execs: 2, clones: 1, parentMisses: 0 });
  });

  it('follows exec without fork: same pid, new exec_id, parent = previous image', () => {
    const e = enricher();
    const Q = key(100, 5_000);
    e.process(exec(P, { binary: '/bin/sh', args: ['sh', '-c', 'exec sleep 1'] }));
    const [ev] = e.process(exec(Q, { parent: P, replaces: P, binary: '/bin/sleep', args: ['sleep', '1'] }));
    const body = execBody(ev);
    expect(body.process.pid).toBe(body.parent?.pid);
    expect(body.process.exec_id).not.toBe(body.parent?.exec_id);
    expect(body.process.parent_exec_id).toBe(id(P));
    expect(body.parent?.binary).toBe('/bin/sh');
    expect(body.process.arguments).toBe('1');
    expect(e.lookup(id(P))).toBeDefined(); // no longer running, kept as Q's parent

    const [x] = e.process(exit(Q, 6_000n));
    expect(exitBody(x).parent?.binary).toBe('/bin/sh');
    expect(e.stats().cacheSize).toBe(0);
  });
});

describe('Enricher: process_exit', () => {
  it('reports status and signal name', () => {
    const e = enricher();
    const A = key(101, 2_000);
    const B = key(102, 2_100);
    e.process(exec(P));
    e.process(exec(A, { parent: P, binary: '/bin/a' }));
    e.process(exec(B, { parent: P, binary: '/bin/b' }));
    const [killed] = e.process(exit(A, 9_000n, 0, 9));
    const body = exitBody(killed);
    expect(body.signal).toBe('SIGKILL');
    expect(body.status).toBe(0);
    expect(body.time).toBe(iso(9_000));
    expect(killed?.time).toBe(iso(9_000));
    expect(body.process.exec_id).toBe(id(A));
    expect(body.parent?.exec_id).toBe(id(P));

    const [normal] = e.process(exit(B, 9_500n, 3, 0));
    expect(exitBody(normal).status).toBe(3);
    expect('signal' in exitBody(normal)).toBe(false);
    expect(e.stats()).toMatchObject({ exits: 2, unknownExits: 0, cacheSize: 1 });
  });

  it('reports a fork without exec with the binary copied from the parent and flag clone', () => {
    const e = enricher();
    const C = key(101, 2_000);
    e.process(exec(P, { binary: '/usr/sbin/nginx', args: ['nginx', '-g', 'daemon off;'], cwd: '/srv' }));
    e.process(clone(C, P));
    const [ev] = e.process(exit(C, 3_000n));
    const p = exitBody(ev).process;
    expect(p).toMatchObject({
      exec_id: id(C),
      pid: 101,
      tid: 101,
      binary: '/usr/sbin/nginx',
      arguments: '-g "daemon off;"',
      cwd: '/srv',
      flags: 'clone',
      start_time: iso(2_000),
      parent_exec_id: id(P),
    });
    expect(exitBody(ev).parent?.exec_id).toBe(id(P));
  });
});

describe('Enricher: ancestry', () => {
  const INIT = key(1, 10);
  const SSHD = key(500, 20);
  const BASH = key(600, 30);

  it('resolves /proc entries listed children first', () => {
    const clock = createClock({ wallNs: EPOCH_NS, monoNs: 0n, bootNs: 10_000_000_000n, nowMs: () => 0 });
    const e = enricher({ clock });
    const procfs = (k: ProcessKey, parent: ProcessKey | null, binary: string) =>
      exec(k, { parent, binary, flags: ExecFlag.procFS, ktime: 50_000_000_000n });
    expect(e.process(procfs(BASH, SSHD, '/bin/bash'))).toEqual([]);
    expect(e.process(procfs(SSHD, INIT, '/usr/sbin/sshd'))).toEqual([]);
    expect(e.stats()).toMatchObject({ parked: 2, outOfOrder: 2 });
    const evs = e.process(procfs(INIT, null, '/sbin/init'));
    expect(summary(evs)).toEqual(['exec:/sbin/init', 'exec:/usr/sbin/sshd', 'exec:/bin/bash']);
    expect(execBody(evs[1]).parent?.exec_id).toBe(id(INIT));
    expect(execBody(evs[2]).parent?.exec_id).toBe(id(SSHD));
    expect(execBody(evs[2]).process.flags).toBe('procFS rootcwd');
    // Boot-time based start: ktime 10 ns after boot, and boot was 10 s before monotonic 0.
    expect(execBody(evs[0]).process.start_time).toBe(iso(10n - 10_000_000_000n));
    expect(e.stats()).toMatchObject({ parked: 0, parentMisses: 0 });
  });

  it('adds ancestors, nearest first, when enabled', () => {
    const e = enricher({ enableAncestors: true });
    const CURL = key(601, 40);
    const CURL_IMAGE = key(601, 41);
    const [init] = e.process(exec(INIT, { binary: '/sbin/init' }));
    const [sshd] = e.process(exec(SSHD, { parent: INIT, binary: '/usr/sbin/sshd' }));
    e.process(exec(BASH, { parent: SSHD, binary: '/bin/bash' }));
    e.process(clone(CURL, BASH));
    const [curl] = e.process(exec(CURL_IMAGE, { parent: BASH, replaces: CURL, binary: '/usr/bin/curl' }));
    expect('ancestors' in execBody(init)).toBe(false);
    expect('ancestors' in execBody(sshd)).toBe(false); // parent init has no parent
    expect(execBody(curl).parent?.binary).toBe('/bin/bash');
    expect(execBody(curl).ancestors?.map((a) => a.binary)).toEqual(['/usr/sbin/sshd', '/sbin/init']);
    const [x] = e.process(exit(CURL_IMAGE, 50n));
    expect(exitBody(x).ancestors?.map((a) => a.binary)).toEqual(['/usr/sbin/sshd', '/sbin/init']);
  });

  it('omits ancestors when disabled', () => {
    const e = enricher();
    e.process(exec(INIT));
    e.process(exec(SSHD, { parent: INIT }));
    const [bash] = e.process(exec(BASH, { parent: SSHD }));
    expect('ancestors' in execBody(bash)).toBe(false);
  });
});

describe('Enricher: out-of-order events', () => {
  it('releases parked events in arrival order after the event that unblocks them', () => {
    const e = enricher();
    const X = key(101, 2_000);
    const Y = key(102, 2_100);
    expect(e.process(exec(X, { parent: P, binary: '/x' }), 0)).toEqual([]);
    expect(e.process(exit(X, 2_500n), 1)).toEqual([]); // exit overtaking its (parked) exec
    expect(e.process(exec(Y, { parent: P, binary: '/y' }), 2)).toEqual([]);
    expect(e.stats().parked).toBe(3);
    const evs = e.process(exec(P, { binary: '/p' }), 3);
    expect(summary(evs)).toEqual(['exec:/p', 'exec:/x', 'exit:/x', 'exec:/y']);
    expect(execBody(evs[1]).parent?.exec_id).toBe(id(P));
    expect(exitBody(evs[2]).parent?.exec_id).toBe(id(P));
    expect(e.stats()).toMatchObject({ parked: 0, outOfOrder: 3, parentMisses: 0, unknownExits: 0 });
  });

  it('parks a clone whose parent is unknown, and what depends on it', () => {
    const e = enricher();
    const C = key(101, 2_000);
    const X = key(101, 3_000);
    expect(e.process(clone(C, P))).toEqual([]);
    expect(e.process(exit(C, 2_500n))).toEqual([]);
    const evs = e.process(exec(P, { binary: '/p' }));
    expect(summary(evs)).toEqual(['exec:/p', 'exit:/p']);
    expect(exitBody(evs[1]).process).toMatchObject({ exec_id: id(C), flags: 'clone' });
    // And an exec replacing a parked clone resolves after it.
    const e2 = enricher();
    e2.process(clone(C, P));
    e2.process(exec(X, { parent: P, replaces: C, binary: '/x' }));
    expect(summary(e2.process(exec(P, { binary: '/p' })))).toEqual(['exec:/p', 'exec:/x']);
    expect(e2.lookup(id(C))).toBeUndefined();
  });

  it('emits with what is known after pendingTimeoutMs', () => {
    const e = enricher({ pendingTimeoutMs: 2000 });
    const C = key(101, 2_000);
    expect(e.process(exec(C, { parent: P, binary: '/c' }), 0)).toEqual([]);
    expect(e.tick(2000)).toEqual([]);
    const evs = e.tick(2001);
    expect(evs).toHaveLength(1);
    const body = execBody(evs[0]);
    expect(body.process.flags).toBe('execve miss rootcwd');
    expect(body.process.parent_exec_id).toBe(id(P));
    expect('parent' in body).toBe(false);
    expect(e.stats()).toMatchObject({ parked: 0, pendingTimeouts: 1, parentMisses: 1 });
    // The parent showing up late does not re-emit the child.
    expect(summary(e.process(exec(P, { binary: '/p' }), 3000))).toEqual(['exec:/p']);
  });

  it('on timeout releases the top of a waiting chain first, so only it misses its parent', () => {
    const e = enricher();
    const C = key(101, 2_000);
    const G = key(102, 3_000);
    e.process(exec(G, { parent: C, binary: '/g' }), 0);
    e.process(exec(C, { parent: P, binary: '/c' }), 10);
    const evs = e.tick(2001);
    expect(summary(evs)).toEqual(['exec:/c', 'exec:/g']);
    expect(execBody(evs[0]).process.flags).toContain('miss');
    expect(execBody(evs[1]).parent?.exec_id).toBe(id(C));
    expect(e.stats()).toMatchObject({ parked: 0, pendingTimeouts: 1, parentMisses: 1 });
  });

  it('reports an exit of an unknown image after the timeout', () => {
    const e = enricher();
    const U = key(999, 77);
    expect(e.process(exit(U, 5_000n, 1, 15), 0)).toEqual([]);
    const [ev] = e.tick(2001);
    const body = exitBody(ev);
    expect(body.process).toMatchObject({ exec_id: id(U), pid: 999, tid: 999, flags: 'unknown', start_time: iso(77) });
    expect(body.signal).toBe('SIGTERM');
    expect(body.status).toBe(1);
    expect('parent' in body).toBe(false);
    expect(e.stats()).toMatchObject({ unknownExits: 1, parentMisses: 0, parked: 0 });
  });

  it('bounds the parking queue: overflow is handled at once and counted', () => {
    const e = enricher({ pendingMax: 2 });
    e.process(exec(key(201, 1), { parent: P }));
    e.process(exec(key(202, 1), { parent: P }));
    const [now] = e.process(exec(key(203, 1), { parent: P, binary: '/now' }));
    expect(execBody(now).process.flags).toContain('miss');
    const [unknown] = e.process(exit(key(204, 1), 9n));
    expect(exitBody(unknown).process.flags).toBe('unknown');
    expect(e.stats()).toMatchObject({ parked: 2, pendingDropped: 2, parentMisses: 1, unknownExits: 1 });
    expect(e.process(exec(P)).length).toBe(3); // the two parked ones still resolve
  });
});

describe('Enricher: reference counting and the cache bound', () => {
  it('keeps an exited parent while a child lives, removes it after the child exits', () => {
    const e = enricher();
    const C = key(101, 2_000);
    const X = key(101, 3_000);
    e.process(exec(P, { binary: '/p' }));
    e.process(clone(C, P));
    e.process(exec(X, { parent: P, replaces: C, binary: '/x' }));
    e.process(exit(P, 4_000n));
    expect(e.lookup(id(P))?.binary).toBe('/p');
    const [x] = e.process(exit(X, 5_000n));
    expect(exitBody(x).parent?.binary).toBe('/p');
    expect(e.lookup(id(P))).toBeUndefined();
    expect(e.lookup(id(X))).toBeUndefined();
    expect(e.stats().cacheSize).toBe(0);
  });

  it('releases deep chains without recursion', () => {
    const e = enricher();
    let parent = key(1, 1);
    e.process(exec(parent));
    const keys = [parent];
    for (let i = 2; i <= 50_000; i++) {
      const k = key(i, i);
      e.process(exec(k, { parent }));
      keys.push(k);
      parent = k;
    }
    for (const k of keys.slice(0, -1)) e.process(exit(k, 100_000n));
    expect(e.stats().cacheSize).toBe(50_000);
    e.process(exit(parent, 100_001n));
    expect(e.stats().cacheSize).toBe(0);
  });

  it('lingers released images for releaseDelayMs, reviving them for late children', () => {
    const e = enricher({ releaseDelayMs: 1000 });
    const C = key(101, 2_000);
    e.process(exec(P, { binary: '/p' }), 0);
    e.process(exit(P, 1_500n), 0);
    expect(e.lookup(id(P))).toBeDefined(); // released, still findable
    e.process(clone(C, P), 10); // read after the parent's exit: found, no parking
    expect(e.stats().parked).toBe(0);
    e.tick(5_000);
    expect(e.lookup(id(P))).toBeDefined(); // revived: C references it
    e.process(exit(C, 3_000n), 6_000);
    e.tick(6_999);
    expect(e.stats().cacheSize).toBe(2);
    e.tick(7_000);
    expect(e.stats().cacheSize).toBe(0);
  });

  it('evicts least recently used entries beyond cacheSize, and counts them', () => {
    const e = enricher({ cacheSize: 3 });
    for (let pid = 1; pid <= 5; pid++) e.process(exec(key(pid, pid)));
    expect(e.stats()).toMatchObject({ cacheSize: 3, cacheEvictions: 2 });
    expect(e.lookup(id(key(1, 1)))).toBeUndefined();
    expect(e.lookup(id(key(2, 2)))).toBeUndefined();
    expect(e.lookup(id(key(5, 5)))).toBeDefined();
    // Use refreshes: touching 3 makes 4 the oldest.
    e.process(clone(key(30, 30), key(3, 3)));
    expect(e.lookup(id(key(3, 3)))).toBeDefined();
    expect(e.lookup(id(key(4, 4)))).toBeUndefined();
  });

  it('evicts released images first, then exited parents, then running images', () => {
    const e = enricher({ cacheSize: 4, releaseDelayMs: 60_000 });
    const A = key(10, 1);
    const Q = key(11, 2);
    const X = key(12, 3);
    const R = key(13, 4);
    e.process(exec(A, { binary: '/a' })); // running, oldest
    e.process(exec(P, { binary: '/p' }));
    e.process(exec(X, { parent: P, binary: '/x' }));
    e.process(exec(R, { binary: '/r' }));
    e.process(exit(R, 10n)); // released, lingering
    e.process(exit(P, 11n)); // exited, kept as X's parent
    e.process(exec(Q, { binary: '/q' }));
    expect(e.lookup(id(R))).toBeUndefined();
    expect(e.stats()).toMatchObject({ cacheSize: 4, cacheEvictions: 1 });
    e.process(exec(key(14, 5)));
    expect(e.lookup(id(P))).toBeUndefined();
    expect(e.lookup(id(A))?.binary).toBe('/a');
    // X lost its parent link but keeps parent_exec_id.
    const [x] = e.process(exit(X, 12n));
    expect(exitBody(x).process.parent_exec_id).toBe(id(P));
    expect('parent' in exitBody(x)).toBe(false);
    expect(e.stats()).toMatchObject({ cacheEvictions: 2, parentMisses: 1 });
    e.process(exec(key(15, 6)));
    e.process(exec(key(16, 7)));
    expect(e.lookup(id(A))).toBeUndefined(); // finally the oldest running one
  });
});

describe('Enricher: misc', () => {
  it('ignores duplicate execs and clones', () => {
    const e = enricher();
    e.process(exec(P));
    expect(e.process(exec(P))).toEqual([]);
    expect(e.process(clone(P, key(1, 1)))).toEqual([]);
    expect(e.stats()).toMatchObject({ duplicates: 2, cacheSize: 1 });
  });

  it('validates options', () => {
    expect(() => enricher({ cacheSize: 0 })).toThrow(ConfigError);
    expect(() => enricher({ nodeName: '' })).toThrow(/nodeName/);
    expect(() => enricher({ pendingMax: -1, pendingTimeoutMs: Number.NaN })).toThrow(/pendingMax[\s\S]*pendingTimeoutMs/);
  });

  it('exposes the exec_id of a key', () => {
    expect(enricher().execIdOf(P)).toBe(id(P));
  });
});

describe('Enricher: processOfPid', () => {
  it('follows a pid through fork, exec and exit', () => {
    const e = enricher();
    const parent = key(200, 1_000);
    const child = key(201, 2_000);
    const image = key(201, 3_000);
    e.process(exec(parent, { binary: '/usr/bin/bash' }));
    expect(e.processOfPid(200)?.process.binary).toBe('/usr/bin/bash');
    e.process(clone(child, parent));
    expect(e.processOfPid(201)?.process.exec_id).toBe(id(child));
    e.process(exec(image, { binary: '/usr/bin/curl', parent, replaces: child }));
    const ctx = e.processOfPid(201);
    expect(ctx?.process.binary).toBe('/usr/bin/curl');
    expect(ctx?.parent?.exec_id).toBe(id(parent));
    e.process(exit(image, 4_000n));
    // Kept after the exit: a policy report read after its process's exit still resolves.
    expect(e.processOfPid(201)?.process.exec_id).toBe(id(image));
    expect(e.processOfPid(999)).toBeUndefined();
  });

  it('resolves at a ktime: a report from before the exec names the forked image; the watermark follows the records', () => {
    const e = enricher();
    const parent = key(210, 1_000);
    const child = key(211, 2_000);
    const image = key(211, 3_000);
    expect(e.watermarkNs()).toBe(0n);
    e.process(exec(parent, { binary: '/usr/bin/dash' }));
    e.process(clone(child, parent));
    e.process(exec(image, { binary: '/usr/bin/cat', parent, replaces: child }));
    expect(e.watermarkNs()).toBe(3_000n);
    // the child opened its redirect (2,500) before it exec'd cat (3,000)
    expect(e.processOfPid(211, 2_500n)?.process.exec_id).toBe(id(child));
    expect(e.processOfPid(211, 2_500n)?.process.binary).toBe('/usr/bin/dash');
    expect(e.processOfPid(211, 3_500n)?.process.binary).toBe('/usr/bin/cat');
    expect(e.processOfPid(211)?.process.binary).toBe('/usr/bin/cat');
    // before anything known of the pid: the oldest known image (best effort)
    expect(e.processOfPid(211, 500n)?.process.binary).toBe('/usr/bin/cat');
    expect(e.ktimeToIso(3_000n)).toBe(iso(3_000));
  });
});

describe('Enricher: optional process fields', () => {
  it('leaves out credentials and namespaces unless enabled (Tetragon --enable-process-cred / --enable-process-ns)', () => {
    const e = enricher({ processCred: false, processNs: false });
    const [ev] = e.process(exec(key(300, 1_000), { setuid: 0 }));
    const json = JSON.parse(JSON.stringify(ev)) as { process_exec: { process: Record<string, unknown> } };
    const p = json.process_exec.process;
    for (const k of ['cap', 'ns', 'process_credentials', 'binary_properties']) expect(p).not.toHaveProperty(k);
    expect(p).toHaveProperty('cgroup');
    const [full] = enricher().process(exec(key(301, 1_000)));
    expect(JSON.parse(JSON.stringify(full)).process_exec.process).toHaveProperty('ns.pid.is_host');
  });
});
