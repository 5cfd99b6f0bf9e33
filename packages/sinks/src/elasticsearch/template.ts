// Where documents go, and the composable index template that maps them.
//
// data_stream mode: one data stream named `index` (bulk `create` is the only op a data stream takes).
// index mode: daily indices `<index>-YYYY.MM.DD`, the day taken from the event's own time (not the clock),
// so a retry lands in the same index as the first attempt and the _id still deduplicates it.
// (A data stream checks _id only in its current write index: a retry that straddles a rollover could
// index a second copy. Without ILM/rollover, as on the test node, there is no such window.)
// The template gives the ECS fields explicit types (keyword/date/long) and stores the original event
// without indexing it (`enabled: false`): no mapping explosion, no type conflict from it, zero indexing cost.

import { ECS_VERSION, ORIGINAL_FIELD } from './ecs.js';

export type ResolvedMode = 'data_stream' | 'index';

/** Above the built-in `logs-*-*` template (100), so ours wins for logs-peregrine.*-* names too. */
export const TEMPLATE_PRIORITY = 200;

const kw = { type: 'keyword', ignore_above: 1024 } as const;
/** Long strings (argv, paths): below Lucene's 32766-byte term limit even in 4-byte UTF-8. */
const longKw = { type: 'keyword', ignore_above: 8191 } as const;
const long = { type: 'long' } as const;
const date = { type: 'date' } as const;
const ip = { type: 'ip' } as const;
const id = { properties: { id: kw } } as const;

function processMapping(): Record<string, unknown> {
  return {
    entity_id: kw,
    pid: long,
    executable: longKw,
    name: kw,
    args: longKw,
    args_count: long,
    command_line: longKw,
    working_directory: longKw,
    start: date,
    thread: { properties: { id: long } },
    user: { properties: { id: kw, name: kw } },
    group: id,
    real_user: id,
    real_group: id,
    saved_user: id,
    saved_group: id,
  };
}

/** Explicit mappings of every field toEcs() writes. */
export function ecsMappings(): Record<string, unknown> {
  return {
    dynamic: true,
    dynamic_templates: [{ strings_as_keyword: { match_mapping_type: 'string', mapping: kw } }],
    properties: {
      '@timestamp': date,
      ecs: { properties: { version: kw } },
      event: {
        properties: { id: kw, kind: kw, category: kw, type: kw, action: kw, outcome: kw, module: kw, reason: longKw },
      },
      host: { properties: { name: kw } },
      process: {
        properties: {
          ...processMapping(),
          end: date,
          exit_code: long,
          parent: { properties: processMapping() },
        },
      },
      container: {
        properties: {
          id: kw,
          name: kw,
          runtime: kw,
          image: { properties: { name: kw, tag: kw } },
          security_context: { properties: { privileged: { type: 'boolean' } } },
        },
      },
      orchestrator: {
        properties: {
          type: kw,
          namespace: kw,
          cluster: { properties: { name: kw } },
          resource: { properties: { type: kw, name: kw, id: kw, label: kw, parent: { properties: { type: kw } } } },
        },
      },
      rule: { properties: { name: kw } },
      message: { type: 'text' },
      tags: kw,
      file: { properties: { path: longKw, name: kw } },
      source: { properties: { ip: ip, port: long } },
      destination: { properties: { ip: ip, port: long } },
      network: { properties: { transport: kw } },
      [ORIGINAL_FIELD]: { type: 'object', enabled: false },
    },
  };
}

/** Body of PUT _index_template/<index>. */
export function indexTemplate(index: string, mode: ResolvedMode): Record<string, unknown> {
  return {
    index_patterns: indexPatterns(index, mode),
    priority: TEMPLATE_PRIORITY,
    ...(mode === 'data_stream' ? { data_stream: {} } : {}),
    template: { mappings: ecsMappings() },
    _meta: { managed_by: 'peregrine', ecs_version: ECS_VERSION },
  };
}

export function indexPatterns(index: string, mode: ResolvedMode): string[] {
  return mode === 'data_stream' ? [index] : [`${index}-*`];
}

/** The index (or data stream) an event with this time goes to. */
export function targetIndex(index: string, mode: ResolvedMode, time: string): string {
  return mode === 'data_stream' ? index : `${index}-${utcDay(time)}`;
}

const ISO_UTC_DAY = /^(\d{4})-(\d{2})-(\d{2})T[^+]*Z$/;

/** "2026-11-27T23:59:59.999999999Z" → "2026.11.27" (UTC); other offsets through Date. */
export function utcDay(time: string): string {
  const m = ISO_UTC_DAY.exec(time);
  if (m !== null) return `${m[1]}.${m[2]}.${m[3]}`;
  const d = new Date(time);
  const t = Number.isNaN(d.getTime()) ? new Date() : d; // ES rejects the bad @timestamp anyway: dead letter
  return t.toISOString().slice(0, 10).replaceAll('-', '.');
}
