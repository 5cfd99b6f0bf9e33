// Encoding SyscallHooks into the tables of bpf/lib/sel_msg.h for one generation: the hook structs,
// the syscall-number chains and every value set (keys only: all set values are a single byte 1).
import { intTypeInfo } from './compile.js';
import {
  ArgKind, ArgOp, BinOp, CapType, Filt, HookFlag, LPM_KEY_SIZE, NsKind, RateScope, SEL, SEL_LAYOUTS as L, SetOp, hookIndex, selId,
} from './layout.js';
import type { BinaryValue, IntArgType, SyscallHook } from './types.js';

export interface EncodedGeneration {
  gen: number;
  /** sel_hooks: SEL_HOOK_IDX(gen, slot) → struct sel_hook. */
  hooks: { key: Buffer; value: Buffer }[];
  /** Syscall number → hook slots in evaluation order, and whether one reports at sys_exit. */
  chains: Map<number, { slots: number[]; exit: boolean }>;
  strEq: Buffer[];
  strPrefix: Buffer[];
  strPostfix: Buffer[];
  intSet: Buffer[];
  binIno: Buffer[];
  u32Set: Buffer[];
  /** Slot of each hook id. */
  slots: Map<number, number>;
  /** followChildren: the executables of each sel_fc_lineage bit used (for sel_fc_ino, sel_fc_path). */
  fc: Map<number, BinaryValue[]>;
}

/** The key a followChildren value list gets its sel_fc_lineage bit by (the same list shares a bit). */
export function followChildrenKey(values: BinaryValue[]): string {
  return JSON.stringify(values.map((v) => v.path).sort());
}

export class EncodeError extends Error {
  override readonly name = 'EncodeError';
}

function strKey(id: number, bytes: Buffer): Buffer {
  const k = Buffer.alloc(L.sel_strbuf.size);
  k.writeUInt32LE(bytes.length, L.sel_strbuf.fields.hdr);
  k.writeUInt32LE(id, L.sel_strbuf.fields.id);
  bytes.copy(k, L.sel_strbuf.fields.s);
  return k;
}

function lpmKey(id: number, bytes: Buffer): Buffer {
  const k = Buffer.alloc(LPM_KEY_SIZE);
  k.writeUInt32LE(32 + 8 * bytes.length, 0);
  k.writeUInt32LE(id, 4);
  bytes.copy(k, 8);
  return k;
}

function intKey(id: number, v: bigint): Buffer {
  const k = Buffer.alloc(L.sel_int_key.size);
  k.writeUInt32LE(id, L.sel_int_key.fields.id);
  k.writeBigUInt64LE(BigInt.asUintN(64, v), L.sel_int_key.fields.v);
  return k;
}

function u32Key(id: number, v: number): Buffer {
  const k = Buffer.alloc(L.sel_u32_key.size);
  k.writeUInt32LE(id, L.sel_u32_key.fields.id);
  k.writeUInt32LE(v >>> 0, L.sel_u32_key.fields.v);
  return k;
}

function inoKey(id: number, dev: number, ino: bigint): Buffer {
  const k = Buffer.alloc(L.sel_ino_key.size);
  k.writeUInt32LE(id, L.sel_ino_key.fields.id);
  k.writeUInt32LE(dev, L.sel_ino_key.fields.dev);
  k.writeBigUInt64LE(ino, L.sel_ino_key.fields.ino);
  return k;
}

const reversed = (s: string): Buffer => Buffer.from(s).reverse();

/**
 * Encodes the hooks for generation `gen`. followBit gives the sel_lineage bit of a followForks pid
 * (stable across generations: the bits live in per-process state).
 */
