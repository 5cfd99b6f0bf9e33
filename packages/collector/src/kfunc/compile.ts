// compileKfuncHook: one TracingPolicy `kprobes:` entry on a kernel function (or a syscall whose selectors
// Override) → a KfuncHook for the kfunc backend, or a ConfigError listing everything it cannot do, each
// with the path of the offending field.
//
// As in the bpf_lsm backend, declared arguments become argument slots the programs fill from kernel
// objects (a sock becomes up to six: family, addresses, ports, protocol; a sockaddr three), and the
// selectors are compiled by the syscall backend's compiler over those slots, with the socket operators
// translated (Family/Protocol → Equal on their slot, DPort → Equal on the port slot, DPortPriv → LT 1024,
// DAddr → an LPM filter on the address slot with this backend's CIDR keys) and Override taken out: its
// errno is this backend's, and only an fmod_ret site can honour it (Tetragon's rule: Override needs
// fmod_ret or bpf_override_return, on security_* hooks and ALLOW_ERROR_INJECTION functions).
import { ConfigError, type ConfigIssue } from '@peregrine/events';
import { addPathInodes, compileSyscallHook, refuseUnfilteredActions, type KprobeSpecInput, type SelectorInput } from '../syscall/compile.js';
import { syscallNumber } from '../syscall/syscalls.js';
import { INT_ARG_TYPES, type IntArgType } from '../syscall/types.js';
import { CidrError, matchForm, parseCidr } from '../net/cidr.js';
import { liveKernelFunctions, type KernelFunctions } from './kernel.js';
import type { KfKindName, KfSrcName } from './layout.js';
import type { KfuncAddrFilter, KfuncHook, KfuncSlot } from './types.js';

export interface KfuncCompileOptions {
  /** Hook id (u32, unique among the hooks applied together); default: the next of a process-wide counter. */
  id?: number;
  /** Prefixed to every issue path, e.g. `spec.kprobes[2]`. */
  path?: string;
  procRoot?: string;
  /** The backend the planner chose: fentry (falls back to kprobe at attach), kprobe, or fmod_ret (Override). */
  backend?: 'fentry' | 'kprobe' | 'fmod_ret';
  /** The running kernel's functions (default: /proc/kallsyms and debugfs, read once). */
  kernel?: KernelFunctions;
}

const FAMILIES: Record<string, number> = { AF_UNIX: 1, AF_LOCAL: 1, AF_INET: 2, AF_INET6: 10 };
const PROTOCOLS: Record<string, number> = { IPPROTO_ICMP: 1, IPPROTO_TCP: 6, IPPROTO_UDP: 17, IPPROTO_ICMPV6: 58, IPPROTO_RAW: 255, TCP: 6, UDP: 17 };
const STRING_TYPES: Record<string, KfSrcName> = {
  string: 'STR', char_buf: 'BUF', file: 'FILE', path: 'PATH', linux_binprm: 'BPRM', filename: 'FILENAME', fd: 'FD',
};
/** Argument types a syscall's user registers can hold (no kernel object behind them). */
const SYSCALL_TYPES = new Set(['string', 'char_buf', 'fd', 'sockaddr', ...INT_ARG_TYPES]);
const SOCK_OPS = new Set([
  'Family', 'Protocol', 'SAddr', 'NotSAddr', 'DAddr', 'NotDAddr', 'SPort', 'NotSPort', 'DPort', 'NotDPort', 'SPortPriv', 'NotSPortPriv',
  'DPortPriv', 'NotDPortPriv',
]);
/** The sock slots, in the order they are given when there is room: the peer first. */
const SOCK_SLOTS: KfSrcName[] = ['SK_FAMILY', 'SK_DADDR', 'SK_DPORT', 'SK_SADDR', 'SK_SPORT', 'SK_PROTO'];
const SOCK_SLOT_OF_OP = (op: string): KfSrcName => {
  if (op === 'Family') return 'SK_FAMILY';
  if (op === 'Protocol') return 'SK_PROTO';
  if (/^(Not)?SAddr$/.test(op)) return 'SK_SADDR';
  if (/^(Not)?DAddr$/.test(op)) return 'SK_DADDR';
  if (/^(Not)?SPort(Priv)?$/.test(op)) return 'SK_SPORT';
  return 'SK_DPORT';
};

