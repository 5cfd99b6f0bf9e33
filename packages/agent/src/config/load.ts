// Configuration from three sources, each validated on its own so an error names the field as the
// user wrote it (a YAML path, an environment variable, a flag), then merged: file < env < flags.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, zodIssues, type ConfigIssue } from '@peregrine/events';
import { AgentConfig, type AgentConfigInput } from './schema.js';

/** One setting reachable from the command line and the environment. */
interface Setting {
  flag: string;
  env: string;
  schema: z.ZodType;
  apply: (c: AgentConfigInput, v: never) => void;
}

const int = z.coerce
  .number({ error: (i) => (i.code === 'invalid_type' ? 'expected a number' : undefined) })
  .int({ error: 'expected a whole number' });
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((s) => s === 'true' || s === '1')]);
const MiB = 1024 * 1024;

export const SETTINGS: Setting[] = [
  { flag: 'export-file', env: 'PEREGRINE_EXPORT_FILE', schema: z.string(), apply: (c, v: string) => ((c.export_file ??= {}).path = v) },
  {
    flag: 'export-file-max-size-mb',
    env: 'PEREGRINE_EXPORT_FILE_MAX_SIZE_MB',
    schema: int.min(0).max(1024 * 1024),
    apply: (c, v: number) => ((c.export_file ??= {}).max_size_bytes = v * MiB),
  },
  {
    flag: 'export-file-max-backups',
    env: 'PEREGRINE_EXPORT_FILE_MAX_BACKUPS',
    schema: int.min(0).max(1000),
    apply: (c, v: number) => ((c.export_file ??= {}).max_backups = v),
  },
  { flag: 'export-file-compress', env: 'PEREGRINE_EXPORT_FILE_COMPRESS', schema: bool, apply: (c, v: boolean) => ((c.export_file ??= {}).compress = v) },
  { flag: 'node-name', env: 'PEREGRINE_NODE_NAME', schema: z.string().min(1).max(253), apply: (c, v: string) => (c.node_name = v) },
  { flag: 'enable-ancestors', env: 'PEREGRINE_ENABLE_ANCESTORS', schema: bool, apply: (c, v: boolean) => (c.enable_ancestors = v) },
  { flag: 'enable-process-cred', env: 'PEREGRINE_ENABLE_PROCESS_CRED', schema: bool, apply: (c, v: boolean) => (c.enable_process_cred = v) },
  { flag: 'enable-process-ns', env: 'PEREGRINE_ENABLE_PROCESS_NS', schema: bool, apply: (c, v: boolean) => (c.enable_process_ns = v) },
  { flag: 'max-args-bytes', env: 'PEREGRINE_MAX_ARGS_BYTES', schema: int.min(64).max(16384), apply: (c, v: number) => (c.max_args_bytes = v) },
  { flag: 'quiet', env: 'PEREGRINE_QUIET', schema: bool, apply: (c, v: boolean) => ((c.terminal ??= {}).enabled = !v) },
];

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());
}

export interface ConfigSources {
  file?: string;
  env: NodeJS.ProcessEnv;
  /** Commander's parsed options (camelCase keys); undefined = not given. */
  flags: Record<string, unknown>;
}

function readFile(path: string): AgentConfigInput {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`config file ${path}`, [{ path: '', message: (e as Error).message }], { cause: e });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`config file ${path}`, [{ path: '', message: `not valid YAML: ${(e as Error).message}` }], { cause: e });
  }
  const r = AgentConfig.safeParse(doc ?? {});
  if (!r.success) throw new ConfigError(`config file ${path}`, zodIssues(r.error));
  return doc as AgentConfigInput;
}

/** Loads and validates the configuration; throws one ConfigError listing every bad field of a source. */
export function loadConfig(src: ConfigSources): AgentConfig {
  const cfg: AgentConfigInput = src.file ? structuredClone(readFile(src.file)) : {};
  const sources: [string, (s: Setting) => [string, unknown]][] = [
    ['environment', (s) => [s.env, src.env[s.env]]],
    ['command line', (s) => [`--${s.flag}`, src.flags[camel(s.flag)]]],
  ];
  for (const [source, get] of sources) {
    const issues: ConfigIssue[] = [];
    for (const s of SETTINGS) {
      const [name, raw] = get(s);
      if (raw === undefined || (raw === '' && source === 'environment')) continue;
      const r = s.schema.safeParse(raw);
      if (r.success) s.apply(cfg, r.data as never);
      else issues.push(...zodIssues(r.error).map((i) => ({ path: name, message: i.message })));
    }
    if (issues.length > 0) throw new ConfigError(source, issues);
  }
  const r = AgentConfig.safeParse(cfg);
  if (!r.success) throw new ConfigError('configuration', zodIssues(r.error));
  return r.data;
}
