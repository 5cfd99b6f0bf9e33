#!/usr/bin/env node
// openat() flood (issue: tracing policies). 1,000,000 openat() calls, 1 % of them under a watched
// prefix; side by side, rounds interleaved: no agent; the agent without policy; the agent with an
// openat Prefix policy (Post) evaluated in the kernel; and, as the floor no filtering can go below on
// this kernel, the agent watching a syscall the flood never makes. Prints medians, ratios to no agent, and the
// matching events delivered / expected. Each mode reports wall seconds and the flood's own CPU seconds
// (user + system: what the in-kernel filtering costs the calling thread, far less disturbed by other
// load on a shared machine than wall time).
//   node bench/openat-flood.mjs [--count 1000000] [--percent 1] [--rounds 5]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []));
const COUNT = Number(args.count ?? 1_000_000);
const PERCENT = Number(args.percent ?? 1);
const ROUNDS = Number(args.rounds ?? 5);
const work = mkdtempSync(join(tmpdir(), 'peregrine-flood-'));
const watched = join(work, 'watched');
const other = join(work, 'other');
mkdirSync(watched);
mkdirSync(other);
writeFileSync(join(watched, 'f'), 'x');
writeFileSync(join(other, 'f'), 'x');
const driver = join(work, 'openat-flood');
execFileSync('cc', ['-O2', '-o', driver, join(ROOT, 'bench/openat-flood.c')]);
const policy = join(work, 'policy.yaml');
writeFileSync(
  policy,
  `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: bench-openat}
spec:
  kprobes:
  - call: sys_openat
    syscall: true
    args: [{index: 1, type: string, label: filename}]
    selectors:
    - matchArgs: [{index: 1, operator: Prefix, values: ["${watched}/"]}]
`,
);

// The dispatch floor: the same backend watching a syscall the flood never makes (getcwd). Every
// syscall then passes through the kernel's raw sys_enter tracepoint and our program's first bit
// test — what any hook on this kernel costs before filtering (no kprobe/fentry/LSM here).
const floorPolicy = join(work, 'floor.yaml');
writeFileSync(
  floorPolicy,
  `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: bench-floor}
spec:
  kprobes:
  - call: sys_getcwd
    syscall: true
`,
);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const flood = () => {
  const [secs, cpu] = execFileSync(driver, [join(watched, 'f'), join(other, 'f'), String(COUNT), String(PERCENT)], { encoding: 'utf8' }).trim().split(' ').map(Number);
  return { secs, cpu };
};

async function withAgent(extra) {
  const file = join(work, 'events.log');
  rmSync(file, { force: true });
  const agent = spawn(process.execPath, [join(ROOT, 'packages/agent/dist/main.js'), 'run', '--export-file', file, '--quiet', '--server-socket', join(work, 'ctl.sock'), ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  agent.stderr.on('data', (d) => (err += d));
  await new Promise((res, rej) => {
    agent.stderr.on('data', () => err.includes('peregrine: ready') && res());
    agent.on('exit', (c) => rej(new Error(`agent exited ${c}: ${err}`)));
  });
  const { secs, cpu } = flood();
  await new Promise((r) => setTimeout(r, 500));
  const done = new Promise((r) => agent.on('exit', r));
  agent.kill('SIGTERM');
  await done;
  const matched = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"process_kprobe"') && l.includes('bench-openat')).length;
  return { secs, cpu, matched };
}

const modes = ['none', 'agent', 'agent+other-syscall', 'agent+policy'];
const agentArgs = { agent: [], 'agent+other-syscall': ['--tracing-policy', floorPolicy], 'agent+policy': ['--tracing-policy', policy] };
const res = Object.fromEntries(modes.map((m) => [m, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const m of modes) {
    const x = m === 'none' ? { ...flood(), matched: NaN } : await withAgent(agentArgs[m]);
    res[m].push(x);
    process.stderr.write(`round ${r + 1}/${ROUNDS} ${m}: ${x.secs.toFixed(3)} s, ${x.cpu.toFixed(3)} CPU-s${Number.isNaN(x.matched) ? '' : `, matched ${x.matched}`}\n`);
  }
}
const expected = Math.floor(COUNT / Math.floor(100 / PERCENT));
const base = median(res.none.map((x) => x.secs));
const baseCpu = median(res.none.map((x) => x.cpu));
console.log(`\nopenat flood: ${COUNT} openat()+close(), ${PERCENT} % under the watched prefix, ${ROUNDS} rounds, medians (${cpus().length} CPUs)\n`);
console.log('| mode | median s | ratio to no agent | median CPU-s of the flood | CPU ratio to no agent | matching events delivered / expected |');
console.log('|---|---|---|---|---|---|');
for (const m of modes) {
  const secs = median(res[m].map((x) => x.secs));
  const cpu = median(res[m].map((x) => x.cpu));
  const del = m === 'agent+policy' ? `${Math.min(...res[m].map((x) => x.matched))}–${Math.max(...res[m].map((x) => x.matched))} / ${expected}` : '–';
  console.log(`| ${m} | ${secs.toFixed(3)} | ${(secs / base).toFixed(3)}× | ${cpu.toFixed(3)} | ${(cpu / baseCpu).toFixed(3)}× | ${del} |`);
}
rmSync(work, { recursive: true, force: true });
