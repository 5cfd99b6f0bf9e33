// compileTracepointHook: one TracingPolicy `tracepoints:` entry → a TracepointHook, or a ConfigError
// naming every field it cannot honour. The fields are resolved against the tracepoint's format file
// (offset, size, signedness, and what the declaration is); the selectors are compiled by the syscall
// backend's compiler over argument slots 0..n-1 (the declared fields in order), so filters, values and
// limits are the same. Tracepoints only observe: Override is refused.
import { ConfigError, type ConfigIssue } from '@peregrine/events';
import { compileSyscallHook, intTypeInfo, MAX_DATA_REFUSED, type SelectorInput } from '../syscall/compile.js';
import { SEL } from '../syscall/layout.js';
import { INT_ARG_TYPES, type IntArgType } from '../syscall/types.js';
import { readTpFormat, tpSubsystemExists, TRACING_ROOTS, type TpFormat, type TpFormatField } from './format.js';
import type { TpField, TracepointHook } from './types.js';

/** The tracepoints entry as packages/policy's zod schema outputs it (TracepointSpec), declared structurally. */
export interface TracepointSpecInput {
  subsystem: string;
  event: string;
  raw?: boolean;
  args?: { index: number; type: string; label?: string; sizeArgIndex?: number; returnCopy?: boolean; maxData?: boolean }[];
  selectors?: SelectorInput[];
  message?: string;
  tags?: string[];
}

export interface TracepointCompileOptions {
  id?: number;
  /** Prefixed to every issue path, e.g. `spec.tracepoints[0]`. */
  path?: string;
  procRoot?: string;
  /** Where to look for events/<subsystem>/<event>/format. */
  tracingRoots?: readonly string[];
}

let nextId = 1;

function tpMessage(m: string): string {
  return m.replaceAll('syscall_tracepoint backend', 'tracepoint backend').replace(/ at sys_enter/g, '');
}

type Resolved = Omit<TpField, 'index' | 'type' | 'label'>;

/**
 * char_buf: the bytes a pointer field points to, as many as the length field sizeArgIndex names says
 * (at most 255). sizeArgIndex counts fields from 1, as Tetragon's tracepoint args do (field i is
 * sizeArgIndex i + 1); the length field need not be declared in args.
 */
function resolveCharBuf(f: TpFormatField, sizeArgIndex: number | undefined, fmt: TpFormat): Resolved | { path: 'type' | 'sizeArgIndex'; message: string } {
  if (f.shape !== 'char_pointer' && f.shape !== 'pointer') {
    return { path: 'type', message: `field ${f.index} '${f.decl}' is not a pointer: char_buf reads the bytes a pointer field points to` };
  }
  const counting = 'sizeArgIndex counts the fields from 1, common_* included: field i is sizeArgIndex i + 1';
  if (sizeArgIndex === undefined) return { path: 'sizeArgIndex', message: `char_buf needs sizeArgIndex, the field holding the buffer's length (${counting})` };
  const len = fmt.fields[sizeArgIndex - 1];
  const names = `sizeArgIndex ${sizeArgIndex} names field ${sizeArgIndex - 1}`;
  if (!len) return { path: 'sizeArgIndex', message: `${names}, and ${fmt.subsystem}/${fmt.event} has fields 0..${fmt.fields.length - 1} (${counting})` };
  if (len.index === f.index) return { path: 'sizeArgIndex', message: `${names}, the buffer itself (${counting})` };
  if (len.shape !== 'int') return { path: 'sizeArgIndex', message: `${names} '${len.decl}', which is not an integer length` };
  return {
    name: f.name, offset: f.offset, size: f.size,
    // syscalls/sys_enter_* pass the caller's pointers; other events' pointers point into the kernel.
    how: fmt.subsystem === 'syscalls' ? 'UBUF' : 'KBUF',
    lenOffset: len.offset, lenSize: len.size, lenSigned: len.signed,
  };
}

function resolveField(f: TpFormatField, type: string, subsystem: string): Resolved | string {
  const base = { name: f.name, offset: f.offset, size: f.size };
  if ((INT_ARG_TYPES as readonly string[]).includes(type)) {
    if (f.shape !== 'int' && f.shape !== 'pointer' && f.shape !== 'char_pointer') {
      return `field ${f.index} '${f.decl}' is not an integer: it cannot be read as ${type}`;
    }
    const { size } = intTypeInfo(type as IntArgType);
    return { ...base, how: 'INT', intSize: Math.min(size, f.size) };
  }
  if (type === 'string') {
    if (f.shape === 'data_loc_string') return { ...base, how: 'DLOC' };
    if (f.shape === 'char_array') return { ...base, how: 'ARRAY' };
    // syscalls/sys_enter_* pass the caller's pointers; other events' char * point into the kernel.
    if (f.shape === 'char_pointer') return { ...base, how: subsystem === 'syscalls' ? 'USTR' : 'KSTR' };
    return `field ${f.index} '${f.decl}' is not a string (a string is a __data_loc char[], a char * or a char array)`;
  }
  return `argument type '${type}' is not supported by the tracepoint backend (declare an integer type such as int, uint32, long, size_t, string, or char_buf with sizeArgIndex)`;
}

