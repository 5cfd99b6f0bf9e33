// compileLsmHook: one TracingPolicy `lsmhooks:` entry → an LsmHook for the bpf_lsm backend, or a
// ConfigError listing everything this backend cannot evaluate (with the path of each offending field).
//
// The hook's declared arguments become argument slots (a sockaddr becomes three: family, port, address);
// the selectors are then compiled by the syscall backend's compiler (compileSyscallHook) over those
// slots — same filters, same values parsing, same limits — with sockaddr operators translated (Family →
// Equal on the family slot, DPort → Equal on the port slot, DPortPriv → LT 1024, DAddr → an LPM filter
// on the address slot whose CIDR keys this backend writes itself) and Override taken out (its errno is
// this backend's). Issue messages keep the paths of the lsmhooks entry.
import { ConfigError, type ConfigIssue } from '@peregrine/events';
import { addPathInodes, compileSyscallHook, refuseUnfilteredActions, type SelectorInput } from '../syscall/compile.js';
import { INT_ARG_TYPES, type IntArgType } from '../syscall/types.js';
import { CidrError, matchForm, parseCidr } from '../net/cidr.js';
import { LsmHookId, type LsmHookName } from './layout.js';
import type { AddrFilter, LsmHook, LsmSlot } from './types.js';

/** The lsmhooks entry as packages/policy's zod schema outputs it (LsmHookSpec), declared structurally. */
export interface LsmHookSpecInput {
  hook: string;
  args?: { index: number; type: string; label?: string; sizeArgIndex?: number; returnCopy?: boolean; maxData?: boolean }[];
  selectors?: SelectorInput[];
  message?: string;
  tags?: string[];
}

export interface LsmCompileOptions {
  /** Hook id (u32, unique among the hooks applied together); default: the next of a process-wide counter. */
  id?: number;
  /** Prefixed to every issue path, e.g. `spec.lsmhooks[2]`. */
  path?: string;
  procRoot?: string;
}

/** What each argument of a supported hook is (include/linux/lsm_hook_defs.h). */
type Param = 'linux_binprm' | 'file' | 'path' | 'dentry' | 'sockaddr' | 'sock' | 'int';
export const LSM_HOOK_PARAMS: Record<LsmHookName, Param[]> = {
  bprm_check_security: ['linux_binprm'],
  file_open: ['file'],
  socket_connect: ['sock', 'sockaddr', 'int'],
  file_permission: ['file', 'int'],
  path_truncate: ['path'],
  path_unlink: ['path', 'dentry'],
  path_mkdir: ['path', 'dentry', 'int'],
  path_rmdir: ['path', 'dentry'],
  path_chmod: ['path', 'int'],
};

const PARAM_TYPE: Record<Exclude<Param, 'int' | 'sock'>, string> = {
  linux_binprm: 'linux_binprm', file: 'file', path: 'path', dentry: 'path', sockaddr: 'sockaddr',
};
const PARAM_SRC = { linux_binprm: 'BPRM', file: 'FILE', path: 'PATH', dentry: 'DENTRY' } as const;

const FAMILIES: Record<string, number> = { AF_UNIX: 1, AF_LOCAL: 1, AF_INET: 2, AF_INET6: 10 };
const SOCKADDR_OPS = new Set([
  'Family', 'SAddr', 'NotSAddr', 'DAddr', 'NotDAddr', 'SPort', 'NotSPort', 'DPort', 'NotDPort', 'SPortPriv', 'NotSPortPriv',
  'DPortPriv', 'NotDPortPriv',
]);

let nextId = 1;

export function isLsmHookName(name: string): name is LsmHookName {
  return Object.hasOwn(LsmHookId, name);
}

