#!/usr/bin/env node
// Exec-storm benchmark (issue: process telemetry). Side by side in one run, rounds interleaved so
// machine noise hits every mode alike: no agent; Peregrine with defaults writing the JSON file;
// auditd with an execve rule (backlog 8192). Prints medians, ratios to no-agent, events delivered /
// expected, agent peak RSS and agent CPU-seconds per 1,000 execs.
//   node bench/exec-storm.mjs [--execs 20000] [--rounds 5] [--modes none,peregrine,peregrine+exec-deny,auditd]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []));
const EXECS = Number(args.execs ?? 20000);
const ROUNDS = Number(args.rounds ?? 5);
const MODES = (args.modes ?? 'none,peregrine,auditd').split(',');
const TRUE = '/usr/bin/true';
const CLK_TCK = 100;

const work = mkdtempSync(join(tmpdir(), 'peregrine-bench-'));
const driver = join(work, 'exec-storm');
execFileSync('cc', ['-O2', '-o', driver, join(ROOT, 'bench/exec-storm.c')]);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const cpuTicks = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').slice(readFileSync(`/proc/${pid}/stat`, 'utf8').lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
};
const hwmKb = (pid) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const storm = (marker) => Number(execFileSync(driver, [String(EXECS), TRUE, marker], { encoding: 'utf8' }).trim());

// An exec-deny policy (fanotify FAN_OPEN_EXEC_PERM on this kernel) for a binary the storm never runs:
// the first exec of /usr/bin/true (and of the dynamic loader) goes through the permission check and
// the native responder; then the allow cache (an inode ignore mark) answers in the kernel.
const denyPolicy = join(work, 'deny.yaml');
writeFileSync(
  denyPolicy,
  `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: bench-deny}
spec:
  lsmhooks:
  - hook: bprm_check_security
    args: [{index: 0, type: linux_binprm}]
    selectors:
    - matchArgs: [{index: 0, operator: Equal, values: ["${join(work, 'never-run')}"]}]
      matchActions: [{action: Override, argError: -1}]
`,
);

async function withPeregrine(marker, extra = []) {
  const file = join(work, `events-${marker}.log`);
  const agent = spawn(
    process.execPath,
    [join(ROOT, 'packages/agent/dist/main.js'), 'run', '--export-file', file, '--quiet', '--export-file-max-size-mb', '0', '--server-socket', join(work, 'ctl.sock'), ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  agent.stderr.on('data', (d) => (err += d));
  await new Promise((res, rej) => {
    agent.stderr.on('data', () => err.includes('peregrine: ready') && res());
    agent.on('exit', (c) => rej(new Error(`agent exited ${c}: ${err}`)));
  });
  const fan0 = fanotifyCounters();
  const cpu0 = cpuTicks(agent.pid);
  const secs = storm(marker);
  const fan1 = fanotifyCounters();
  // Let the agent drain (poll interval + pipeline), then measure and stop it.
  await new Promise((r) => setTimeout(r, 500));
  const cpu1 = cpuTicks(agent.pid);
  const rss = hwmKb(agent.pid);
  const done = new Promise((r) => agent.on('exit', r));
  agent.kill('SIGTERM');
  await done;
  let execs = 0;
  let exitsSeen = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes(marker)) continue;
    const ev = JSON.parse(line);
    const p = (ev.process_exec ?? ev.process_exit).process;
    if (p.binary !== TRUE || p.arguments !== marker) continue;
    if (ev.process_exec) execs++;
    else exitsSeen++;
  }
  rmSync(file, { force: true });
  const fan = fan0 && fan1 ? { events: fan1.events - fan0.events, cached: fan1.cached } : null;
  return { secs, delivered: Math.min(execs, exitsSeen), execs, exits: exitsSeen, rssKb: rss, cpuSecs: (cpu1 - cpu0) / CLK_TCK, fan };
}

/** The fanotify backend's counters from `policy list` (null without an exec policy). */
function fanotifyCounters() {
  const out = execFileSync(process.execPath, [join(ROOT, 'packages/agent/dist/main.js'), 'policy', 'list', '--socket', join(work, 'ctl.sock')], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.startsWith('backend fanotify_exec:'));
  if (!line) return null;
  const num = (k) => Number(new RegExp(` ${k}=(\\d+)`).exec(line)?.[1] ?? NaN);
  return { events: num('events'), cached: num('cached') };
}

