// compileSyscallHook: the TracingPolicy kprobes entry (as packages/policy's zod schema outputs it) → SyscallHook,
// and the precise errors for what the syscall_tracepoint backend cannot evaluate.
import { readFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@peregrine/events';
import { parsePolicies, policyMode } from '@peregrine/policy';
import { compileSyscallHook, kernelDev, narrowValue, parseDurationMs, type KprobeSpecInput } from './compile.js';
import { encodeGeneration, encodeNr, nrUsed } from './encode.js';
import { ArgKind, Filt, HookFlag, SEL, SEL_LAYOUTS as L, SetOp, selId } from './layout.js';
import { SYSCALLS_X86_64, syscallNumber } from './syscalls.js';

const POLICY = `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: "etc-writes"}
spec:
  options: [{name: policy-mode, value: monitor}]
  kprobes:
  - call: "sys_openat"
    syscall: true
    args: [{index: 0, type: int}, {index: 1, type: string, label: filename}, {index: 2, type: int, label: flags}]
    selectors:
    - matchArgs:
      - {index: 1, operator: Prefix, values: ["/etc/"]}
      - {index: 2, operator: Mask, values: ["1", "2"]}
      matchBinaries: [{operator: NotIn, values: ["/usr/bin/true"]}]
      matchActions: [{action: Sigkill}]
    - matchArgs: [{index: 1, operator: Postfix, values: [".conf"]}]
      matchActions: [{action: Post, rateLimit: 1m, rateLimitScope: process}]
  - call: "sys_setuid"
    syscall: true
    args: [{index: 0, type: int}]
    selectors:
    - matchArgs: [{index: 0, operator: Equal, values: [0, "-1"]}]
      matchPIDs: [{operator: NotIn, followForks: true, values: [1]}]
      matchCapabilities: [{type: Effective, operator: In, values: [CAP_SETUID, CAP_SYS_ADMIN]}]
`;

const errs = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  throw new Error('no error');
};

