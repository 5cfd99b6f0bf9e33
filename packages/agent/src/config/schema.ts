import { hostname } from 'node:os';
import { z } from 'zod';

const MiB = 1024 * 1024;

export const ExportFileConfig = z.strictObject({
  /** Where JSON lines go; "" disables the file. */
  path: z.string().default('/var/log/peregrine/events.log'),
  max_size_bytes: z.number().int().min(0).default(10 * MiB),
  max_backups: z.number().int().min(0).max(1000).default(5),
  compress: z.boolean().default(false),
});

export const TerminalConfig = z.strictObject({
  enabled: z.boolean().default(true),
  color: z.enum(['auto', 'always', 'never']).default('auto'),
});

/** The agent's configuration: YAML file, then PEREGRINE_* environment, then flags, each validated. */
export const AgentConfig = z.strictObject({
  node_name: z.string().min(1).max(253).default(() => process.env.NODE_NAME || hostname()),
  export_file: ExportFileConfig.default(() => ExportFileConfig.parse({})),
  terminal: TerminalConfig.default(() => TerminalConfig.parse({})),
  enable_ancestors: z.boolean().default(false),
  /** cap, process_credentials, binary_properties in processes (Tetragon's --enable-process-cred). */
  enable_process_cred: z.boolean().default(false),
  /** ns (namespace inums with is_host) in processes (Tetragon's --enable-process-ns). */
  enable_process_ns: z.boolean().default(false),
  /** Bytes of argv read per exec (the kernel side caps it at 16 KiB); longer argv is flagged truncArgs. */
  max_args_bytes: z.number().int().min(64).max(16384).default(4096),
  ring_buffer_bytes: z
    .number()
    .int()
    .min(64 * 1024)
    .max(1024 * MiB)
    .refine((n) => (n & (n - 1)) === 0, 'must be a power of two')
    .default(16 * MiB),
  poll_interval_ms: z.number().int().min(1).max(1000).default(10),
  process_cache_size: z.number().int().min(1024).max(4_000_000).default(65536),
  /** Events waiting for a sink before new ones are dropped (counted). */
  queue_max_events: z.number().int().min(1000).max(10_000_000).default(1_000_000),
  /** More sinks (kafka, elasticsearch, otlp_http, file, compact), validated by config/sinks.ts. */
  sinks: z.array(z.record(z.string(), z.unknown())).default([]),
});
export type AgentConfig = z.output<typeof AgentConfig>;
export type AgentConfigInput = z.input<typeof AgentConfig>;