async function withAuditd(marker) {
  const log = join(work, 'audit.log');
  for (const f of readdirSync(work)) if (f.startsWith('audit.log')) rmSync(join(work, f), { force: true });
  const conf = join(work, 'auditd.conf');
  execFileSync('sh', ['-c', `sed -e 's#^log_file.*#log_file = ${log}#' -e 's#^flush.*#flush = INCREMENTAL_ASYNC#' /etc/audit/auditd.conf > ${conf}; chmod 0640 ${conf}`]);
  const d = spawn('auditd', ['-n', '-c', work], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(log); i++) await new Promise((r) => setTimeout(r, 50));
  execFileSync('auditctl', ['-D'], { stdio: 'ignore' });
  execFileSync('auditctl', ['-b', '8192', '-a', 'always,exit', '-F', 'arch=b64', '-S', 'execve', '-k', 'bench']);
  execFileSync('auditctl', ['-e', '1'], { stdio: 'ignore' });
  const cpu0 = cpuTicks(d.pid);
  const secs = storm(marker);
  await new Promise((r) => setTimeout(r, 500));
  const cpu1 = cpuTicks(d.pid);
  const rss = hwmKb(d.pid);
  execFileSync('auditctl', ['-D'], { stdio: 'ignore' });
  execFileSync('auditctl', ['-e', '0'], { stdio: 'ignore' });
  const done = new Promise((r) => d.on('exit', r));
  d.kill('SIGTERM');
  await done;
  // auditd rotates its log (max_log_size): count over audit.log and every rotated audit.log.N.
  const logs = readdirSync(work).filter((f) => f === 'audit.log' || f.startsWith('audit.log.')).map((f) => join(work, f));
  const text = logs.map((f) => readFileSync(f, 'utf8')).join('\n');
  const delivered = text.split('\n').filter((l) => l.startsWith('type=EXECVE') && l.includes(`a1="${marker}"`)).length;
  const bytes = logs.reduce((n, f) => n + statSync(f).size, 0);
  for (const f of logs) rmSync(f, { force: true });
  return { secs, delivered, rssKb: rss, cpuSecs: (cpu1 - cpu0) / CLK_TCK, logBytesPerExec: bytes / EXECS };
}

const results = Object.fromEntries(MODES.map((m) => [m, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of MODES) {
    const marker = `storm-${process.pid}-${r}-${mode}`;
    let res;
    if (mode === 'none') res = { secs: storm(marker), delivered: NaN };
    else if (mode === 'peregrine') res = await withPeregrine(marker);
    else if (mode === 'peregrine+exec-deny') res = await withPeregrine(marker, ['--tracing-policy', denyPolicy]);
    else if (mode === 'auditd') res = await withAuditd(marker);
    else throw new Error(`unknown mode ${mode}`);
    results[mode].push(res);
    process.stderr.write(`round ${r + 1}/${ROUNDS} ${mode}: ${res.secs.toFixed(3)} s${Number.isNaN(res.delivered) ? '' : `, delivered ${res.delivered}/${EXECS}`}\n`);
  }
}

const base = median(results.none?.map((x) => x.secs) ?? [NaN]);
console.log(`\nExec storm: ${EXECS} fork+exec+wait of ${TRUE}, ${ROUNDS} rounds, median per mode (kernel ${execFileSync('uname', ['-r']).toString().trim()}, ${(await import('node:os')).cpus().length} CPUs)\n`);
console.log('| mode | median s | µs/exec | ratio to no agent | delivered / expected | agent peak RSS | agent CPU-s per 1k execs |');
console.log('|---|---|---|---|---|---|---|');
for (const mode of MODES) {
  const rs = results[mode];
  const secs = median(rs.map((x) => x.secs));
  const del = mode === 'none' ? '–' : `${Math.min(...rs.map((x) => x.delivered))}–${Math.max(...rs.map((x) => x.delivered))} / ${EXECS} (${((100 * median(rs.map((x) => x.delivered))) / EXECS).toFixed(2)} %)`;
  const rss = mode === 'none' ? '–' : `${(median(rs.map((x) => x.rssKb)) / 1024).toFixed(1)} MiB`;
  const cpu = mode === 'none' ? '–' : (median(rs.map((x) => x.cpuSecs)) / (EXECS / 1000)).toFixed(4);
  console.log(`| ${mode} | ${secs.toFixed(3)} | ${((secs / EXECS) * 1e6).toFixed(0)} | ${(secs / base).toFixed(3)}× | ${del} | ${rss} | ${cpu} |`);
}
for (const mode of MODES) {
  const fans = results[mode].map((x) => x.fan).filter(Boolean);
  if (fans.length === 0) continue;
  console.log(`\n${mode}: exec permission events answered in user space during a storm of ${EXECS}: ${fans.map((f) => f.events).join(', ')} per round (the rest answered in the kernel by the allow cache: ${fans.map((f) => f.cached).join(', ')} cache marks)`);
}
rmSync(work, { recursive: true, force: true });