export function encodeGeneration(
  hooks: SyscallHook[],
  gen: number,
  followBit: (pid: number) => number,
  fcBit: (key: string) => number = () => {
    throw new EncodeError('followChildren needs a backend that assigns sel_fc_lineage bits');
  },
): EncodedGeneration {
  if (hooks.length > SEL.MAX_HOOKS) throw new EncodeError(`${hooks.length} hooks: the backend holds at most ${SEL.MAX_HOOKS}`);
  const out: EncodedGeneration = {
    gen, hooks: [], chains: new Map(), strEq: [], strPrefix: [], strPostfix: [], intSet: [], binIno: [], u32Set: [], slots: new Map(),
    fc: new Map(),
  };
  const ids = new Set<number>();
  hooks.forEach((hook, slot) => {
    if (ids.has(hook.id)) throw new EncodeError(`hook id ${hook.id} is used twice`);
    ids.add(hook.id);
    out.slots.set(hook.id, slot);
    const chain = out.chains.get(hook.nr) ?? { slots: [], exit: false };
    if (chain.slots.length >= SEL.MAX_CHAIN) {
      throw new EncodeError(`more than ${SEL.MAX_CHAIN} hooks on syscall ${hook.syscall} (policy ${hook.policy})`);
    }
    chain.slots.push(slot);
    chain.exit ||= hook.return === true;
    out.chains.set(hook.nr, chain);
    out.hooks.push(encodeHook(hook, gen, slot, followBit, out, fcBit));
  });
  return out;
}