/** Compiles one lsmhooks entry; throws ConfigError with every problem found. */
export function compileLsmHook(policyName: string, spec: LsmHookSpecInput, mode: 'enforce' | 'monitor', opts: LsmCompileOptions = {}): LsmHook {
  const issues: ConfigIssue[] = [];
  const base = opts.path ? `${opts.path}.` : '';
  const bad = (path: string, message: string): void => void issues.push({ path: base + path, message });

  if (!isLsmHookName(spec.hook)) {
    bad('hook', `the bpf_lsm backend has no program for '${spec.hook}' (it has ${Object.keys(LsmHookId).join(', ')})`);
    throw new ConfigError(`policy '${policyName}' lsmhook ${spec.hook}`, issues);
  }
  const params = LSM_HOOK_PARAMS[spec.hook];

  // Declared arguments → slots.
  const slots: LsmSlot[] = [];
  const slotOf = new Map<number, number>(); // declared index → first slot
  const declared = new Map<number, string>();
  (spec.args ?? []).forEach((a, i) => {
    const p = `args[${i}]`;
    const param = params[a.index];
    if (param === undefined) return bad(`${p}.index`, `${spec.hook} has ${params.length} argument(s): index ${a.index} does not exist`);
    if (declared.has(a.index)) return bad(`${p}.index`, `argument ${a.index} is declared twice`);
    if (a.returnCopy) bad(`${p}.returnCopy`, 'returnCopy does not apply to an LSM hook (it runs before the operation)');
    if (a.maxData) bad(`${p}.maxData`, 'maxData is not supported: paths are reported up to 255 bytes');
    if (a.sizeArgIndex !== undefined) bad(`${p}.sizeArgIndex`, 'sizeArgIndex does not apply to LSM hook arguments');
    const label = a.label !== undefined ? { label: a.label } : {};
    if (param === 'sock') {
      return bad(`${p}.type`, `argument ${a.index} of ${spec.hook} is the socket, which the bpf_lsm backend does not read: declare argument 1 (sockaddr)`);
    }
    if (param === 'int') {
      if (!(INT_ARG_TYPES as readonly string[]).includes(a.type)) {
        return bad(`${p}.type`, `argument ${a.index} of ${spec.hook} is an integer: declare an int type (int, uint32…), not '${a.type}'`);
      }
      slotOf.set(a.index, slots.length);
      declared.set(a.index, a.type);
      slots.push({ src: 'INT', index: a.index, type: a.type as IntArgType, declared: a.type, ...label });
      return;
    }
    const want = PARAM_TYPE[param];
    if (a.type !== want) {
      return bad(`${p}.type`, `argument ${a.index} of ${spec.hook} is a ${param === 'dentry' ? 'directory entry (read as its path)' : param}: declare type '${want}', not '${a.type}'`);
    }
    slotOf.set(a.index, slots.length);
    declared.set(a.index, a.type);
    if (param === 'sockaddr') {
      slots.push({ src: 'SA_FAMILY', index: a.index, type: 'uint16', declared: 'sockaddr', ...label });
      slots.push({ src: 'SA_PORT', index: a.index, type: 'uint16', declared: 'sockaddr', ...label });
      slots.push({ src: 'SA_ADDR', index: a.index, type: 'string', declared: 'sockaddr', ...label });
    } else {
      slots.push({ src: PARAM_SRC[param], index: a.index, type: 'string', declared: a.type, ...label });
    }
  });
  if (slots.length > 6) bad('args', `the arguments need ${slots.length} slots (a sockaddr takes 3): at most 6`);

  // Selectors: translate to the slot space, take Override out, compile with the syscall compiler.
  const errors: number[] = [];
  const addrFilters: AddrFilter[] = [];
  const actionIndex: number[][] = []; // per selector: translated action position → original position
  const sels: SelectorInput[] = (spec.selectors ?? []).map((s, si) => {
    const sp = `selectors[${si}]`;
    const matchArgs = (s.matchArgs ?? []).map((f, fi) => {
      const fp = `${sp}.matchArgs[${fi}]`;
      const slot = slotOf.get(f.index);
      const type = declared.get(f.index);
      if (slot === undefined || type === undefined) {
        bad(`${fp}.index`, `argument ${f.index} is not declared in args`);
        return { index: 0, operator: 'Equal', values: ['0'] }; // placeholder, the hook fails anyway
      }
      if (type !== 'sockaddr') {
        if (SOCKADDR_OPS.has(f.operator) || f.operator === 'Protocol') bad(`${fp}.operator`, `${f.operator} applies to a sockaddr argument, not ${type}`);
        return { index: slot, operator: f.operator, values: f.values ?? [] };
      }
      return sockaddrFilter(f, slot, si, fi, fp, bad, addrFilters);
    });
    let err = 0;
    const actions: NonNullable<SelectorInput['matchActions']> = [];
    const map: number[] = [];
    (s.matchActions ?? []).forEach((a, ai) => {
      if (a.action !== 'Override') {
        map.push(ai);
        actions.push(a);
        return;
      }
      if (a.argError === undefined) bad(`${sp}.matchActions[${ai}].argError`, 'Override needs argError (a negative errno, e.g. -1 for EPERM)');
      else if (!Number.isInteger(a.argError) || a.argError > -1 || a.argError < -4095) bad(`${sp}.matchActions[${ai}].argError`, 'argError must be a negative errno (-1..-4095)');
      else err = a.argError;
    });
    errors.push(err);
    actionIndex.push(map);
    // matchBinaries (followChildren included) and matchParentBinaries as they are: lsm.o loads the
    // parent's executable and both lineages through sel_process.h, as the syscall objects do.
    return { ...s, matchArgs, matchActions: actions };
  });

  refuseUnfilteredActions(spec.selectors ?? [], mode, spec.hook, bad);

  let compiled;
  try {
    compiled = compileSyscallHook(
      policyName,
      {
        call: 'sys_getpid', // any syscall: only the selectors and argument slots are used
        syscall: true,
        args: slots.map((sl, i) => ({ index: i, type: sl.type })),
        selectors: sels,
      },
      mode,
      { id: 0, ...(opts.path !== undefined ? { path: opts.path } : {}), ...(opts.procRoot !== undefined ? { procRoot: opts.procRoot } : {}) },
    );
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const i of e.issues) issues.push({ path: remapActionPath(i.path, actionIndex), message: lsmMessage(i.message) });
  }
  if (issues.length > 0 || !compiled) throw new ConfigError(`policy '${policyName}' lsmhook ${spec.hook}`, issues);
  // DAddr filters were compiled as Prefix on the address slot; their keys are this backend's.
  for (const af of addrFilters) {
    const f = compiled.selectors[af.selector]?.matchArgs[af.filter];
    if (f?.kind === 'string') f.values = [];
  }
  const PATH_SRCS = new Set<LsmSlot['src']>(['BPRM', 'FILE', 'PATH', 'DENTRY']);
  addPathInodes(compiled.selectors, (i) => PATH_SRCS.has(slots[i]!.src));
  const hook: LsmHook = {
    id: opts.id ?? nextId++,
    policy: policyName,
    hook: spec.hook,
    slots,
    selectors: compiled.selectors,
    errors,
    addrFilters,
    monitor: mode === 'monitor',
  };
  if (spec.message !== undefined) hook.message = spec.message;
  if (spec.tags !== undefined) hook.tags = [...spec.tags];
  return hook;
}

