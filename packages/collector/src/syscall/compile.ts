// compileSyscallHook: one TracingPolicy `kprobes:` entry with `syscall: true` → a SyscallHook for the
// syscall_tracepoint backend, or a ConfigError listing everything this backend cannot evaluate (with
// the path of each offending field). Values are parsed and resolved here, once, at policy load:
// integers narrowed to the argument's type, capability names to bits, `host_ns` to the host's
// namespace inode, matchBinaries In/NotIn paths to the (dev, ino) of the file they name now.
import { readFileSync, statSync } from 'node:fs';
import { ConfigError, type ConfigIssue } from '@peregrine/events';
import { SEL } from './layout.js';
import { syscallNumber } from './syscalls.js';
import {
  INT_ARG_TYPES, type ArgFilter, type BinaryFilter, type BinaryValue, type CapabilityFilter, type CompiledSelector,
  type IntArgType, type NamespaceFilter, type NamespaceKind, type PidFilter, type SelectorAction, type StringOperator,
  type SyscallHook, type SyscallHookArg,
} from './types.js';

/**
 * The kprobes entry as packages/policy's zod schema outputs it (KprobeSpec); declared structurally so
 * this package does not depend on the policy package.
 */
export interface KprobeSpecInput {
  call: string;
  syscall?: boolean;
  return?: boolean;
  args?: { index: number; type: string; label?: string; sizeArgIndex?: number; returnCopy?: boolean; maxData?: boolean }[];
  returnArg?: { index?: number; type: string; label?: string };
  selectors?: SelectorInput[];
  message?: string;
  tags?: string[];
}

export interface SelectorInput {
  matchArgs?: { index: number; operator: string; values?: string[] }[];
  matchBinaries?: { operator: string; values: string[]; followChildren?: boolean }[];
  matchParentBinaries?: { operator: string; values: string[]; followChildren?: boolean }[];
  matchPIDs?: { operator: string; followForks?: boolean; isNamespacePID?: boolean; values: number[] }[];
  matchNamespaces?: { namespace: string; operator: string; values: string[] }[];
  matchCapabilities?: { type: string; operator: string; isNamespaceCapability?: boolean; values: string[] }[];
  matchActions?: { action: string; argError?: number; argSig?: number; rateLimit?: string; rateLimitScope?: string }[];
}

export interface CompileOptions {
  /** Hook id (u32, unique among the hooks applied together); default: the next of a process-wide counter. */
  id?: number;
  /** Prefixed to every issue path, e.g. `spec.kprobes[2]`. */
  path?: string;
  /** Where /proc is (host_ns); default /proc. */
  procRoot?: string;
}

let nextId = 1;

/** Why maxData is refused, shared with the tracepoint backend. */
export const MAX_DATA_REFUSED =
  `maxData is not supported: a record has one fixed slot of ${SEL.STR_MAX} bytes per argument (string and char_buf ` +
  `arguments are reported up to ${SEL.STR_MAX - 1} bytes, then marked truncated); Tetragon's maxData sends larger buffers in extra chunks, which this backend has no record for`;

const INT_SIZES: Record<IntArgType, [number, boolean]> = {
  int: [4, true], int8: [1, true], int16: [2, true], int32: [4, true], int64: [8, true], sint8: [1, true], sint16: [2, true],
  sint32: [4, true], sint64: [8, true], long: [8, true], uint8: [1, false], uint16: [2, false], uint32: [4, false],
  uint64: [8, false], size_t: [8, false], capability: [4, true],
};

export function intTypeInfo(type: IntArgType): { size: number; signed: boolean } {
  const [size, signed] = INT_SIZES[type];
  return { size, signed };
}

const STRING_OPS: readonly string[] = ['Equal', 'NotEqual', 'Prefix', 'NotPrefix', 'Postfix', 'NotPostfix'];
const INT_OPS: Record<string, string> = {
  Equal: 'Equal', NotEqual: 'NotEqual', GT: 'GT', GreaterThan: 'GT', LT: 'LT', LessThan: 'LT', Mask: 'Mask',
  InRange: 'InRange', NotInRange: 'NotInRange',
};

