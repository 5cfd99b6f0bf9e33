// Connect enforcement end to end: cgroup/connect4 and connect6 (and sendmsg4/6) on the real cgroup v2
// root, real sockets. These programs see every connect() on the machine, so every deny rule here is
// scoped to a port one of this file's servers holds (and mostly to its address too), the rules are
// cleared after each test, and the backend is stopped in afterAll whatever happens (its links are not
// pinned: they also go away if this process dies).
import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConnectBackend, NET_MAPS, NET_PROGRAMS, NET_SENDMSG_PROGRAMS, type ConnectReport, type NetRule } from '../../packages/collector/src/net/index.js';
import { bpfObjectPath } from '../../packages/collector/src/paths.js';
import { cgroup2Mount, cgroupProgramNames, scaled } from '../helpers/kernel.js';

const CGROUP2 = cgroup2Mount() ?? '/no-cgroup2-mount';
const PYTHON = '/usr/bin/python3';
const canRun = (): boolean =>
  process.geteuid?.() === 0 && existsSync('/sys/kernel/btf/vmlinux') && existsSync(bpfObjectPath('connect')) && existsSync(`${CGROUP2}/cgroup.procs`);

const isIn = (...cidrs: string[]): NetRule['daddrs'] => ({ op: 'In', cidrs });
const notIn = (...cidrs: string[]): NetRule['daddrs'] => ({ op: 'NotIn', cidrs });
const ports = (...p: number[]): NetRule['dports'] => ({ op: 'In', ports: p });
type Filters = Omit<Partial<NetRule>, 'id' | 'action'>;
const deny = (id: number, f: Filters): NetRule => ({ id, action: 'deny', monitor: false, ...f });
const post = (id: number, f: Filters): NetRule => ({ id, action: 'post', monitor: false, ...f });
const allow = (id: number, f: Filters): NetRule => ({ id, action: 'allow', monitor: false, ...f });

interface Server {
  port: number;
  accepted: () => number;
  close: () => Promise<void>;
}

async function tcpServer(host: string): Promise<Server> {
  let n = 0;
  const srv = net.createServer((s) => {
    n++;
    s.on('error', () => {});
    s.destroy();
  });
  await new Promise<void>((res, rej) => srv.once('error', rej).listen(0, host, res));
  return { port: (srv.address() as net.AddressInfo).port, accepted: () => n, close: () => new Promise((r) => srv.close(() => r())) };
}

async function udpServer(host: string): Promise<Server> {
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  let n = 0;
  s.on('message', () => n++);
  await new Promise<void>((res) => s.bind(0, host, res));
  return { port: s.address().port, accepted: () => n, close: () => new Promise((r) => s.close(() => r())) };
}

/** 'ok' or the error code (EPERM when denied). */
function tcpConnect(host: string, port: number, opts: { localAddress?: string } = {}): Promise<string> {
  return new Promise((res) => {
    const c = net.connect({ host, port, ...opts });
    const t = setTimeout(() => (c.destroy(), res('timeout')), scaled(3000));
    c.once('connect', () => (clearTimeout(t), c.destroy(), res('ok')));
    c.once('error', (e: NodeJS.ErrnoException) => (clearTimeout(t), res(e.code ?? e.message)));
  });
}

/** sendto() on an unconnected UDP socket. */
function udpSendto(type: 'udp4' | 'udp6', host: string, port: number): Promise<string> {
  return new Promise((res) => {
    const s = dgram.createSocket(type);
    s.once('error', (e: NodeJS.ErrnoException) => (s.close(), res(e.code ?? e.message)));
    s.send('x', port, host, (e: Error | null) => (s.close(), res(e ? ((e as NodeJS.ErrnoException).code ?? e.message) : 'ok')));
  });
}