describe('compileSyscallHook', () => {
  it('maps a zod-validated TracingPolicy 1:1', () => {
    const [p] = parsePolicies(POLICY, 'test.yaml');
    const mode = policyMode(p!);
    const [open, setuid] = p!.spec.kprobes!.map((k, i) => compileSyscallHook(p!.metadata.name, k, mode, { id: 10 + i }));
    expect(open).toMatchObject({
      id: 10, policy: 'etc-writes', syscall: 'openat', nr: 257, monitor: true, return: false,
      args: [{ index: 0, type: 'int' }, { index: 1, type: 'string', label: 'filename' }, { index: 2, type: 'int', label: 'flags' }],
    });
    expect(open!.selectors[0]).toMatchObject({
      matchArgs: [
        { kind: 'string', index: 1, operator: 'Prefix', values: ['/etc/'] },
        { kind: 'int', index: 2, operator: 'Mask', mask: 3n },
      ],
      matchBinaries: [{ operator: 'NotIn', values: [{ path: '/usr/bin/true' }] }],
      action: { post: true, signal: 9, rateLimitMs: 0 },
    });
    expect(open!.selectors[0]!.matchBinaries[0]!.values[0]!.ino).toBeTypeOf('bigint');
    expect(open!.selectors[1]!.action).toMatchObject({ post: true, signal: 0, rateLimitMs: 60_000, rateLimitScope: 'process' });
    expect(setuid!.selectors[0]).toMatchObject({
      matchArgs: [{ kind: 'int', operator: 'Equal', values: [0n, 0xffffffffffffffffn] }],
      matchPIDs: [{ operator: 'NotIn', followForks: true, values: [1] }],
      matchCapabilities: [{ type: 'Effective', operator: 'In', mask: (1n << 7n) | (1n << 21n) }],
    });
  });

  it('refuses, with the path of each field, what the backend cannot evaluate', () => {
    const spec: KprobeSpecInput = {
      call: 'sys_openat', syscall: true, return: false,
      args: [{ index: 0, type: 'fd' }, { index: 1, type: 'string' }, { index: 2, type: 'char_buf' }],
      returnArg: { type: 'int' },
      selectors: [{
        matchArgs: [
          { index: 1, operator: 'GT', values: ['1'] },
          { index: 3, operator: 'Equal', values: ['1'] },
          { index: 1, operator: 'Prefix', values: ['/' + 'x'.repeat(300)] },
          { index: 1, operator: 'Equal', values: [] },
        ],
        matchParentBinaries: [{ operator: 'Prefix', values: ['/bin/'], followChildren: true }],
        matchBinaries: [{ operator: 'In', values: ['relative/path'], followChildren: true }],
        // Accepted (Tetragon's ancestor walk): no issue for matchPIDs.
        matchPIDs: [{ operator: 'In', isNamespacePID: true, values: [1] }, { operator: 'NotIn', isNamespacePID: true, followForks: true, values: [1] }],
        matchCapabilities: [{ type: 'Effective', operator: 'In', values: ['CAP_NOPE'] }],
        matchActions: [{ action: 'Override', argError: -1 }, { action: 'Signal' }, { action: 'NoPost', rateLimit: '1m' }],
      }],
    };
    expect(errs(() => compileSyscallHook('p', spec, 'enforce', { path: 'spec.kprobes[0]' }))).toEqual([
      'spec.kprobes[0].returnArg: returnArg needs return: true',
      "spec.kprobes[0].args[0].type: argument type 'fd' is not supported by the syscall_tracepoint backend: it sees the raw syscall registers only (declare 'int' for a number or fd, 'string' for a user path, 'char_buf' with sizeArgIndex for a user buffer)",
      'spec.kprobes[0].args[2].sizeArgIndex: char_buf needs sizeArgIndex (1-based index of the length argument)',
      "spec.kprobes[0].selectors[0].matchArgs[0].operator: operator 'GT' does not apply to string argument 1 (Equal, NotEqual, Prefix, NotPrefix, Postfix, NotPostfix)",
      'spec.kprobes[0].selectors[0].matchArgs[1].index: argument 3 is not declared in args',
      'spec.kprobes[0].selectors[0].matchArgs[2].values[0]: Prefix values are at most 252 bytes on this backend (this one has 301): strings are read up to 255 bytes at sys_enter',
      'spec.kprobes[0].selectors[0].matchArgs[3].values: at least one value is required',
      "spec.kprobes[0].selectors[0].matchBinaries[0].values[0]: 'relative/path' is not an absolute path (executables are matched by their resolved absolute path)",
      'spec.kprobes[0].selectors[0].matchParentBinaries[0].followChildren: followChildren applies to the In and NotIn operators only (not Prefix)',
      "spec.kprobes[0].selectors[0].matchCapabilities[0].values[0]: unknown capability 'CAP_NOPE'",
      'spec.kprobes[0].selectors[0].matchActions[0].action: Override cannot be honoured from a syscall tracepoint (the syscall runs anyway): it needs fmod_ret or BPF LSM; use Sigkill, or an lsmhooks entry',
      'spec.kprobes[0].selectors[0].matchActions[1].argSig: Signal needs argSig (the signal number)',
      'spec.kprobes[0].selectors[0].matchActions[2].rateLimit: rateLimit applies to the Post action',
    ]);
    expect(errs(() => compileSyscallHook('p', { call: 'do_sys_open', syscall: false }, 'enforce'))).toEqual([
      'syscall: the syscall_tracepoint backend takes syscall hooks only (syscall: true)',
      "call: 'do_sys_open' is not an x86_64 syscall (expected e.g. sys_openat)",
    ]);
    expect(errs(() => compileSyscallHook('p', {
      call: 'sys_setuid', syscall: true, args: [{ index: 0, type: 'uint8' }],
      selectors: [{ matchArgs: [{ index: 0, operator: 'Equal', values: ['256', 'x'] }, { index: 0, operator: 'InRange', values: ['9:3'] }] }],
    }, 'enforce'))).toEqual([
      'selectors[0].matchArgs[0].values[0]: 256 does not fit argument type uint8',
      "selectors[0].matchArgs[0].values[1]: 'x' is not an integer",
      "selectors[0].matchArgs[1].values[0]: range '9:3' is empty (min > max)",
    ]);
  });

  it('returnCopy: char_buf and string arguments of a return: true hook, read at sys_exit (RBUF/RSTR in the table)', () => {
    const [p] = parsePolicies(`
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: "reads"}
spec:
  kprobes:
  - call: sys_read
    syscall: true
    return: true
    args: [{index: 0, type: int}, {index: 1, type: char_buf, sizeArgIndex: 3, returnCopy: true}]
    returnArg: {index: 0, type: int}
    selectors: [{matchArgs: [{index: 0, operator: Equal, values: ["3"]}]}]
  - call: sys_getcwd
    syscall: true
    return: true
    args: [{index: 0, type: string, returnCopy: true}]
  - call: sys_readlink
    syscall: true
    return: true
    args: [{index: 1, type: char_buf, returnCopy: true}]
`, 'test.yaml');
    const [read, cwd, link] = p!.spec.kprobes!.map((k, i) => compileSyscallHook('reads', k, 'enforce', { id: 20 + i }));
    expect(read!.args).toEqual([{ index: 0, type: 'int' }, { index: 1, type: 'char_buf', sizeArgIndex: 3, returnCopy: true }]);
    expect(cwd!.args).toEqual([{ index: 0, type: 'string', returnCopy: true }]);
    expect(link!.args).toEqual([{ index: 1, type: 'char_buf', returnCopy: true }]);
    const enc = encodeGeneration([read!, cwd!, link!], 0, () => 0);
    const arg = (h: number, i: number, f: keyof typeof L.sel_arg.fields): number =>
      enc.hooks[h]!.value.readUInt8(L.sel_hook.fields.args + i * L.sel_arg.size + L.sel_arg.fields[f]);
    expect([arg(0, 0, 'kind'), arg(0, 1, 'kind'), arg(0, 1, 'size_arg')]).toEqual([ArgKind.INT, ArgKind.RBUF, 2]);
    expect(arg(1, 0, 'kind')).toBe(ArgKind.RSTR);
    // No length argument: 0xff, the return value alone bounds the copy.
    expect([arg(2, 0, 'kind'), arg(2, 0, 'size_arg')]).toEqual([ArgKind.RBUF, 0xff]);
    expect(enc.chains.get(0)).toEqual({ slots: [0], exit: true });
  });

  it('returnCopy: refused without return: true, on other types, and as a matchArgs target; maxData says why', () => {
    expect(errs(() => compileSyscallHook('p', {
      call: 'sys_read', syscall: true, return: true,
      args: [{ index: 0, type: 'int', returnCopy: true }, { index: 1, type: 'char_buf', sizeArgIndex: 3, returnCopy: true }, { index: 2, type: 'size_t', maxData: true }],
      selectors: [{ matchArgs: [{ index: 0, operator: 'Equal', values: ['3'] }, { index: 1, operator: 'Prefix', values: ['secret'] }] }],
    }, 'enforce', { path: 'spec.kprobes[1]' }))).toEqual([
      'spec.kprobes[1].args[0].returnCopy: returnCopy applies to char_buf and string arguments, not int',
      'spec.kprobes[1].args[2].maxData: maxData is not supported: a record has one fixed slot of 256 bytes per argument (string and char_buf arguments are reported up to 255 bytes, then marked truncated); Tetragon\'s maxData sends larger buffers in extra chunks, which this backend has no record for',
      'spec.kprobes[1].selectors[0].matchArgs[1].index: argument 1 has returnCopy: it is read at sys_exit, after the selectors ran at sys_enter, so matchArgs cannot filter on it (Tetragon does not either)',
    ]);
    expect(errs(() => compileSyscallHook('p', {
      call: 'sys_read', syscall: true, args: [{ index: 1, type: 'char_buf', sizeArgIndex: 3, returnCopy: true }],
    }, 'enforce'))).toEqual(['args[0].returnCopy: returnCopy needs return: true (the buffer is read at sys_exit, after the syscall filled it)']);
  });

  it('narrows values like the kernel narrows the register', () => {
    expect(narrowValue(-1n, 4, true)).toBe(0xffffffffffffffffn);
    expect(narrowValue(0xffffffffn, 4, true)).toBe(0xffffffffffffffffn);
    expect(narrowValue(0xffffffffn, 4, false)).toBe(0xffffffffn);
    expect(narrowValue(-1n, 4, false)).toBe(0xffffffffn);
    expect(narrowValue(1n << 32n, 4, false)).toBeNull();
    expect(parseDurationMs('5m')).toBe(300_000);
    expect(parseDurationMs('10')).toBe(10_000);
    expect(kernelDev(0x10301n)).toBe((0x103 << 20) | 1); // glibc makedev(259, 1) → kernel (259 << 20) | 1
  });

  it('syscall names: sys_, __x64_sys_ and bare', () => {
    expect(syscallNumber('sys_openat')).toEqual({ name: 'openat', nr: 257 });
    expect(syscallNumber('__x64_sys_execve')).toEqual({ name: 'execve', nr: 59 });
    expect(syscallNumber('connect')).toEqual({ name: 'connect', nr: 42 });
    expect(syscallNumber('sys_nope')).toBeNull();
  });

  it.skipIf(!existsSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h'))('the static table equals unistd_64.h', () => {
    const text = readFileSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h', 'utf8');
    const fromHeader = Object.fromEntries([...text.matchAll(/^#define __NR_(\w+) (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
    expect(SYSCALLS_X86_64).toEqual(fromHeader);
  });
});

describe('encodeGeneration', () => {
  it('writes one hook table per slot, chains per syscall, and value-set keys with the generation bit', () => {
    const a = compileSyscallHook('p', {
      call: 'sys_openat', syscall: true, args: [{ index: 1, type: 'string' }],
      selectors: [{ matchArgs: [{ index: 1, operator: 'Postfix', values: ['.so'] }, { index: 1, operator: 'Equal', values: ['/a'] }] }],
    }, 'enforce', { id: 7 });
    const b = compileSyscallHook('p', { call: 'sys_openat', syscall: true, return: true }, 'monitor', { id: 8 });
    const enc = encodeGeneration([a, b], 1, () => 0);
    expect(enc.hooks).toHaveLength(2);
    expect(enc.chains.get(257)).toEqual({ slots: [0, 1], exit: true });
    expect(enc.strPostfix).toHaveLength(1);
    const pk = enc.strPostfix[0]!;
    expect(pk.readUInt32LE(0)).toBe(32 + 8 * 3);
    expect(pk.readUInt32LE(4)).toBe(selId(1, 0, 0, 0));
    expect(pk.subarray(8, 11).toString()).toBe('os.');
    const ek = enc.strEq[0]!;
    expect(ek.length).toBe(L.sel_strbuf.size);
    expect(ek.readUInt32LE(0)).toBe(2);
    expect(ek.readUInt32LE(4)).toBe(selId(1, 0, 0, 1));
    expect(ek.readUInt32LE(4) >>> 31).toBe(1);
    // The hook marks the string argument for reversal (a Postfix filter reads it).
    expect(enc.hooks[0]!.value.readUInt8(L.sel_hook.fields.args + L.sel_arg.fields.reverse)).toBe(1);
    const nr = encodeNr(null, 1, enc.chains.get(257));
    expect(nrUsed(nr, 1)).toBe(true);
    expect(nrUsed(nr, 0)).toBe(false);
    const next = encodeNr(nr, 0, undefined);
    expect(nrUsed(next, 1)).toBe(true);
    expect(nrUsed(next, 0)).toBe(false);
  });

  it('matchPIDs isNamespacePID: the ns byte of sel_pidf and SEL_HOOK_NSPID, host-pid filters unchanged', () => {
    const h = compileSyscallHook('p', {
      call: 'sys_openat', syscall: true,
      selectors: [
        { matchPIDs: [{ operator: 'In', values: [100] }, { operator: 'NotIn', isNamespacePID: true, values: [1, 2] }] },
        { matchPIDs: [{ operator: 'In', followForks: true, values: [200] }] },
      ],
    }, 'enforce', { id: 9 });
    expect(h.selectors[0]!.matchPIDs).toEqual([
      { operator: 'In', followForks: false, values: [100] },
      { operator: 'NotIn', followForks: false, namespacePid: true, values: [1, 2] },
    ]);
    const enc = encodeGeneration([h], 0, () => 5);
    const v = enc.hooks[0]!.value;
    const H = L.sel_hook.fields;
    const P = L.sel_pidf.fields;
    const pidf = (sel: number, f: number): number => H.sel + sel * L.sel_selector.size + L.sel_selector.fields.pidf + f * L.sel_pidf.size;
    expect(v.readUInt32LE(H.flags) & HookFlag.NSPID).toBe(HookFlag.NSPID);
    expect(v.readUInt32LE(H.flags) & HookFlag.FOLLOW).toBe(HookFlag.FOLLOW);
    expect(v.readUInt8(pidf(0, 0) + P.ns)).toBe(0);
    expect([v.readUInt8(pidf(0, 1) + P.op), v.readUInt8(pidf(0, 1) + P.ns), v.readUInt8(pidf(0, 1) + P.follow)]).toEqual([SetOp.NotIn, 1, 0]);
    expect([v.readUInt8(pidf(1, 0) + P.ns), v.readUInt8(pidf(1, 0) + P.follow)]).toEqual([0, 1]);
    // The values go to sel_u32_set under the filter's id, as host pids do.
    const keys = enc.u32Set.map((k) => [k.readUInt32LE(0), k.readUInt32LE(4)]);
    expect(keys).toContainEqual([selId(0, 0, 0, Filt.PID + 1), 2]);
    // Without isNamespacePID no hook pays for the read.
    const host = compileSyscallHook('p', { call: 'sys_openat', syscall: true, selectors: [{ matchPIDs: [{ operator: 'In', values: [1] }] }] }, 'enforce', { id: 10 });
    expect(encodeGeneration([host], 0, () => 0).hooks[0]!.value.readUInt32LE(H.flags) & HookFlag.NSPID).toBe(0);
    expect(v.readUInt32LE(H.flags) & HookFlag.NSPID_CHAIN).toBe(0);
  });

  it('matchPIDs isNamespacePID with followForks (Tetragon NotIn [0, 1]): ns and follow bytes, SEL_HOOK_NSPID_CHAIN, no lineage bit', () => {
    const [p] = parsePolicies(`
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: not-ns-init}
spec:
  kprobes:
  - call: sys_openat
    syscall: true
    selectors:
    - matchPIDs: [{operator: NotIn, followForks: true, isNamespacePID: true, values: [0, 1]}]
    - matchPIDs: [{operator: In, followForks: true, values: [300]}, {operator: In, followForks: true, isNamespacePID: true, values: [7]}]
`, 'ns.yaml');
    const h = compileSyscallHook(p!.metadata.name, p!.spec.kprobes![0]!, 'enforce', { id: 11 });
    expect(h.selectors[0]!.matchPIDs).toEqual([{ operator: 'NotIn', followForks: true, namespacePid: true, values: [0, 1] }]);
    const followed: number[] = [];
    const enc = encodeGeneration([h], 1, (pid) => {
      followed.push(pid);
      return 3;
    });
    const v = enc.hooks[0]!.value;
    const H = L.sel_hook.fields;
    const P = L.sel_pidf.fields;
    const pidf = (sel: number, f: number): number => H.sel + sel * L.sel_selector.size + L.sel_selector.fields.pidf + f * L.sel_pidf.size;
    const flags = v.readUInt32LE(H.flags);
    expect(flags & HookFlag.NSPID_CHAIN).toBe(HookFlag.NSPID_CHAIN);
    expect(flags & HookFlag.NSPID).toBe(0); // the chain's level 0 is the process's own ns pid
    expect(flags & HookFlag.FOLLOW).toBe(HookFlag.FOLLOW); // for selector 1's host-pid filter only
    // Only the host pid gets a lineage bit; ns pids are never followBit roots.
    expect(followed).toEqual([300]);
    const bytes = (sel: number, f: number): number[] =>
      [P.op, P.follow, P.ns].map((o) => v.readUInt8(pidf(sel, f) + o)).concat(Number(v.readBigUInt64LE(pidf(sel, f) + P.follow_mask)));
    expect(bytes(0, 0)).toEqual([SetOp.NotIn, 1, 1, 0]);
    expect(bytes(1, 0)).toEqual([SetOp.In, 1, 0, 8]);
    expect(bytes(1, 1)).toEqual([SetOp.In, 1, 1, 0]);
    const keys = enc.u32Set.map((k) => [k.readUInt32LE(0), k.readUInt32LE(4)]);
    expect(keys).toEqual([
      [selId(1, 0, 0, Filt.PID), 0], [selId(1, 0, 0, Filt.PID), 1],
      [selId(1, 0, 1, Filt.PID), 300], [selId(1, 0, 1, Filt.PID + 1), 7],
    ]);
    // Without the combination no hook walks the ancestors.
    const plain = compileSyscallHook('p', { call: 'sys_openat', syscall: true, selectors: [{ matchPIDs: [{ operator: 'In', isNamespacePID: true, values: [1] }] }] }, 'enforce', { id: 12 });
    expect(encodeGeneration([plain], 0, () => 0).hooks[0]!.value.readUInt32LE(H.flags) & HookFlag.NSPID_CHAIN).toBe(0);
    expect(SEL.NSPID_LEVELS).toBe(10);
  });

  it('refuses more hooks than the tables hold and more than SEL_MAX_CHAIN on one syscall', () => {
    const mk = (i: number): ReturnType<typeof compileSyscallHook> =>
      compileSyscallHook('p', { call: 'sys_openat', syscall: true }, 'enforce', { id: 100 + i });
    expect(() => encodeGeneration([0, 1, 2, 3, 4].map(mk), 0, () => 0)).toThrow(/more than 4 hooks on syscall openat/);
    expect(() => encodeGeneration([mk(1), mk(1)], 0, () => 0)).toThrow(/hook id 101 is used twice/);
    const many = Array.from({ length: SEL.MAX_HOOKS + 1 }, (_, i) => compileSyscallHook('p', { call: 'sys_getpid', syscall: true }, 'enforce', { id: i }));
    expect(() => encodeGeneration(many, 0, () => 0)).toThrow(/at most 64/);
  });
});