function encodeHook(
  hook: SyscallHook,
  gen: number,
  slot: number,
  followBit: (pid: number) => number,
  out: EncodedGeneration,
  fcBit: (key: string) => number,
): { key: Buffer; value: Buffer } {
  const H = L.sel_hook.fields;
  const v = Buffer.alloc(L.sel_hook.size);
  let flags = 0;
  if (hook.monitor) flags |= HookFlag.MONITOR;
  if (hook.return) flags |= HookFlag.RETURN;
  if (hook.args.length > SEL.MAX_ARGS) throw new EncodeError(`hook ${hook.id}: more than ${SEL.MAX_ARGS} arguments`);
  if (hook.selectors.length > SEL.MAX_SELECTORS) throw new EncodeError(`hook ${hook.id}: more than ${SEL.MAX_SELECTORS} selectors`);
  v.writeUInt32LE(hook.id >>> 0, H.id);
  v.writeUInt32LE(hook.nr, H.nr);
  v.writeUInt8(hook.args.length, H.nargs);
  v.writeUInt8(hook.selectors.length, H.nsel);

  const pos = new Map<number, number>();
  hook.args.forEach((a, i) => {
    const o = H.args + i * L.sel_arg.size;
    const A = L.sel_arg.fields;
    pos.set(a.index, i);
    v.writeUInt8(a.index, o + A.index);
    if (a.type === 'string') v.writeUInt8(a.returnCopy ? ArgKind.RSTR : ArgKind.STR, o + A.kind);
    else if (a.type === 'char_buf') {
      v.writeUInt8(a.returnCopy ? ArgKind.RBUF : ArgKind.BUF, o + A.kind);
      // 0xff: no length argument (returnCopy without sizeArgIndex: the return value bounds it).
      v.writeUInt8(a.sizeArgIndex === undefined ? 0xff : a.sizeArgIndex - 1, o + A.size_arg);
    } else {
      const { size, signed } = intTypeInfo(a.type as IntArgType);
      v.writeUInt8(ArgKind.INT, o + A.kind);
      v.writeUInt8(size, o + A.size);
      v.writeUInt8(signed ? 1 : 0, o + A.is_signed);
    }
  });
  const signedArg = (index: number): boolean => {
    const a = hook.args.find((x) => x.index === index);
    return a !== undefined && a.type !== 'string' && a.type !== 'char_buf' && intTypeInfo(a.type as IntArgType).signed;
  };

  hook.selectors.forEach((sel, si) => {
    const so = H.sel + si * L.sel_selector.size;
    const S = L.sel_selector.fields;
    v.writeUInt8(sel.matchArgs.length, so + S.nargf);
    // matchParentBinaries follow matchBinaries in the same binf array (parent = 1).
    const binfs = [...sel.matchBinaries.map((f) => ({ f, parent: false })), ...(sel.matchParentBinaries ?? []).map((f) => ({ f, parent: true }))];
    if (binfs.length > SEL.MAX_BINF) throw new EncodeError(`hook ${hook.id}: more than ${SEL.MAX_BINF} binaries filters in a selector`);
    v.writeUInt8(binfs.length, so + S.nbinf);
    v.writeUInt8(sel.matchPIDs.length, so + S.npidf);
    v.writeUInt8(sel.matchNamespaces.length, so + S.nnsf);
    v.writeUInt8(sel.matchCapabilities.length, so + S.ncapf);

    sel.matchArgs.forEach((f, fi) => {
      const fo = so + S.argf + fi * L.sel_argf.size;
      const F = L.sel_argf.fields;
      const p = pos.get(f.index);
      if (p === undefined) throw new EncodeError(`hook ${hook.id}: matchArgs on undeclared argument ${f.index}`);
      const id = selId(gen, slot, si, Filt.ARG + fi);
      v.writeUInt8(p, fo + F.arg);
      v.writeUInt8(ArgOp[f.operator], fo + F.op);
      v.writeUInt8(signedArg(f.index) ? 1 : 0, fo + F.is_signed);
      if (f.kind === 'string') {
        for (const s of f.values) {
          if (f.operator === 'Equal' || f.operator === 'NotEqual') out.strEq.push(strKey(id, Buffer.from(s)));
          else if (f.operator === 'Prefix' || f.operator === 'NotPrefix') out.strPrefix.push(lpmKey(id, Buffer.from(s)));
          else out.strPostfix.push(lpmKey(id, reversed(s)));
        }
        for (const n of f.inodes ?? []) out.binIno.push(inoKey(id, n.dev, n.ino));
        if (f.operator === 'Postfix' || f.operator === 'NotPostfix') v.writeUInt8(1, H.args + p * L.sel_arg.size + L.sel_arg.fields.reverse);
        if (f.operator === 'Equal' || f.operator === 'NotEqual') v.writeUInt8(1, H.args + p * L.sel_arg.size + L.sel_arg.fields.exact);
        return;
      }
      switch (f.operator) {
        case 'Equal':
        case 'NotEqual':
          for (const x of f.values) out.intSet.push(intKey(id, x));
          break;
        case 'GT':
        case 'LT':
          v.writeBigUInt64LE(BigInt.asUintN(64, f.value), fo + F.a);
          break;
        case 'Mask':
          v.writeBigUInt64LE(BigInt.asUintN(64, f.mask), fo + F.a);
          break;
        case 'InRange':
        case 'NotInRange':
          v.writeUInt8(f.ranges.length, fo + F.nranges);
          f.ranges.forEach(([lo, hi], ri) => {
            v.writeBigUInt64LE(BigInt.asUintN(64, lo), fo + F.a + ri * 8);
            v.writeBigUInt64LE(BigInt.asUintN(64, hi), fo + F.b + ri * 8);
          });
          break;
      }
    });

    binfs.forEach(({ f, parent }, fi) => {
      const id = selId(gen, slot, si, Filt.BIN + fi);
      const bo = so + S.binf + fi * L.sel_binf.size;
      v.writeUInt8(BinOp[f.operator], bo + L.sel_binf.fields.op);
      flags |= parent ? HookFlag.PEXE : HookFlag.EXE;
      if (parent) v.writeUInt8(1, bo + L.sel_binf.fields.parent);
      if (f.followChildren) {
        const bit = fcBit(followChildrenKey(f.values));
        v.writeUInt8(bit + 1, bo + L.sel_binf.fields.follow);
        out.fc.set(bit, f.values);
        flags |= HookFlag.FC;
        if (parent) flags |= HookFlag.PEXE;
      }
      for (const b of f.values) {
        if (f.operator === 'In' || f.operator === 'NotIn') {
          if (b.dev !== undefined && b.ino !== undefined) out.binIno.push(inoKey(id, b.dev, b.ino));
          out.strEq.push(strKey(id, Buffer.from(b.path)));
        } else if (f.operator === 'Prefix' || f.operator === 'NotPrefix') {
          out.strPrefix.push(lpmKey(id, Buffer.from(b.path)));
        } else {
          out.strPostfix.push(lpmKey(id, reversed(b.path)));
          flags |= parent ? HookFlag.PEXE_REV : HookFlag.EXE_REV;
        }
      }
    });

    sel.matchPIDs.forEach((f, fi) => {
      const fo = so + S.pidf + fi * L.sel_pidf.size;
      const F = L.sel_pidf.fields;
      const id = selId(gen, slot, si, Filt.PID + fi);
      v.writeUInt8(SetOp[f.operator], fo + F.op);
      for (const pid of f.values) out.u32Set.push(u32Key(id, pid));
      if (f.namespacePid) {
        v.writeUInt8(1, fo + F.ns);
        if (f.followForks) {
          // The kernel walks real_parent comparing each ancestor's own ns pid: no lineage bits, no roots.
          flags |= HookFlag.NSPID_CHAIN;
          v.writeUInt8(1, fo + F.follow);
        } else {
          flags |= HookFlag.NSPID;
        }
      } else if (f.followForks) {
        let mask = 0n;
        for (const pid of f.values) mask |= 1n << BigInt(followBit(pid));
        flags |= HookFlag.FOLLOW;
        v.writeUInt8(1, fo + F.follow);
        v.writeBigUInt64LE(mask, fo + F.follow_mask);
      }
    });

    sel.matchNamespaces.forEach((f, fi) => {
      const fo = so + S.nsf + fi * L.sel_nsf.size;
      const id = selId(gen, slot, si, Filt.NS + fi);
      flags |= HookFlag.NS;
      v.writeUInt8(NsKind[f.namespace], fo + L.sel_nsf.fields.kind);
      v.writeUInt8(SetOp[f.operator], fo + L.sel_nsf.fields.op);
      for (const inum of f.values) out.u32Set.push(u32Key(id, inum));
    });

    sel.matchCapabilities.forEach((f, fi) => {
      const fo = so + S.capf + fi * L.sel_capf.size;
      flags |= HookFlag.CRED;
      v.writeUInt8(CapType[f.type], fo + L.sel_capf.fields.type);
      v.writeUInt8(SetOp[f.operator], fo + L.sel_capf.fields.op);
      v.writeBigUInt64LE(f.mask, fo + L.sel_capf.fields.mask);
    });

    const ao = so + S.action;
    const A = L.sel_action.fields;
    v.writeUInt8(sel.action.post ? 1 : 0, ao + A.post);
    v.writeUInt8(sel.action.signal, ao + A.sig);
    v.writeUInt8(RateScope[sel.action.rateLimitScope], ao + A.rl_scope);
    v.writeBigUInt64LE(BigInt(sel.action.rateLimitMs) * 1_000_000n, ao + A.rl_ns);
  });
  v.writeUInt32LE(flags, H.flags);

  const key = Buffer.alloc(4);
  key.writeUInt32LE(hookIndex(gen, slot));
  return { key, value: v };
}

/** struct sel_nr for one syscall number: this generation's chain, the other generation's kept. */
export function encodeNr(prev: Buffer | null, gen: number, chain: { slots: number[]; exit: boolean } | undefined): Buffer {
  const N = L.sel_nr.fields;
  const v = Buffer.alloc(L.sel_nr.size);
  if (prev) prev.copy(v, 0, 0, L.sel_nr.size);
  else for (let i = 0; i < SEL.MAX_CHAIN * 2; i++) v.writeUInt16LE(SEL.NO_SLOT, N.slots + i * 2);
  for (let i = 0; i < SEL.MAX_CHAIN; i++) {
    v.writeUInt16LE(chain?.slots[i] ?? SEL.NO_SLOT, N.slots + (gen * SEL.MAX_CHAIN + i) * 2);
  }
  v.writeUInt8(chain?.exit ? 1 : 0, N.exit + gen);
  return v;
}

/** Whether generation gen of a struct sel_nr has any slot. */
export function nrUsed(v: Buffer, gen: number): boolean {
  return v.readUInt16LE(L.sel_nr.fields.slots + gen * SEL.MAX_CHAIN * 2) !== SEL.NO_SLOT;
}