export const CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW',
  'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD',
  'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

const NS_FILES: Record<NamespaceKind, string> = {
  Uts: 'uts', Ipc: 'ipc', Mnt: 'mnt', Pid: 'pid', PidForChildren: 'pid_for_children', Net: 'net', Time: 'time',
  TimeForChildren: 'time_for_children', Cgroup: 'cgroup', User: 'user',
};

/* The kernel's fixed inode numbers of the initial namespaces (enum init_ns_ino, include/uapi/linux/nsfs.h). */
const INIT_NS_INO: Record<NamespaceKind, number> = {
  Ipc: 0xefffffff, Uts: 0xeffffffe, User: 0xeffffffd, Pid: 0xeffffffc, PidForChildren: 0xeffffffc, Cgroup: 0xeffffffb,
  Time: 0xeffffffa, TimeForChildren: 0xeffffffa, Net: 0xeffffff9, Mnt: 0xeffffff8,
};
let btfHasMntNetInit: boolean | undefined;

/**
 * `host_ns`: the namespace of pid 1, read from /proc/1/ns (needs ptrace access to pid 1). When that is
 * refused, the kernel's fixed initial-namespace inode — for Mnt and Net only on kernels that fix them
 * (MNT_NS_INIT_INO in their BTF, 6.18+; before, those inodes are allocated at boot).
 */
export function hostNamespace(kind: NamespaceKind, procRoot = '/proc'): number | string {
  try {
    return Number(statSync(`${procRoot}/1/ns/${NS_FILES[kind]}`).ino);
  } catch (e) {
    if (kind === 'Mnt' || kind === 'Net') {
      if (btfHasMntNetInit === undefined) {
        try {
          btfHasMntNetInit = readFileSync('/sys/kernel/btf/vmlinux').includes('MNT_NS_INIT_INO');
        } catch {
          btfHasMntNetInit = false;
        }
      }
      if (!btfHasMntNetInit) {
        return `host_ns: cannot read ${procRoot}/1/ns/${NS_FILES[kind]} (${(e as Error).message}) and this kernel has no fixed initial ${kind} namespace inode`;
      }
    }
    return INIT_NS_INO[kind];
  }
}

const NARROWING = ['matchArgs', 'matchBinaries', 'matchParentBinaries', 'matchPIDs', 'matchNamespaces', 'matchCapabilities'] as const;

/**
 * A deny or kill with nothing to narrow it would hit every call of the hook on the machine: refused in
 * enforce mode (monitor mode only reports), with the selector's path and the filters that would narrow it.
 */
export function refuseUnfilteredActions(
  selectors: readonly SelectorInput[],
  mode: 'enforce' | 'monitor',
  what: string,
  bad: (path: string, message: string) => void,
): void {
  if (mode !== 'enforce') return;
  selectors.forEach((s, si) => {
    const acts = (s.matchActions ?? []).map((a) => a.action);
    if (!acts.some((a) => a === 'Override' || a === 'Sigkill') || NARROWING.some((k) => (s[k]?.length ?? 0) > 0)) return;
    bad(`selectors[${si}]`, `${acts.includes('Override') ? 'Override' : 'Sigkill'} without any filter would hit every ${what} call on the machine: add ${NARROWING.slice(0, -1).join(', ')} or ${NARROWING.at(-1)}`);
  });
}

/**
 * Equal/NotEqual values on kernel path arguments → the (dev, ino) of each existing file, so that the
 * kernel matches the file under any name (hard link, rename). Values that do not exist yet match by path only.
 */
export function addPathInodes(selectors: CompiledSelector[], isPath: (argIndex: number) => boolean): void {
  for (const sel of selectors) {
    for (const f of sel.matchArgs) {
      if (f.kind !== 'string' || (f.operator !== 'Equal' && f.operator !== 'NotEqual') || !isPath(f.index)) continue;
      const inodes: { dev: number; ino: bigint }[] = [];
      for (const v of f.values) {
        const st = statSync(v, { bigint: true, throwIfNoEntry: false });
        if (st) inodes.push({ dev: kernelDev(st.dev), ino: st.ino });
      }
      if (inodes.length > 0) f.inodes = inodes;
    }
  }
}