let nextId = 1;

/** The kernel entry of a syscall (x86-64): sys_openat → __x64_sys_openat. */
export function syscallEntry(call: string): string | null {
  const sc = syscallNumber(call);
  return sc ? `__x64_sys_${sc.name}` : null;
}

/** Compiles one kprobes entry; throws ConfigError with every problem found. */
export function compileKfuncHook(policyName: string, spec: KprobeSpecInput, mode: 'enforce' | 'monitor', opts: KfuncCompileOptions = {}): KfuncHook {
  const issues: ConfigIssue[] = [];
  const base = opts.path ? `${opts.path}.` : '';
  const bad = (path: string, message: string): void => void issues.push({ path: base + path, message });
  const kernel = opts.kernel ?? liveKernelFunctions();
  const overrides = (spec.selectors ?? []).some((s) => (s.matchActions ?? []).some((a) => a.action === 'Override'));
  const syscall = spec.syscall === true;

  // Where and how to attach.
  let func = spec.call;
  let kind: KfKindName = opts.backend === 'kprobe' ? 'kprobe' : 'fentry';
  if (syscall) {
    const entry = syscallEntry(spec.call);
    if (!entry) bad('call', `'${spec.call}' is not an x86_64 syscall (expected e.g. sys_openat)`);
    else func = entry;
    kind = 'syscall';
    if (!overrides) {
      bad('syscall', 'the kfunc backend takes a syscall only to Override it (fmod_ret); syscalls are observed through the syscall_tracepoint backend');
    }
  } else if (overrides || opts.backend === 'fmod_ret') {
    kind = 'fmod_ret';
  }
  const exists = issues.length === 0 ? kernel.has(func) : true;
  if (exists === false) {
    bad('call', `kernel function '${func}' does not exist on this kernel (not in /proc/kallsyms): check the name (and the kernel version)`);
  }
  if (overrides && exists !== false && issues.length === 0 && kernel.modifiable(func) === false) {
    bad('call', `Override cannot be honoured on '${func}': ${kernel.whyNotModifiable(func)}. Override needs fmod_ret (or bpf_override_return) ` +
      `on a security_* hook or an ALLOW_ERROR_INJECTION function; otherwise observe it (Post, Sigkill), or deny with lsmhooks ` +
      `(file_open, bprm_check_security, socket_connect)`);
  }
  if (spec.returnArg && !spec.return) bad('returnArg', 'returnArg needs return: true');
  if (spec.returnArg && !(INT_ARG_TYPES as readonly string[]).includes(spec.returnArg.type)) {
    bad('returnArg.type', `returnArg type '${spec.returnArg.type}' cannot be reported by the kfunc backend (use an int type: int, long, uint64…)`);
  }
  if (spec.return && overrides) bad('return', 'return: true cannot be combined with Override (fmod_ret decides before the function runs)');
  return compileKfuncBody(policyName, spec, mode, opts, { func, kind, title: `kprobe ${spec.call}`, backend: 'kfunc backend', syscall }, issues);
}

/** Where a hook attaches, as compileKfuncBody needs it. */
export interface KfuncTarget {
  /** The kernel function (or raw tracepoint) the site's program attaches to. */
  func: string;
  kind: KfKindName;
  /** Names the hook in the ConfigError's message (`kprobe security_file_open`). */
  title: string;
  /** Names the backend in issues (`kfunc backend`). */
  backend: string;
  /** Arguments are a syscall's user registers. */
  syscall: boolean;
  /** Why Override cannot be honoured here (an observing site), for the issue on each Override action. */
  refuseOverride?: string;
}

/**
 * What every hook of this backend shares once its attach point is known: declared arguments → slots,
 * selectors translated to the slot space (Override taken out, its errno kept per selector) and compiled
 * by the syscall backend's compiler. `issues` holds what the caller found already; throws ConfigError
 * with all of them.
 */