export function compileTracepointHook(
  policyName: string,
  spec: TracepointSpecInput,
  mode: 'enforce' | 'monitor',
  opts: TracepointCompileOptions = {},
): TracepointHook {
  const issues: ConfigIssue[] = [];
  const base = opts.path ? `${opts.path}.` : '';
  const bad = (path: string, message: string): void => void issues.push({ path: base + path, message });
  const roots = opts.tracingRoots ?? TRACING_ROOTS;
  const name = `${spec.subsystem}/${spec.event}`;
  const fail = (): never => {
    throw new ConfigError(`policy '${policyName}' tracepoint ${name}`, issues);
  };

  if (spec.raw) bad('raw', 'raw tracepoints are the tp_btf backend\'s (TP_PROTO arguments, kfunc/rawtp.ts); the tracepoint backend reads format-file fields');
  const format = readTpFormat(spec.subsystem, spec.event, roots);
  if (!format) {
    if (!tpSubsystemExists(spec.subsystem, roots)) bad('subsystem', `tracepoint subsystem '${spec.subsystem}' does not exist on this kernel (no events/${spec.subsystem} under ${roots.join(' or ')})`);
    else bad('event', `tracepoint ${name} does not exist on this kernel (no events/${name}/format under ${roots.join(' or ')})`);
    fail();
  }
  const fmt = format!;

  // Declared fields → argument slots 0..n-1.
  const args = spec.args ?? [];
  if (args.length > SEL.MAX_ARGS) bad('args', `at most ${SEL.MAX_ARGS} arguments per tracepoint hook`);
  const fields: TpField[] = [];
  const slotOf = new Map<number, number>();
  args.slice(0, SEL.MAX_ARGS).forEach((a, i) => {
    const p = `args[${i}]`;
    if (slotOf.has(a.index)) return bad(`${p}.index`, `field ${a.index} is declared twice`);
    const f = fmt.fields[a.index];
    if (!f) {
      return bad(`${p}.index`, `${name} has ${fmt.fields.length} fields (0..${fmt.fields.length - 1}, common_* included): there is no field ${a.index}`);
    }
    if (a.returnCopy) {
      bad(`${p}.returnCopy`, 'returnCopy is not supported by the tracepoint backend: a tracepoint has no return to read the buffer at (use a kprobes entry with syscall: true and return: true)');
    }
    if (a.maxData) bad(`${p}.maxData`, MAX_DATA_REFUSED);
    if (a.type === 'char_buf') {
      const r = resolveCharBuf(f, a.sizeArgIndex, fmt);
      if ('message' in r) return bad(`${p}.${r.path}`, r.message);
      slotOf.set(a.index, fields.length);
      fields.push({ index: a.index, type: a.type, ...(a.label !== undefined ? { label: a.label } : {}), ...r });
      return;
    }
    if (a.sizeArgIndex !== undefined) bad(`${p}.sizeArgIndex`, 'sizeArgIndex applies to char_buf only');
    const r = resolveField(f, a.type, spec.subsystem);
    if (typeof r === 'string') return bad(`${p}.type`, r);
    slotOf.set(a.index, fields.length);
    fields.push({ index: a.index, type: a.type, ...(a.label !== undefined ? { label: a.label } : {}), ...r });
  });

  // Selectors in slot space; Override refused here with the tracepoint's own reason.
  const sels: SelectorInput[] = (spec.selectors ?? []).map((s, si) => {
    const sp = `selectors[${si}]`;
    const matchArgs = (s.matchArgs ?? []).flatMap((m, mi) => {
      const slot = slotOf.get(m.index);
      if (slot === undefined) {
        bad(`${sp}.matchArgs[${mi}].index`, `field ${m.index} is not declared in args`);
        return [];
      }
      return [{ ...m, index: slot }];
    });
    (s.matchActions ?? []).forEach((a, ai) => {
      if (a.action === 'Override') {
        bad(`${sp}.matchActions[${ai}].action`, `Override cannot be honoured on tracepoint ${name}: tracepoints only observe (use Sigkill, or an lsmhooks entry to deny)`);
      }
    });
    return { ...s, matchArgs, matchActions: (s.matchActions ?? []).filter((a) => a.action !== 'Override') };
  });

  let compiled;
  try {
    compiled = compileSyscallHook(
      policyName,
      {
        call: 'sys_getpid', // any syscall: only the selectors and argument slots are used
        syscall: true,
        args: fields.map((f, i) => ({ index: i, type: f.how === 'INT' ? f.type : 'string' })),
        selectors: sels,
      },
      mode,
      { id: 0, ...(opts.path !== undefined ? { path: opts.path } : {}), ...(opts.procRoot !== undefined ? { procRoot: opts.procRoot } : {}) },
    );
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // Paths of matchArgs filters are the policy's (only their index was translated).
    const field = (n: string): string => `field ${fields[Number(n)]?.index ?? n}`;
    for (const i of e.issues) {
      // Slots are compiled as strings; a char_buf field is named as such.
      const message = tpMessage(i.message)
        .replace(/\bstring argument (\d+)/, (_, n: string) => `${fields[Number(n)]?.type ?? 'string'} ${field(n)}`)
        .replace(/argument (\d+)/, (_, n: string) => field(n));
      issues.push({ path: i.path, message });
    }
  }
  if (issues.length > 0 || !compiled) fail();
  const hook: TracepointHook = {
    ...compiled!,
    id: opts.id ?? nextId++,
    policy: policyName,
    syscall: name,
    nr: fmt.id,
    subsystem: spec.subsystem,
    event: spec.event,
    eventId: fmt.id,
    fields,
  };
  if (spec.message !== undefined) hook.message = spec.message;
  if (spec.tags !== undefined) hook.tags = [...spec.tags];
  return hook;
}