/** Userspace st_dev (glibc encoding) → kernel s_dev ((major << 20) | minor), as the BPF side reads it. */
export function kernelDev(dev: bigint): number {
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return ((major << 20) | minor) >>> 0;
}

function parseInt64(v: string): bigint | null {
  const s = v.trim();
  if (!/^-?(0x[0-9a-f]+|0o[0-7]+|0b[01]+|\d+)$/i.test(s)) return null;
  return s.startsWith('-') ? -BigInt(s.slice(1)) : BigInt(s);
}

/**
 * The 64-bit pattern the kernel side compares: the register narrowed to the type's size, then sign-
 * or zero-extended. Null when the value does not fit the type.
 */
export function narrowValue(v: bigint, size: number, signed: boolean): bigint | null {
  const bits = size * 8;
  if (v < -(1n << BigInt(bits - 1)) || v >= 1n << BigInt(bits)) return null;
  const n = signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v);
  return BigInt.asUintN(64, n);
}

/** rateLimit "30s", "5m", "2h", "1d", "100" (seconds) → ms. */
export function parseDurationMs(v: string): number | null {
  const m = /^(\d+)([smhd]?)$/.exec(v.trim());
  if (!m) return null;
  const unit = { '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** Compiles one kprobes entry; throws ConfigError with every problem found. */
export function compileSyscallHook(
  policyName: string,
  spec: KprobeSpecInput,
  mode: 'enforce' | 'monitor',
  opts: CompileOptions = {},
): SyscallHook {
  const issues: ConfigIssue[] = [];
  const base = opts.path ? `${opts.path}.` : '';
  const bad = (path: string, message: string): void => {
    issues.push({ path: base + path, message });
  };
  const procRoot = opts.procRoot ?? '/proc';

  if (spec.syscall !== true) bad('syscall', 'the syscall_tracepoint backend takes syscall hooks only (syscall: true)');
  const sc = syscallNumber(spec.call);
  if (!sc) bad('call', `'${spec.call}' is not an x86_64 syscall (expected e.g. sys_openat)`);
  if (spec.returnArg && !spec.return) bad('returnArg', 'returnArg needs return: true');
  if (spec.returnArg && !(INT_ARG_TYPES as readonly string[]).includes(spec.returnArg.type)) {
    bad('returnArg.type', `a syscall returns a long: returnArg type '${spec.returnArg.type}' cannot be reported (use int or long)`);
  }

  // Arguments.
  const args: SyscallHookArg[] = [];
  const seen = new Set<number>();
  (spec.args ?? []).forEach((a, i) => {
    const p = `args[${i}]`;
    if (a.index < 0 || a.index > 5) bad(`${p}.index`, 'syscall arguments are 0..5');
    if (seen.has(a.index)) bad(`${p}.index`, `argument ${a.index} is declared twice`);
    seen.add(a.index);
    if (a.returnCopy) {
      if (a.type !== 'char_buf' && a.type !== 'string') bad(`${p}.returnCopy`, `returnCopy applies to char_buf and string arguments, not ${a.type}`);
      else if (spec.return !== true) bad(`${p}.returnCopy`, 'returnCopy needs return: true (the buffer is read at sys_exit, after the syscall filled it)');
    }
    if (a.maxData) bad(`${p}.maxData`, MAX_DATA_REFUSED);
    const arg: SyscallHookArg = { index: a.index, type: 'int' };
    if (a.returnCopy && (a.type === 'char_buf' || a.type === 'string')) arg.returnCopy = true;
    if (a.label !== undefined) arg.label = a.label;
    if ((INT_ARG_TYPES as readonly string[]).includes(a.type)) {
      arg.type = a.type as IntArgType;
    } else if (a.type === 'string') {
      arg.type = 'string';
    } else if (a.type === 'char_buf') {
      arg.type = 'char_buf';
      if (a.sizeArgIndex === undefined) {
        // returnCopy without it: the return value alone bounds the length (as Tetragon).
        if (!a.returnCopy) bad(`${p}.sizeArgIndex`, 'char_buf needs sizeArgIndex (1-based index of the length argument)');
      } else if (a.sizeArgIndex < 1 || a.sizeArgIndex > 6 || a.sizeArgIndex - 1 === a.index) {
        bad(`${p}.sizeArgIndex`, 'sizeArgIndex must name another syscall argument (1..6)');
      } else arg.sizeArgIndex = a.sizeArgIndex;
    } else {
      bad(`${p}.type`,
        `argument type '${a.type}' is not supported by the syscall_tracepoint backend: it sees the raw syscall registers only ` +
        `(declare 'int' for a number or fd, 'string' for a user path, 'char_buf' with sizeArgIndex for a user buffer)`);
    }
    if (a.sizeArgIndex !== undefined && a.type !== 'char_buf') bad(`${p}.sizeArgIndex`, 'sizeArgIndex applies to char_buf only');
    args.push(arg);
  });

  // Selectors.
  const selectors: CompiledSelector[] = [];
  const sels = spec.selectors ?? [];
  if (sels.length > SEL.MAX_SELECTORS) bad('selectors', `at most ${SEL.MAX_SELECTORS} selectors per hook`);
  sels.slice(0, SEL.MAX_SELECTORS).forEach((s, si) => {
    const sp = `selectors[${si}]`;
    const out: CompiledSelector = {
      matchArgs: [], matchBinaries: [], matchPIDs: [], matchNamespaces: [], matchCapabilities: [],
      action: { post: true, signal: 0, rateLimitMs: 0, rateLimitScope: 'thread', actions: [] },
    };
    const ma = s.matchArgs ?? [];
    if (ma.length > SEL.MAX_ARGF) bad(`${sp}.matchArgs`, `at most ${SEL.MAX_ARGF} matchArgs filters per selector`);
    ma.slice(0, SEL.MAX_ARGF).forEach((f, fi) => {
      const f2 = compileArgFilter(f, args, `${sp}.matchArgs[${fi}]`, bad);
      if (f2) out.matchArgs.push(f2);
    });
    const mb = s.matchBinaries ?? [];
    if (mb.length > SEL.MAX_BINF) bad(`${sp}.matchBinaries`, `at most ${SEL.MAX_BINF} matchBinaries filters per selector`);
    mb.slice(0, SEL.MAX_BINF).forEach((f, fi) => {
      const f2 = compileBinaryFilter(f, `${sp}.matchBinaries[${fi}]`, bad);
      if (f2) out.matchBinaries.push(f2);
    });
    // matchParentBinaries share the selector's SEL_MAX_BINF binaries filters.
    const mpb = s.matchParentBinaries ?? [];
    if (mb.length + mpb.length > SEL.MAX_BINF) {
      bad(`${sp}.matchParentBinaries`, `at most ${SEL.MAX_BINF} matchBinaries and matchParentBinaries filters per selector together`);
    }
    mpb.slice(0, Math.max(0, SEL.MAX_BINF - mb.length)).forEach((f, fi) => {
      const f2 = compileBinaryFilter(f, `${sp}.matchParentBinaries[${fi}]`, bad);
      if (f2) (out.matchParentBinaries ??= []).push(f2);
    });
    const mp = s.matchPIDs ?? [];
    if (mp.length > SEL.MAX_PIDF) bad(`${sp}.matchPIDs`, `at most ${SEL.MAX_PIDF} matchPIDs filters per selector`);
    mp.slice(0, SEL.MAX_PIDF).forEach((f, fi) => {
      const p = `${sp}.matchPIDs[${fi}]`;
      if (f.operator !== 'In' && f.operator !== 'NotIn') return bad(`${p}.operator`, `unknown operator '${f.operator}' (In, NotIn)`);
      if (f.values.length === 0) return bad(`${p}.values`, 'at least one pid is required');
      const pf: PidFilter = { operator: f.operator, followForks: f.followForks === true, values: [...f.values] };
      if (f.isNamespacePID) pf.namespacePid = true;
      out.matchPIDs.push(pf);
    });
    const mn = s.matchNamespaces ?? [];
    if (mn.length > SEL.MAX_NSF) bad(`${sp}.matchNamespaces`, `at most ${SEL.MAX_NSF} matchNamespaces filters per selector`);
    mn.slice(0, SEL.MAX_NSF).forEach((f, fi) => {
      const p = `${sp}.matchNamespaces[${fi}]`;
      if (!(f.namespace in NS_FILES)) return bad(`${p}.namespace`, `unknown namespace '${f.namespace}'`);
      if (f.operator !== 'In' && f.operator !== 'NotIn') return bad(`${p}.operator`, `unknown operator '${f.operator}' (In, NotIn)`);
      const kind = f.namespace as NamespaceKind;
      const values: number[] = [];
      f.values.forEach((v, vi) => {
        if (v === 'host_ns') {
          const inum = hostNamespace(kind, procRoot);
          if (typeof inum === 'string') bad(`${p}.values[${vi}]`, inum);
          else values.push(inum);
          return;
        }
        const n = parseInt64(v);
        if (n === null || n < 0n || n > 0xffffffffn) return bad(`${p}.values[${vi}]`, `'${v}' is not a namespace inode number or host_ns`);
        values.push(Number(n));
      });
      const nf: NamespaceFilter = { namespace: kind, operator: f.operator, values };
      out.matchNamespaces.push(nf);
    });
    const mc = s.matchCapabilities ?? [];
    if (mc.length > SEL.MAX_CAPF) bad(`${sp}.matchCapabilities`, `at most ${SEL.MAX_CAPF} matchCapabilities filters per selector`);
    mc.slice(0, SEL.MAX_CAPF).forEach((f, fi) => {
      const p = `${sp}.matchCapabilities[${fi}]`;
      if (f.type !== 'Effective' && f.type !== 'Inheritable' && f.type !== 'Permitted') return bad(`${p}.type`, `unknown type '${f.type}'`);
      if (f.operator !== 'In' && f.operator !== 'NotIn') return bad(`${p}.operator`, `unknown operator '${f.operator}' (In, NotIn)`);
      if (f.isNamespaceCapability) return bad(`${p}.isNamespaceCapability`, 'isNamespaceCapability is not supported by the syscall_tracepoint backend');
      let mask = 0n;
      f.values.forEach((v, vi) => {
        const bit = CAPABILITIES.indexOf(v);
        if (bit < 0) bad(`${p}.values[${vi}]`, `unknown capability '${v}'`);
        else mask |= 1n << BigInt(bit);
      });
      const cf: CapabilityFilter = { type: f.type, operator: f.operator, mask };
      out.matchCapabilities.push(cf);
    });
    out.action = compileActions(s.matchActions ?? [], `${sp}.matchActions`, bad);
    selectors.push(out);
  });

  if (issues.length > 0) throw new ConfigError(`policy '${policyName}' hook ${spec.call}`, issues);
  const hook: SyscallHook = {
    id: opts.id ?? nextId++,
    policy: policyName,
    syscall: sc!.name,
    nr: sc!.nr,
    return: spec.return === true,
    args,
    selectors,
    monitor: mode === 'monitor',
  };
  if (spec.message !== undefined) hook.message = spec.message;
  if (spec.tags !== undefined) hook.tags = [...spec.tags];
  return hook;
}

type Bad = (path: string, message: string) => void;

function compileArgFilter(
  f: { index: number; operator: string; values?: string[] },
  args: SyscallHookArg[],
  p: string,
  bad: Bad,
): ArgFilter | null {
  const arg = args.find((a) => a.index === f.index);
  const values = f.values ?? [];
  if (!arg) {
    bad(`${p}.index`, `argument ${f.index} is not declared in args`);
    return null;
  }
  if (arg.returnCopy) {
    bad(`${p}.index`, `argument ${f.index} has returnCopy: it is read at sys_exit, after the selectors ran at sys_enter, so matchArgs cannot filter on it (Tetragon does not either)`);
    return null;
  }
  if (values.length === 0) {
    bad(`${p}.values`, 'at least one value is required');
    return null;
  }
  if (arg.type === 'string' || arg.type === 'char_buf') {
    if (!STRING_OPS.includes(f.operator)) {
      bad(`${p}.operator`, `operator '${f.operator}' does not apply to ${arg.type} argument ${f.index} (${STRING_OPS.join(', ')})`);
      return null;
    }
    const op = f.operator as StringOperator;
    const limit = op === 'Equal' || op === 'NotEqual' ? SEL.STR_MAX - 2 : SEL.LPM_STR;
    values.forEach((v, vi) => {
      const n = Buffer.byteLength(v);
      if (v.includes('\0')) bad(`${p}.values[${vi}]`, 'a value cannot contain NUL');
      else if (n > limit) {
        bad(`${p}.values[${vi}]`, `${op} values are at most ${limit} bytes on this backend (this one has ${n}): ` +
          `strings are read up to ${SEL.STR_MAX - 1} bytes at sys_enter`);
      }
    });
    return { kind: 'string', index: f.index, operator: op, values: [...values] };
  }
  const op = INT_OPS[f.operator];
  if (!op) {
    bad(`${p}.operator`, `operator '${f.operator}' does not apply to ${arg.type} argument ${f.index} (${Object.keys(INT_OPS).join(', ')})`);
    return null;
  }
  const { size, signed } = intTypeInfo(arg.type as IntArgType);
  const parse = (v: string, vi: number): bigint | null => {
    const n = parseInt64(v);
    if (n === null) {
      bad(`${p}.values[${vi}]`, `'${v}' is not an integer`);
      return null;
    }
    const w = narrowValue(n, size, signed);
    if (w === null) bad(`${p}.values[${vi}]`, `${v} does not fit argument type ${arg.type}`);
    return w;
  };
  if (op === 'Equal' || op === 'NotEqual') {
    const out = values.map(parse).filter((v): v is bigint => v !== null);
    return { kind: 'int', index: f.index, operator: op, values: out };
  }
  if (op === 'GT' || op === 'LT') {
    if (values.length !== 1) bad(`${p}.values`, `${f.operator} takes exactly one value`);
    const v = parse(values[0]!, 0);
    return v === null ? null : { kind: 'int', index: f.index, operator: op, value: v };
  }
  if (op === 'Mask') {
    let mask = 0n;
    values.forEach((v, vi) => {
      const n = parse(v, vi);
      if (n !== null) mask |= n;
    });
    return { kind: 'int', index: f.index, operator: 'Mask', mask };
  }
  if (values.length > SEL.MAX_RANGES) bad(`${p}.values`, `at most ${SEL.MAX_RANGES} ranges per filter`);
  const ranges: [bigint, bigint][] = [];
  values.slice(0, SEL.MAX_RANGES).forEach((v, vi) => {
    const m = /^\s*(-?\w+)\s*:\s*(-?\w+)\s*$/.exec(v);
    const a = m ? parse(m[1]!, vi) : null;
    const b = m ? parse(m[2]!, vi) : null;
    if (!m) return bad(`${p}.values[${vi}]`, `'${v}' is not a range 'min:max'`);
    if (a === null || b === null) return;
    const lo = signed ? BigInt.asIntN(64, a) : a;
    const hi = signed ? BigInt.asIntN(64, b) : b;
    if (lo > hi) return bad(`${p}.values[${vi}]`, `range '${v}' is empty (min > max)`);
    ranges.push([a, b]);
  });
  return { kind: 'int', index: f.index, operator: op as 'InRange' | 'NotInRange', ranges };
}

function compileBinaryFilter(f: { operator: string; values: string[]; followChildren?: boolean }, p: string, bad: Bad): BinaryFilter | null {
  const ops = ['In', 'NotIn', 'Prefix', 'NotPrefix', 'Postfix', 'NotPostfix'];
  if (!ops.includes(f.operator)) {
    bad(`${p}.operator`, `unknown operator '${f.operator}' (${ops.join(', ')})`);
    return null;
  }
  const op = f.operator as BinaryFilter['operator'];
  if (f.followChildren && op !== 'In' && op !== 'NotIn') {
    bad(`${p}.followChildren`, `followChildren applies to the In and NotIn operators only (not ${op})`);
  }
  const values: BinaryValue[] = [];
  f.values.forEach((v, vi) => {
    const n = Buffer.byteLength(v);
    const isSet = op === 'In' || op === 'NotIn';
    if (op !== 'Postfix' && op !== 'NotPostfix' && !v.startsWith('/')) {
      bad(`${p}.values[${vi}]`, `'${v}' is not an absolute path (executables are matched by their resolved absolute path)`);
      return;
    }
    if (n > (isSet ? SEL.STR_MAX - 2 : SEL.LPM_STR)) {
      bad(`${p}.values[${vi}]`, `path of ${n} bytes is longer than this backend matches (${isSet ? SEL.STR_MAX - 2 : SEL.LPM_STR})`);
      return;
    }
    const bv: BinaryValue = { path: v };
    if (isSet) {
      const st = statSync(v, { bigint: true, throwIfNoEntry: false });
      if (st && st.isFile()) {
        bv.dev = kernelDev(st.dev);
        bv.ino = st.ino;
      }
    }
    values.push(bv);
  });
  return f.followChildren ? { operator: op, values, followChildren: true } : { operator: op, values };
}

function compileActions(actions: NonNullable<SelectorInput['matchActions']>, p: string, bad: Bad): SelectorAction {
  const out: SelectorAction = { post: true, signal: 0, rateLimitMs: 0, rateLimitScope: 'thread', actions: [] };
  let sawPost = false;
  actions.forEach((a, ai) => {
    const ap = `${p}[${ai}]`;
    out.actions.push(a.action);
    switch (a.action) {
      case 'Post':
        sawPost = true;
        if (a.rateLimit !== undefined) {
          const ms = parseDurationMs(a.rateLimit);
          if (ms === null || ms === 0) bad(`${ap}.rateLimit`, `'${a.rateLimit}' is not a duration like 30s, 5m, 1h`);
          else out.rateLimitMs = ms;
        }
        if (a.rateLimitScope !== undefined) {
          if (a.rateLimitScope !== 'thread' && a.rateLimitScope !== 'process' && a.rateLimitScope !== 'global') {
            bad(`${ap}.rateLimitScope`, `unknown scope '${a.rateLimitScope}' (thread, process, global)`);
          } else out.rateLimitScope = a.rateLimitScope;
        }
        break;
      case 'NoPost':
        out.post = false;
        break;
      case 'Sigkill':
      case 'Signal': {
        const sig = a.action === 'Sigkill' ? 9 : a.argSig;
        if (sig === undefined) {
          bad(`${ap}.argSig`, 'Signal needs argSig (the signal number)');
          break;
        }
        if (sig < 1 || sig > 64) bad(`${ap}.argSig`, 'argSig must be 1..64');
        if (out.signal !== 0 && out.signal !== sig) bad(ap, 'a selector can send one signal only');
        out.signal = sig;
        break;
      }
      case 'Override':
        bad(`${ap}.action`, 'Override cannot be honoured from a syscall tracepoint (the syscall runs anyway): it needs fmod_ret or BPF LSM; use Sigkill, or an lsmhooks entry');
        break;
      default:
        bad(`${ap}.action`, `action '${a.action}' is not supported by the syscall_tracepoint backend (Post, NoPost, Sigkill, Signal)`);
    }
    if ((a.rateLimit !== undefined || a.rateLimitScope !== undefined) && a.action !== 'Post') {
      bad(`${ap}.rateLimit`, 'rateLimit applies to the Post action');
    }
  });
  if (sawPost && !out.post) bad(p, 'Post and NoPost together');
  return out;
}