function udpConnect(type: 'udp4' | 'udp6', host: string, port: number): Promise<string> {
  return new Promise((res) => {
    const s = dgram.createSocket(type);
    s.once('error', (e: NodeJS.ErrnoException) => (s.close(), res(e.code ?? e.message)));
    s.connect(port, host, (e?: Error) => {
      if (e) return s.close(), res((e as NodeJS.ErrnoException).code ?? e.message);
      s.send('x', () => (s.close(), res('ok')));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, scaled(ms)));

async function waitFor<T>(fn: () => T | undefined | false, what: string, ms = 2000): Promise<T> {
  const end = Date.now() + scaled(ms);
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface BpftoolProg { id: number; name?: string; run_time_ns?: number; run_cnt?: number; bytes_xlated?: number }
const bpftool = <T>(...args: string[]): T => JSON.parse(execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8' }).trim() || '[]') as T;
const OUR_PROGS: string[] = [...NET_PROGRAMS, ...NET_SENDMSG_PROGRAMS];
const ourProgs = (): BpftoolProg[] => bpftool<BpftoolProg[]>('prog', 'show').filter((p) => OUR_PROGS.includes(p.name ?? ''));
const ourCgroupProgs = (): string[] => cgroupProgramNames(CGROUP2).filter((n) => OUR_PROGS.includes(n));
const ourMaps = (): { id: number; name?: string }[] =>
  bpftool<{ id: number; name?: string }[]>('map', 'show').filter((m) => (Object.values(NET_MAPS) as string[]).includes(m.name ?? ''));

describe.skipIf(!canRun())('connect enforcement (cgroup/connect4, connect6 on the real kernel)', () => {
  const backend = new ConnectBackend({ pollIntervalMs: 5, udpSendmsg: true });
  const reports: ConnectReport[] = [];
  let v4: Server; // 127.0.0.1
  let v4b: Server; // 127.0.0.1, a second port
  let v6: Server; // ::1
  let alt1: Server; // 127.0.0.2
  let alt2: Server; // 127.0.0.2
  let udp: Server; // 127.0.0.1 UDP
  const report = (pred: (r: ConnectReport) => boolean, what: string): Promise<ConnectReport> =>
    waitFor(() => reports.find(pred), what);

  beforeAll(async () => {
    expect(ourProgs(), 'programs of a previous run are still loaded').toEqual([]);
    [v4, v4b, v6, alt1, alt2, udp] = await Promise.all([
      tcpServer('127.0.0.1'), tcpServer('127.0.0.1'), tcpServer('::1'), tcpServer('127.0.0.2'), tcpServer('127.0.0.2'), udpServer('127.0.0.1'),
    ]);
    backend.onReport((rs) => reports.push(...rs));
    backend.start(CGROUP2);
  });

  afterEach(() => {
    if (backend.started) backend.apply([]);
    reports.length = 0;
  });

  afterAll(async () => {
    try {
      await backend.stop();
    } finally {
      await Promise.all([v4, v4b, v6, alt1, alt2, udp].filter(Boolean).map((s) => s.close()));
    }
  });

  it('attaches its programs to the cgroup2 root and allows everything until rules are applied', async () => {
    expect(ourCgroupProgs().sort()).toEqual(['net_connect4', 'net_connect6', 'net_sendmsg4', 'net_sendmsg6']);
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('ok');
    expect(await tcpConnect('::1', v6.port)).toBe('ok');
  });

  it('NotDAddr [10.0.0.0/8] denies 127.0.0.1 with EPERM: the server sees no connection; the report says who and where', async () => {
    backend.apply([deny(4242, { daddrs: notIn('10.0.0.0/8'), dports: ports(v4.port) })]);
    const before = v4.accepted();
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('EPERM');
    await sleep(100);
    expect(v4.accepted()).toBe(before);
    const r = await report((x) => x.dport === v4.port, 'the deny report');
    expect(r).toMatchObject({
      kind: 'connect', pid: process.pid, uid: process.getuid!(), gid: process.getgid!(), family: 'inet', protocol: 'tcp', sockType: 1,
      daddr: '127.0.0.1', dport: v4.port, verdict: 'denied', ruleId: 4242, slot: 0, v4Mapped: false, anyDest: false, comm: expect.any(String),
    });
    expect(r.cgroupId).toBe(1n);
    expect(backend.stats().kernel.denied).toBeGreaterThanOrEqual(1);
    // Another port of the same address is outside the rule.
    expect(await tcpConnect('127.0.0.1', v4b.port)).toBe('ok');
  });

  it('an allowlist containing 127.0.0.0/8 lets the connect through', async () => {
    backend.apply([deny(1, { daddrs: notIn('10.0.0.0/8', '127.0.0.0/8'), dports: ports(v4.port) })]);
    const before = v4.accepted();
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('ok');
    await waitFor(() => v4.accepted() > before, 'the accepted connection');
    expect(reports).toEqual([]);
  });

  it('::ffff:127.0.0.1 through an AF_INET6 socket is caught exactly like 127.0.0.1', async () => {
    backend.apply([deny(7, { daddrs: notIn('10.0.0.0/8'), dports: ports(v4.port) })]);
    const before = v4.accepted();
    expect(await tcpConnect('::ffff:127.0.0.1', v4.port)).toBe('EPERM');
    await sleep(100);
    expect(v4.accepted()).toBe(before);
    const r = await report((x) => x.dport === v4.port, 'the v4-mapped report');
    expect(r).toMatchObject({ family: 'inet6', daddr: '::ffff:127.0.0.1', v4Mapped: true, verdict: 'denied', ruleId: 7 });

    // The same allowlist lets both forms through; a v4-mapped CIDR denies plain IPv4 too.
    backend.apply([deny(8, { daddrs: notIn('127.0.0.0/8'), dports: ports(v4.port) })]);
    expect(await tcpConnect('::ffff:127.0.0.1', v4.port)).toBe('ok');
    backend.apply([deny(9, { daddrs: isIn('::ffff:127.0.0.0/104'), dports: ports(v4.port) })]);
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('EPERM');
    expect(await tcpConnect('::ffff:127.0.0.1', v4.port)).toBe('EPERM');
    // A UDP AF_INET6 socket is no way around it either.
    backend.apply([deny(10, { daddrs: isIn('127.0.0.1'), dports: ports(udp.port) })]);
    expect(await udpConnect('udp6', '::ffff:127.0.0.1', udp.port)).toBe('EPERM');
  });

  it('0.0.0.0 and :: (which the kernel connects to loopback) are matched as 127.0.0.1 and ::1', async () => {
    backend.apply([
      deny(20, { daddrs: isIn('127.0.0.0/8'), dports: ports(v4.port) }),
      deny(21, { daddrs: isIn('::1/128'), dports: ports(v6.port) }),
    ]);
    expect(await tcpConnect('0.0.0.0', v4.port)).toBe('EPERM');
    expect(await tcpConnect('::', v6.port)).toBe('EPERM');
    expect(await tcpConnect('::ffff:0.0.0.0', v4.port)).toBe('EPERM');
    const r = await report((x) => x.ruleId === 20, 'the 0.0.0.0 report');
    expect(r).toMatchObject({ daddr: '0.0.0.0', anyDest: true });
  });

  it('IPv6: DAddr [::1] denies, NotDAddr [::1] allows', async () => {
    backend.apply([deny(30, { daddrs: isIn('::1'), dports: ports(v6.port) })]);
    const before = v6.accepted();
    expect(await tcpConnect('::1', v6.port)).toBe('EPERM');
    await sleep(100);
    expect(v6.accepted()).toBe(before);
    expect(await report((x) => x.ruleId === 30, 'the IPv6 report')).toMatchObject({ family: 'inet6', daddr: '::1', dport: v6.port });
    backend.apply([deny(31, { daddrs: notIn('::1', '10.0.0.0/8'), dports: ports(v6.port) })]);
    expect(await tcpConnect('::1', v6.port)).toBe('ok');
  });

  it('DPort, NotDPort and DPortPriv', async () => {
    backend.apply([deny(40, { daddrs: isIn('127.0.0.1'), dports: ports(v4.port, 1) })]);
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('EPERM');
    expect(await tcpConnect('127.0.0.1', v4b.port)).toBe('ok');
    // 127.0.0.2 is used by nothing but this test.
    backend.apply([deny(41, { daddrs: isIn('127.0.0.2/32'), dports: { op: 'NotIn', ports: [alt1.port] } })]);
    expect(await tcpConnect('127.0.0.2', alt1.port)).toBe('ok');
    expect(await tcpConnect('127.0.0.2', alt2.port)).toBe('EPERM');
    backend.apply([deny(42, { daddrs: isIn('127.0.0.2/32'), dports: { op: 'Priv' } })]);
    expect(await tcpConnect('127.0.0.2', 80)).toBe('EPERM'); // nothing listens there: ECONNREFUSED if not denied
    expect(await tcpConnect('127.0.0.2', 1023)).toBe('EPERM');
    expect(await tcpConnect('127.0.0.2', alt1.port)).toBe('ok');
  });

  it('Protocol: a UDP rule denies connect() on a UDP socket and leaves TCP alone', async () => {
    backend.apply([deny(50, { daddrs: isIn('127.0.0.1'), dports: ports(udp.port, v4.port), protocol: ['udp'] })]);
    expect(await udpConnect('udp4', '127.0.0.1', udp.port)).toBe('EPERM');
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('ok');
    const r = await report((x) => x.ruleId === 50, 'the UDP report');
    expect(r).toMatchObject({ protocol: 'udp', sockType: 2, dport: udp.port, verdict: 'denied' });
    // Not calling connect() is no way around it (udpSendmsg: cgroup/sendmsg4, sendmsg6).
    const received = udp.accepted();
    expect(await udpSendto('udp4', '127.0.0.1', udp.port)).toBe('EPERM');
    expect(await udpSendto('udp6', '::ffff:127.0.0.1', udp.port)).toBe('EPERM');
    await sleep(50);
    expect(udp.accepted()).toBe(received);
    expect(await report((x) => x.ruleId === 50 && x.hook === 'sendmsg', 'the sendmsg report')).toMatchObject({ protocol: 'udp', verdict: 'denied' });
    backend.apply([deny(51, { daddrs: isIn('127.0.0.1'), dports: ports(udp.port, v4.port), protocol: ['tcp'] })]);
    expect(await udpConnect('udp4', '127.0.0.1', udp.port)).toBe('ok');
    expect(await udpSendto('udp4', '127.0.0.1', udp.port)).toBe('ok');
    await waitFor(() => udp.accepted() > received, 'the datagram');
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('EPERM');
  });

  it('Family: an inet6 rule leaves IPv4 (v4-mapped included) alone', async () => {
    backend.apply([deny(60, { dports: ports(v4.port, v6.port), family: ['inet6'] })]);
    expect(await tcpConnect('::1', v6.port)).toBe('EPERM');
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('ok');
    expect(await tcpConnect('::ffff:127.0.0.1', v4.port)).toBe('ok');
  });

  it('monitor mode: the connect succeeds and a report says it would have been denied', async () => {
    backend.apply([deny(70, { daddrs: notIn('10.0.0.0/8'), dports: ports(v4.port), monitor: true })]);
    const before = v4.accepted();
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('ok');
    await waitFor(() => v4.accepted() > before, 'the accepted connection');
    expect(await report((x) => x.ruleId === 70, 'the monitor report')).toMatchObject({ verdict: 'monitor', pid: process.pid, dport: v4.port });
    expect(backend.stats().kernel.monitored).toBeGreaterThanOrEqual(1);
  });

  it('post reports and allows, allow is silent, and the first matching rule wins', async () => {
    backend.apply([post(80, { daddrs: isIn('127.0.0.1'), dports: ports(v4.port) })]);
    expect(await tcpConnect('127.0.0.1', v4.port, { localAddress: '127.0.0.1' })).toBe('ok');
    const r = await report((x) => x.ruleId === 80, 'the post report');
    expect(r).toMatchObject({ verdict: 'allowed', saddr: '127.0.0.1' });
    expect(r.sport).toBeGreaterThan(0);

    const allowFirst = allow(81, { daddrs: isIn('127.0.0.1'), dports: ports(v4.port) });
    const denyPort = deny(82, { dports: ports(v4.port) });
    backend.apply([allowFirst, denyPort]);
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('ok');
    backend.apply([denyPort, allowFirst]);
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('EPERM');
    await report((x) => x.ruleId === 82, 'the deny report');
    expect(reports.filter((x) => x.ruleId === 81)).toEqual([]);
  });

  it('replacing the rules takes effect at once; the global switch turns enforcement off and on', async () => {
    const denyIt = deny(90, { daddrs: isIn('127.0.0.1'), dports: ports(v4.port) });
    backend.apply([denyIt]);
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('EPERM');
    const t0 = performance.now();
    backend.apply([{ ...denyIt, action: 'allow' }]);
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('ok');
    backend.apply([denyIt]);
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('EPERM');
    expect(performance.now() - t0).toBeLessThan(scaled(1000));
    backend.setEnabled(false);
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('ok');
    backend.setEnabled(true);
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('EPERM');
  });

  it('a connect racing rule replacement never slips through', async () => {
    // Two deny sets for the same destination (one with 1000 CIDRs) swapped back and forth while another
    // process connects in a loop: every one of its connects must be denied.
    const cidrs = Array.from({ length: 999 }, (_, i) => `10.${i >> 8}.${i & 0xff}.0/24`).concat('127.0.0.1/32');
    const stopFile = join(mkdtempSync(join(tmpdir(), 'peregrine-race-')), 'stop');
    const a: NetRule[] = [deny(100, { daddrs: notIn('10.0.0.0/8'), dports: ports(v4.port) })];
    const b: NetRule[] = [deny(101, { daddrs: isIn(...cidrs), dports: ports(v4.port) })];
    backend.apply(a);
    const before = v4.accepted();
    const child = spawn(PYTHON, ['-c', `
import socket, sys, time, os
ok = eperm = other = 0
end = time.time() + 60
while time.time() < end and not os.path.exists(${JSON.stringify(stopFile)}):
    s = socket.socket()
    try:
        s.connect(('127.0.0.1', ${v4.port})); ok += 1
    except PermissionError:
        eperm += 1
    except OSError:
        other += 1
    finally:
        s.close()
print(ok, eperm, other)
`]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    let applies = 0;
    let running = true;
    void exited.then(() => (running = false));
    // Swap until 40 replacements have happened (however slow the machine), then let the child stop.
    while (running) {
      backend.apply(applies++ % 2 ? a : b);
      if (applies === 40) writeFileSync(stopFile, '');
      await new Promise((r) => setImmediate(r));
    }
    await exited;
    const [ok, eperm, other] = out.trim().split(' ').map(Number);
    expect({ ok, other }).toEqual({ ok: 0, other: 0 });
    console.log(`racing: ${eperm} connects denied, ${ok} allowed, during ${applies} rule replacements`);
    expect(eperm).toBeGreaterThan(0);
    expect(applies).toBeGreaterThanOrEqual(40); // 1000-CIDR generations are written and deleted without filling the maps
    expect(v4.accepted()).toBe(before);
    expect(backend.stats().kernel.table_missing).toBe(0);
  });

  it('a 1000-entry CIDR list costs map lookups, not instructions', async () => {
    const cidrs = Array.from({ length: 999 }, (_, i) => `10.${i >> 8}.${i & 0xff}.0/24`).concat('127.0.0.1/32');
    const closed = v4b.port; // deny rules make these connects fail with EPERM before any packet
    const small: NetRule[] = [deny(110, { daddrs: isIn('127.0.0.1/32'), dports: ports(closed) })];
    const large: NetRule[] = [deny(111, { daddrs: isIn(...cidrs), dports: ports(closed) })];
    const statsFile = '/proc/sys/kernel/bpf_stats_enabled';
    const previous = readFileSync(statsFile, 'utf8').trim();
    const prog = (): BpftoolProg => ourProgs().find((p) => p.name === 'net_connect4')!;
    const measure = async (rules: NetRule[]): Promise<number> => {
      expect(backend.apply(rules).ipv4Prefixes).toBe(rules[0]!.daddrs!.cidrs.length);
      const a = prog();
      for (let i = 0; i < 300; i++) expect(await tcpConnect('127.0.0.1', closed)).toBe('EPERM');
      const b = prog();
      // bpftool leaves the fields out while they are 0.
      return ((b.run_time_ns ?? 0) - (a.run_time_ns ?? 0)) / ((b.run_cnt ?? 0) - (a.run_cnt ?? 0));
    };
    writeFileSync(statsFile, '1');
    try {
      const xlated = prog().bytes_xlated;
      const nsSmall = (await measure(small) + (await measure(small))) / 2;
      const nsLarge = (await measure(large) + (await measure(large))) / 2;
      // The same program (same instructions) runs either way: the list lives in an LPM map. Its run
      // time is printed, not asserted — timings belong to benchmarks (the machine is shared and noisy).
      expect(prog().bytes_xlated).toBe(xlated);
      console.log(`connect4 program: ${nsSmall.toFixed(0)} ns/run with 1 CIDR, ${nsLarge.toFixed(0)} ns/run with 1000 (${xlated} xlated bytes)`);
    } finally {
      writeFileSync(statsFile, previous);
    }
  });

  it('stop() restores connectivity and leaves no program, attachment or map behind', async () => {
    backend.apply([deny(120, { daddrs: isIn('127.0.0.1'), dports: ports(v4.port) })]);
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('EPERM');
    expect(ourProgs()).toHaveLength(4);
    expect(ourCgroupProgs()).toHaveLength(4);
    expect(ourMaps().length).toBeGreaterThanOrEqual(Object.keys(NET_MAPS).length);
    await backend.stop();
    expect(await tcpConnect('127.0.0.1', v4.port)).toBe('ok');
    expect(ourCgroupProgs()).toEqual([]);
    expect(cgroupProgramNames(CGROUP2).filter((n) => /net_(connect|sendmsg)/.test(n))).toEqual([]);
    // Programs and maps are freed after an RCU grace period.
    await waitFor(() => ourProgs().length === 0 && ourMaps().length === 0, 'programs and maps to be freed', 5000);
    expect(backend.stats().kernel.denied).toBeGreaterThan(0); // the last counters survive stop()
  });
});
