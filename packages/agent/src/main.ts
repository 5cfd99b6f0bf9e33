#!/usr/bin/env node
// The `peregrine` command line.
import { Command, Option } from 'commander';
import { PeregrineError } from '@peregrine/events';
import { DEFAULT_SOCKET } from './control/protocol.js';

// Each command's module is loaded when that command runs: `run` and the sink commands pull in every sink
// client library, which `peregrine policy …` (a control-socket round trip) must not wait for.
const loadRun = () => import('./commands/run.js');
const loadProbe = () => import('./commands/probe.js');
const loadPolicy = () => import('./commands/policy.js');
const loadSinks = () => import('./commands/sinks.js');

const program = new Command('peregrine')
  .description('eBPF security observability and runtime enforcement')
  .showHelpAfterError()
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

program
  .command('run')
  .description('run the agent: process telemetry to a JSON file and the terminal')
  .option('--config <file>', 'YAML configuration file')
  .option('--export-file <path>', 'JSON-lines export file ("" disables it)')
  .option('--export-file-max-size-mb <n>', 'rotate the export file at this size')
  .option('--export-file-max-backups <n>', 'rotated files to keep')
  .addOption(new Option('--export-file-compress', 'gzip rotated files').argParser(() => true))
  .option('--node-name <name>', 'node name in events and exec ids (default: $NODE_NAME or the hostname)')
  .addOption(new Option('--enable-ancestors', 'add every ancestor to process events').argParser(() => true))
  .addOption(new Option('--enable-process-cred', 'add capabilities, credentials and setuid/setgid properties to processes').argParser(() => true))
  .addOption(new Option('--enable-process-ns', 'add namespace inums (with is_host) to processes').argParser(() => true))
  .option('--max-args-bytes <n>', 'argv bytes read per exec (longer argv is flagged truncArgs)')
  .addOption(new Option('-q, --quiet', 'no compact lines on the terminal').argParser(() => true))
  .option('--tracing-policy <file>', 'load a TracingPolicy YAML at start (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
  .option('--tracing-policy-dir <dir>', 'load every *.yaml TracingPolicy of a directory at start')
  .option('--server-socket <path>', `local control socket (default ${DEFAULT_SOCKET})`)
  .action(async (opts: Record<string, unknown>) => {
    process.exitCode = await (await loadRun()).runCommand(opts);
  });

const socketOf = (o: { socket?: string }): string => o.socket ?? process.env.PEREGRINE_SOCKET ?? DEFAULT_SOCKET;
const policy = program.command('policy').description('manage the tracing policies of the running agent');
policy
  .command('add <file>')
  .description('load the TracingPolicy documents of a YAML file')
  .addOption(new Option('--mode <mode>', 'override the policy mode').choices(['enforce', 'monitor']))
  .option('--socket <path>', 'agent control socket')
  .action(async (file: string, o: { mode?: 'enforce' | 'monitor'; socket?: string }) => {
    process.exitCode = await (await loadPolicy()).policyAdd(socketOf(o), file, o.mode);
  });
policy
  .command('delete <name>')
  .description('unload a policy (its programs, maps, marks and attachments go with it)')
  .option('--socket <path>', 'agent control socket')
  .action(async (name: string, o: { socket?: string }) => {
    process.exitCode = await (await loadPolicy()).policyDelete(socketOf(o), name);
  });
policy
  .command('list')
  .description('policies with state, mode, hook backends and counters')
  .option('-o, --output <format>', 'text or json', 'text')
  .option('--socket <path>', 'agent control socket')
  .action(async (o: { output: string; socket?: string }) => {
    process.exitCode = await (await loadPolicy()).policyList(socketOf(o), o.output === 'json');
  });
policy
  .command('mode <name> <mode>')
  .description('switch a policy between enforce and monitor')
  .option('--socket <path>', 'agent control socket')
  .action(async (name: string, mode: string, o: { socket?: string }) => {
    process.exitCode = await (await loadPolicy()).policyMode(socketOf(o), name, mode);
  });

program
  .command('worker')
  .description('deliver the durable queue of one sink (queue.redis): run any number, on any host')
  .requiredOption('--sink <id>', 'the sink id in the configuration')
  .option('--config <file>', 'the agent configuration (YAML) holding the sink')
  .option('--concurrency <n>', 'batches delivered at once (1 keeps strict order)', '1')
  .action(async (o: { sink: string; config?: string; concurrency: string }) => {
    process.exitCode = await (await loadSinks()).workerCommand(o.config, o.sink, Math.max(1, Number(o.concurrency) || 1));
  });

const dlq = program.command('dlq').description('dead-letter queue of a durable sink');
dlq
  .command('list')
  .requiredOption('--sink <id>', 'the sink id')
  .option('--config <file>', 'the agent configuration (YAML)')
  .option('--limit <n>', 'at most this many', '100')
  .action(async (o: { sink: string; config?: string; limit: string }) => {
    process.exitCode = await (await loadSinks()).dlqList(o.config, o.sink, Number(o.limit) || 100);
  });
dlq
  .command('replay')
  .requiredOption('--sink <id>', 'the sink id')
  .option('--config <file>', 'the agent configuration (YAML)')
  .option('--id <id...>', 'dead letters to replay')
  .option('--all', 'replay every dead letter')
  .action(async (o: { sink: string; config?: string; id?: string[]; all?: boolean }) => {
    process.exitCode = await (await loadSinks()).dlqReplay(o.config, o.sink, o.id, o.all === true);
  });

const sinks = program.command('sinks').description('configured sinks');
sinks
  .command('check')
  .description('run every configured sink\'s healthcheck')
  .option('--config <file>', 'the agent configuration (YAML)')
  .action(async (o: { config?: string }) => {
    process.exitCode = await (await loadSinks()).sinksCheck(o.config);
  });
sinks
  .command('stats')
  .description('per-sink counters: sent, failed, retried, dropped, dead-lettered, queue depth, latency')
  .option('--sink <id>', 'one sink only')
  .option('--config <file>', 'read a durable sink\'s counters from Redis')
  .option('--socket <path>', 'agent control socket')
  .action(async (o: { sink?: string; config?: string; socket?: string }) => {
    process.exitCode = await (await loadSinks()).sinksStats(socketOf(o), o.config, o.sink);
  });

program
  .command('probe')
  .description('report which BPF program types, hooks and enforcement mechanisms this kernel offers')
  .action(async () => {
    process.exitCode = await (await loadProbe()).probeCommand();
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof PeregrineError) {
    process.stderr.write(`peregrine: ${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
