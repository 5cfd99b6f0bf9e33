#!/usr/bin/env node
// The `peregrine` command line.
import { Command, Option } from 'commander';
import { PeregrineError } from '@peregrine/events';
import { runCommand } from './commands/run.js';
import { probeCommand } from './commands/probe.js';

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
  .option('--max-args-bytes <n>', 'argv bytes read per exec (longer argv is flagged truncArgs)')
  .addOption(new Option('-q, --quiet', 'no compact lines on the terminal').argParser(() => true))
  .action(async (opts: Record<string, unknown>) => {
    process.exitCode = await runCommand(opts);
  });

program
  .command('probe')
  .description('report which BPF program types, hooks and enforcement mechanisms this kernel offers')
  .action(async () => {
    process.exitCode = await probeCommand();
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