type Bad = (path: string, message: string) => void;

/** A matchArgs filter on a sockaddr argument (slots: family, port, address) in the slot space. */
function sockaddrFilter(
  f: { index: number; operator: string; values?: string[] },
  slot: number,
  si: number,
  fi: number,
  fp: string,
  bad: Bad,
  addrFilters: AddrFilter[],
): { index: number; operator: string; values: string[] } {
  const values = f.values ?? [];
  switch (f.operator) {
    case 'Family':
      return {
        index: slot, operator: 'Equal',
        values: values.map((v, vi) => {
          const n = FAMILIES[v.trim().toUpperCase()] ?? (/^\d+$/.test(v.trim()) ? Number(v) : undefined);
          if (n === undefined || n > 0xffff) bad(`${fp}.values[${vi}]`, `'${v}' is not an address family (AF_INET, AF_INET6, AF_UNIX or a number)`);
          return String(n ?? 0);
        }),
      };
    case 'DPort': case 'SPort':
      return { index: slot + 1, operator: 'Equal', values };
    case 'NotDPort': case 'NotSPort':
      return { index: slot + 1, operator: 'NotEqual', values };
    case 'DPortPriv': case 'SPortPriv':
      if (values.length > 0) bad(`${fp}.values`, `${f.operator} takes no values`);
      return { index: slot + 1, operator: 'LT', values: ['1024'] };
    case 'NotDPortPriv': case 'NotSPortPriv':
      if (values.length > 0) bad(`${fp}.values`, `${f.operator} takes no values`);
      return { index: slot + 1, operator: 'GT', values: ['1023'] };
    case 'DAddr': case 'SAddr': case 'NotDAddr': case 'NotSAddr': {
      const cidrs: AddrFilter['cidrs'] = [];
      values.forEach((v, vi) => {
        try {
          const c = matchForm(parseCidr(v.trim()));
          cidrs.push({ family: c.family === 'inet' ? 4 : 6, addr: Buffer.from(c.addr), prefix: c.prefix });
        } catch (e) {
          if (!(e instanceof CidrError)) throw e;
          bad(`${fp}.values[${vi}]`, e.message);
        }
      });
      addrFilters.push({ selector: si, filter: fi, cidrs });
      // One placeholder value so that the compiler accepts the filter; its keys are replaced.
      return { index: slot + 2, operator: f.operator.startsWith('Not') ? 'NotPrefix' : 'Prefix', values: values.length ? ['/'] : [] };
    }
    case 'Protocol':
      bad(`${fp}.operator`, 'Protocol needs the socket, which the bpf_lsm backend does not read (match Family, the address or the port)');
      return { index: slot, operator: 'Equal', values: ['0'] };
    default:
      bad(`${fp}.operator`, `operator ${f.operator} does not apply to a sockaddr (Family, DAddr, NotDAddr, DPort, NotDPort, DPortPriv, NotDPortPriv; S* spellings alike)`);
      return { index: slot, operator: 'Equal', values: ['0'] };
  }
}

/** The syscall compiler speaks of its own backend and of sys_enter; these issues are about this one. */
function lsmMessage(m: string): string {
  return m
    .replaceAll('syscall_tracepoint backend', 'bpf_lsm backend')
    .replace(/strings are read up to (\d+) bytes at sys_enter/, 'paths are read up to $1 bytes');
}

/** matchActions positions after Override was taken out → the policy's positions. */
function remapActionPath(path: string, actionIndex: number[][]): string {
  return path.replace(/selectors\[(\d+)\]\.matchActions\[(\d+)\]/, (all, s: string, a: string) => {
    const orig = actionIndex[Number(s)]?.[Number(a)];
    return orig === undefined ? all : `selectors[${s}].matchActions[${orig}]`;
  });
}