export function compileKfuncBody(
  policyName: string,
  spec: KprobeSpecInput,
  mode: 'enforce' | 'monitor',
  opts: KfuncCompileOptions,
  target: KfuncTarget,
  issues: ConfigIssue[],
): KfuncHook {
  const base = opts.path ? `${opts.path}.` : '';
  const bad = (path: string, message: string): void => void issues.push({ path: base + path, message });
  const { func, kind, syscall } = target;

  // Which sock slots the filters need, per declared index.
  const sockNeeds = new Map<number, Set<KfSrcName>>();
  for (const s of spec.selectors ?? []) {
    for (const f of s.matchArgs ?? []) {
      if (SOCK_OPS.has(f.operator)) {
        const set = sockNeeds.get(f.index) ?? new Set<KfSrcName>();
        set.add(SOCK_SLOT_OF_OP(f.operator));
        sockNeeds.set(f.index, set);
      }
    }
  }
  const fixedSlots = (spec.args ?? []).reduce((n, a) => n + (a.type === 'sock' ? 0 : a.type === 'sockaddr' ? 3 : 1), 0);
  let room = Math.max(0, 6 - fixedSlots);

  // Declared arguments → slots.
  const slots: KfuncSlot[] = [];
  const slotOf = new Map<number, Map<KfSrcName | 'ANY', number>>();
  const declared = new Map<number, string>();
  (spec.args ?? []).forEach((a, i) => {
    const p = `args[${i}]`;
    if (declared.has(a.index)) return bad(`${p}.index`, `argument ${a.index} is declared twice`);
    if (a.returnCopy) bad(`${p}.returnCopy`, 'returnCopy is not supported by the kfunc backend (arguments are read when the function is entered)');
    if (a.maxData) bad(`${p}.maxData`, 'maxData is not supported: strings and paths are reported up to 255 bytes');
    if (syscall && !SYSCALL_TYPES.has(a.type)) {
      return bad(`${p}.type`, `argument type '${a.type}' does not apply to a syscall's arguments (user registers): declare an int type, string, char_buf, fd or sockaddr`);
    }
    if (a.sizeArgIndex !== undefined && a.type !== 'char_buf') bad(`${p}.sizeArgIndex`, 'sizeArgIndex applies to char_buf only');
    const label = a.label !== undefined ? { label: a.label } : {};
    const at = new Map<KfSrcName | 'ANY', number>();
    slotOf.set(a.index, at);
    declared.set(a.index, a.type);
    if ((INT_ARG_TYPES as readonly string[]).includes(a.type)) {
      at.set('ANY', slots.length);
      slots.push({ src: 'INT', index: a.index, type: a.type as IntArgType, declared: a.type, ...label });
    } else if (STRING_TYPES[a.type]) {
      const slot: KfuncSlot = { src: STRING_TYPES[a.type]!, index: a.index, type: 'string', declared: a.type, ...label };
      if (a.type === 'char_buf') {
        if (a.sizeArgIndex === undefined) bad(`${p}.sizeArgIndex`, 'char_buf needs sizeArgIndex (1-based index of the argument holding the length)');
        else if (a.sizeArgIndex < 1 || a.sizeArgIndex > 6 || a.sizeArgIndex - 1 === a.index) bad(`${p}.sizeArgIndex`, 'sizeArgIndex must name another argument (1..6)');
        else slot.lenIndex = a.sizeArgIndex - 1;
      }
      at.set('ANY', slots.length);
      slots.push(slot);
    } else if (a.type === 'sockaddr') {
      at.set('SA_FAMILY', slots.length);
      slots.push({ src: 'SA_FAMILY', index: a.index, type: 'uint16', declared: 'sockaddr', ...label });
      at.set('SA_PORT', slots.length);
      slots.push({ src: 'SA_PORT', index: a.index, type: 'uint16', declared: 'sockaddr', ...label });
      at.set('SA_ADDR', slots.length);
      slots.push({ src: 'SA_ADDR', index: a.index, type: 'string', declared: 'sockaddr', ...label });
    } else if (a.type === 'sock') {
      // The slots the filters need, then as many of the rest as there is room for (reports).
      const need = sockNeeds.get(a.index) ?? new Set<KfSrcName>();
      const take = SOCK_SLOTS.filter((s) => need.has(s));
      for (const s of SOCK_SLOTS) if (!need.has(s) && take.length < Math.max(room, need.size)) take.push(s);
      room -= take.length;
      for (const s of SOCK_SLOTS.filter((x) => take.includes(x))) {
        at.set(s, slots.length);
        const type = s === 'SK_SADDR' || s === 'SK_DADDR' ? 'string' : 'uint16';
        slots.push({ src: s, index: a.index, type, declared: 'sock', ...label });
      }
    } else if (a.type === 'cred') {
      // Reported whole (process_credentials_arg); no selector reads it (refused below).
      at.set('ANY', slots.length);
      slots.push({ src: 'CRED', index: a.index, type: 'string', declared: 'cred', ...label });
    } else {
      bad(`${p}.type`, `argument type '${a.type}' is not supported by the ${target.backend} (int types, string, char_buf, filename, fd, file, path, linux_binprm, sock, sockaddr, cred)`);
    }
  });
  if (slots.length > 6) bad('args', `the arguments need ${slots.length} slots (a sockaddr takes 3, a sock at least 1 per field filtered): at most 6`);

  // Selectors: translate to the slot space, take Override out, compile with the syscall compiler.
  const errors: number[] = [];
  const addrFilters: KfuncAddrFilter[] = [];
  const actionIndex: number[][] = [];
  const sels: SelectorInput[] = (spec.selectors ?? []).map((s, si) => {
    const sp = `selectors[${si}]`;
    const matchArgs = (s.matchArgs ?? []).map((f, fi) => {
      const fp = `${sp}.matchArgs[${fi}]`;
      const at = slotOf.get(f.index);
      const type = declared.get(f.index);
      if (!at || type === undefined) {
        bad(`${fp}.index`, `argument ${f.index} is not declared in args`);
        return { index: 0, operator: 'Equal', values: ['0'] }; // placeholder, the hook fails anyway
      }
      if (type === 'cred') {
        bad(`${fp}.index`, `argument ${f.index} is a cred: the ${target.backend} reports it (process_credentials_arg) but does not filter on it ` +
          '(matchCapabilities filters on the calling process\'s capabilities)');
        return { index: 0, operator: 'Equal', values: ['0'] };
      }
      if (type === 'sock' || type === 'sockaddr') return netFilter(f, type, at, si, fi, fp, bad, addrFilters);
      if (SOCK_OPS.has(f.operator)) bad(`${fp}.operator`, `${f.operator} applies to a sock or sockaddr argument, not ${type}`);
      return { index: at.get('ANY') ?? 0, operator: f.operator, values: f.values ?? [] };
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
      if (target.refuseOverride !== undefined) bad(`${sp}.matchActions[${ai}].action`, target.refuseOverride);
      else if (a.argError === undefined) bad(`${sp}.matchActions[${ai}].argError`, 'Override needs argError (a negative errno, e.g. -1 for EPERM)');
      else if (!Number.isInteger(a.argError) || a.argError > -1 || a.argError < -4095) bad(`${sp}.matchActions[${ai}].argError`, 'argError must be a negative errno (-1..-4095)');
      else err = a.argError;
    });
    errors.push(err);
    actionIndex.push(map);
    return { ...s, matchArgs, matchActions: actions };
  });

  refuseUnfilteredActions(spec.selectors ?? [], mode, spec.call, bad);

  let compiled;
  try {
    compiled = compileSyscallHook(
      policyName,
      { call: 'sys_getpid', syscall: true, args: slots.map((sl, i) => ({ index: i, type: sl.type })), selectors: sels },
      mode,
      { id: 0, ...(opts.path !== undefined ? { path: opts.path } : {}), ...(opts.procRoot !== undefined ? { procRoot: opts.procRoot } : {}) },
    );
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const i of e.issues) issues.push({ path: remapActionPath(i.path, actionIndex), message: kfuncMessage(i.message, target.backend) });
  }
  if (issues.length > 0 || !compiled) throw new ConfigError(`policy '${policyName}' ${target.title}`, issues);
  for (const af of addrFilters) {
    const f = compiled.selectors[af.selector]?.matchArgs[af.filter];
    if (f?.kind === 'string') f.values = [];
  }
  const PATH_SRCS = new Set<KfuncSlot['src']>(['FILE', 'PATH', 'BPRM', 'FD']);
  addPathInodes(compiled.selectors, (i) => PATH_SRCS.has(slots[i]!.src));
  const hook: KfuncHook = {
    id: opts.id ?? nextId++,
    policy: policyName,
    call: spec.call,
    func,
    kind,
    return: spec.return === true,
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
type Filter = { index: number; operator: string; values: string[] };

/** A matchArgs filter on a sock or sockaddr argument, in the slot space. */
function netFilter(
  f: { index: number; operator: string; values?: string[] },
  type: 'sock' | 'sockaddr',
  at: Map<string, number>,
  si: number,
  fi: number,
  fp: string,
  bad: Bad,
  addrFilters: KfuncAddrFilter[],
): Filter {
  const values = f.values ?? [];
  const sa = type === 'sockaddr';
  const slot = (sk: KfSrcName, sa2: KfSrcName): number => at.get(sa ? sa2 : sk) ?? 0;
  const numbers = (table: Record<string, number>, what: string): string[] =>
    values.map((v, vi) => {
      const n = table[v.trim().toUpperCase()] ?? (/^\d+$/.test(v.trim()) ? Number(v) : undefined);
      if (n === undefined || n > 0xffff) bad(`${fp}.values[${vi}]`, `'${v}' is not ${what}`);
      return String(n ?? 0);
    });
  const op = f.operator;
  const src = /^(Not)?S/.test(op.replace(/^Not/, '')) ? 'S' : 'D';
  const portSlot = sa ? slot('SK_DPORT', 'SA_PORT') : at.get(src === 'S' ? 'SK_SPORT' : 'SK_DPORT') ?? 0;
  switch (op) {
    case 'Family':
      return { index: slot('SK_FAMILY', 'SA_FAMILY'), operator: 'Equal', values: numbers(FAMILIES, 'an address family (AF_INET, AF_INET6, AF_UNIX or a number)') };
    case 'Protocol':
      if (sa) {
        bad(`${fp}.operator`, 'Protocol needs a socket: a sockaddr has none (declare the sock argument, or match Family)');
        return { index: 0, operator: 'Equal', values: ['0'] };
      }
      return { index: slot('SK_PROTO', 'SK_PROTO'), operator: 'Equal', values: numbers(PROTOCOLS, 'a protocol (IPPROTO_TCP, IPPROTO_UDP or a number)') };
    case 'DPort': case 'SPort':
      return { index: portSlot, operator: 'Equal', values };
    case 'NotDPort': case 'NotSPort':
      return { index: portSlot, operator: 'NotEqual', values };
    case 'DPortPriv': case 'SPortPriv':
      if (values.length > 0) bad(`${fp}.values`, `${op} takes no values`);
      return { index: portSlot, operator: 'LT', values: ['1024'] };
    case 'NotDPortPriv': case 'NotSPortPriv':
      if (values.length > 0) bad(`${fp}.values`, `${op} takes no values`);
      return { index: portSlot, operator: 'GT', values: ['1023'] };
    case 'DAddr': case 'SAddr': case 'NotDAddr': case 'NotSAddr': {
      const cidrs: KfuncAddrFilter['cidrs'] = [];
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
      const index = sa ? slot('SK_DADDR', 'SA_ADDR') : at.get(src === 'S' ? 'SK_SADDR' : 'SK_DADDR') ?? 0;
      // One placeholder value so that the compiler accepts the filter; its keys are replaced by the encoder's.
      return { index, operator: op.startsWith('Not') ? 'NotPrefix' : 'Prefix', values: values.length ? ['/'] : [] };
    }
    default:
      bad(`${fp}.operator`, `operator ${op} does not apply to a ${type} (Family, ${sa ? '' : 'Protocol, '}DAddr, SAddr, DPort, SPort, DPortPriv, SPortPriv and their Not forms)`);
      return { index: 0, operator: 'Equal', values: ['0'] };
  }
}

/** The syscall compiler speaks of its own backend and of sys_enter; these issues are about this one. */
function kfuncMessage(m: string, backend: string): string {
  return m
    .replaceAll('syscall_tracepoint backend', backend)
    .replace(/strings are read up to (\d+) bytes at sys_enter/, 'strings and paths are read up to $1 bytes');
}

/** matchActions positions after Override was taken out → the policy's positions. */
function remapActionPath(path: string, actionIndex: number[][]): string {
  return path.replace(/selectors\[(\d+)\]\.matchActions\[(\d+)\]/, (all, s: string, a: string) => {
    const orig = actionIndex[Number(s)]?.[Number(a)];
    return orig === undefined ? all : `selectors[${s}].matchActions[${orig}]`;
  });
}
