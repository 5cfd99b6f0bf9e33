// Tracepoint format files (/sys/kernel/tracing/events/<subsystem>/<event>/format): the event id and
// every field of the record with its offset, size and signedness. Field indexes count every field,
// the common_* ones included, as Tetragon's `args: [{index}]` do (raw_syscalls/sys_enter: 4 = id).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const TRACING_ROOTS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'] as const;

export interface TpFormatField {
  /** Index among all fields, common ones included. */
  index: number;
  name: string;
  /** The declaration as the format file gives it, e.g. `const char * filename`, `__data_loc char[] name`. */
  decl: string;
  offset: number;
  size: number;
  signed: boolean;
  /** What the declaration is, for the types a policy may read it as. */
  shape: 'int' | 'pointer' | 'char_pointer' | 'char_array' | 'data_loc_string' | 'other';
}

export interface TpFormat {
  subsystem: string;
  event: string;
  id: number;
  fields: TpFormatField[];
}

function shapeOf(decl: string, size: number): TpFormatField['shape'] {
  if (decl.startsWith('__data_loc ')) return /\bchar\s*\[\]/.test(decl) ? 'data_loc_string' : 'other';
  if (/\bchar\s*\*\s*\w+$/.test(decl)) return 'char_pointer';
  if (decl.includes('*')) return 'pointer';
  if (/\bchar\s+\w+\s*\[\d+\]$/.test(decl)) return 'char_array';
  if (decl.includes('[')) return 'other';
  return [1, 2, 4, 8].includes(size) ? 'int' : 'other';
}

/** Parses the text of a format file. */
export function parseTpFormat(subsystem: string, event: string, text: string): TpFormat {
  const id = /^ID:\s*(\d+)/m.exec(text);
  if (!id) throw new Error(`format of ${subsystem}/${event} has no ID line`);
  const fields: TpFormatField[] = [];
  const re = /^\s*field:(.+?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const decl = m[1]!.trim();
    const name = /(\w+)\s*(\[[^\]]*\])?$/.exec(decl)?.[1] ?? decl;
    const size = Number(m[3]);
    fields.push({ index: fields.length, name, decl, offset: Number(m[2]), size, signed: m[4] === '1', shape: shapeOf(decl, size) });
  }
  return { subsystem, event, id: Number(id[1]), fields };
}

/** The format of subsystem/event, or null when no tracing root has it. */
export function readTpFormat(subsystem: string, event: string, roots: readonly string[] = TRACING_ROOTS): TpFormat | null {
  for (const root of roots) {
    const p = join(root, 'events', subsystem, event, 'format');
    let text: string;
    try {
      text = readFileSync(p, 'utf8');
    } catch {
      continue;
    }
    return parseTpFormat(subsystem, event, text);
  }
  return null;
}

/** Whether the subsystem exists at all (for a precise error). */
export function tpSubsystemExists(subsystem: string, roots: readonly string[] = TRACING_ROOTS): boolean {
  return roots.some((r) => existsSync(join(r, 'events', subsystem)));
}
