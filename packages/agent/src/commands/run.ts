import { bpfObjectPath, probeKernel, type FeatureReport } from '@peregrine/collector';
import { Agent, type AgentCounters } from '../agent.js';
import { buildRoutes, sinkEntries } from '../routes.js';
import { loadConfig } from '../config/load.js';
import { cgroup2Root, preflight } from '../preflight.js';
import { log } from '../log.js';
import { loadPolicyDir, loadPolicyFile, type TracingPolicy } from '@peregrine/policy';
import { PolicyManager } from '../policy/manager.js';
import { createAdapters } from '../policy/adapters.js';
import { startControlServer } from '../control/server.js';
import { DEFAULT_SOCKET } from '../control/protocol.js';
import { formatPolicies } from './policy.js';

function featureLine(r: FeatureReport): string {
  return r.features.map((f) => `${f.name} ${f.available ? '✔' : '✘'}`).join('  ');
}

function summary(c: AgentCounters): string {
  const k = c.sensor.kernel;
  const lost = k.ringbuf_full_exec + k.ringbuf_full_clone + k.ringbuf_full_exit;
  const sinks = Object.entries(c.sinks)
    .map(([id, s]) => `${id}: ${s.queue.sent} sent, ${s.queue.dropped} dropped, ${s.queue.failed} failed, ${s.queue.deadLettered} dead-lettered`)
    .join('; ');
  return (
    `events: ${c.events.exec} exec, ${c.events.exit} exit, ${c.events.policy} policy; ` +
    `kernel: ${k.execs} exec / ${k.clones} clone / ${k.exits} exit records, ${lost} lost (ring full), ${k.execve_map_full} map full; ` +
    `reader: ${c.sensor.reader.droppedRecords} dropped; decode errors: ${c.sensor.decode.unknownOpcode + c.sensor.decode.badSize + c.sensor.decode.badRecord}; ` +
    `enricher: ${c.enricher.parentMisses} parent misses, ${c.enricher.cacheEvictions} evictions; ${sinks}`
  );
}

export async function runCommand(opts: Record<string, unknown>): Promise<number> {
  const cfg = loadConfig({ file: opts.config as string | undefined, env: process.env, flags: opts });
  sinkEntries(cfg); // validates the sinks: list before anything starts
  // Policies are read and validated before anything touches the kernel: a bad file fails fast.
  const startPolicies: { source: string; policies: TracingPolicy[] }[] = [];
  for (const f of (opts.tracingPolicy as string[] | undefined) ?? []) startPolicies.push({ source: f, policies: loadPolicyFile(f) });
  if (typeof opts.tracingPolicyDir === 'string') {
    startPolicies.push({ source: opts.tracingPolicyDir, policies: loadPolicyDir(opts.tracingPolicyDir) });
  }
  const socketPath = (opts.serverSocket as string | undefined) ?? process.env.PEREGRINE_SOCKET ?? DEFAULT_SOCKET;
  for (const note of preflight().notes) log(note);
  const report = await probeKernel({ objectPath: bpfObjectPath('features') });
  log(`kernel ${report.kernel}: ${featureLine(report)}`);

  const agent = new Agent(cfg, buildRoutes(cfg));
  await agent.start();
  const available = new Set(report.features.filter((f) => f.available).map((f) => f.name));
  const policies = new PolicyManager(createAdapters({ cgroup2Root: cgroup2Root() }), available, cfg.node_name, agent.processes, (evs) => agent.publish(evs));
  agent.tickers.push((now) => policies.tick(now));
  let server: Awaited<ReturnType<typeof startControlServer>> | null = null;
  try {
    for (const { source, policies: ps } of startPolicies) log(`policy ${source}:\n${formatPolicies(await policies.add(ps, source))}`);
    server = await startControlServer(socketPath, { policies, sinkStats: () => agent.counters().sinks });
  } catch (e) {
    await policies.stop();
    await agent.stop();
    throw e;
  }
  log(`ready: node ${cfg.node_name}, exporting to ${cfg.export_file.path || '(no file)'}, control socket ${socketPath}`);

  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      log(`${sig}: stopping`);
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  await new Promise<void>((r) => server?.close(() => r()) ?? r());
  await policies.stop();
  const counters = await agent.stop();
  log(summary(counters));
  return 0;
}
