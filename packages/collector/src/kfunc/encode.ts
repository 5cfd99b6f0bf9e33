// Encoding KfuncHooks for one generation: the selector tables and value sets through the syscall
// backend's encoder (each hook's argument slots play the syscall arguments), then what is this
// backend's own — struct kf_hook per policy hook, struct kf_site per attached program, the CIDR keys.
import { encodeGeneration, type EncodedGeneration } from '../syscall/encode.js';
import { ArgKind, Filt, SEL, SEL_LAYOUTS, hookIndex, selId } from '../syscall/layout.js';
import type { SyscallHook } from '../syscall/types.js';
import { addrKey } from '../lsm/encode.js';
import { KF, KF_LAYOUTS as L, KfKind, KfSrc, type KfKindName } from './layout.js';
import type { KfuncHook } from './types.js';

export interface EncodedKfuncGeneration extends EncodedGeneration {
  /** kf_hooks: SEL_HOOK_IDX(gen, slot) → struct kf_hook. */
  ext: { key: Buffer; value: Buffer }[];
  /** site → policy hook slots, in evaluation order. */
  siteChains: Map<number, number[]>;
}

export class KfuncEncodeError extends Error {
  override readonly name = 'KfuncEncodeError';
}

/** The syscall-shaped hook the shared encoder takes (nr: the slot, so no chain limit applies). */
export function asSelectorHook(h: KfuncHook, slot: number): SyscallHook {
  return {
    id: h.id,
    policy: h.policy,
    syscall: h.call,
    nr: slot,
    return: h.return,
    args: h.slots.map((s, i) => ({ index: i, type: s.type })),
    selectors: h.selectors,
    monitor: h.monitor,
  };
}

/**
 * `site(hook)` gives the site each hook's function is attached at; followBit, fcBit the lineage bits of
 * followForks pids and followChildren value lists (ProcessTables).
 */
export function encodeKfuncGeneration(
  hooks: KfuncHook[],
  gen: number,
  followBit: (pid: number) => number,
  site: (h: KfuncHook) => number,
  fcBit?: (key: string) => number,
): EncodedKfuncGeneration {
  const enc = encodeGeneration(hooks.map((h, slot) => asSelectorHook(h, slot)), gen, followBit, fcBit);
  const out: EncodedKfuncGeneration = { ...enc, ext: [], siteChains: new Map() };
  const F = L.kf_hook.fields;
  hooks.forEach((h, slot) => {
    const s = site(h);
    const chain = out.siteChains.get(s) ?? [];
    if (chain.length >= KF.MAX_CHAIN) throw new KfuncEncodeError(`more than ${KF.MAX_CHAIN} policy hooks on ${h.func} (policy ${h.policy})`);
    chain.push(slot);
    out.siteChains.set(s, chain);
    const v = Buffer.alloc(L.kf_hook.size);
    v.writeUInt32LE(s, F.site);
    h.slots.forEach((sl, i) => {
      v.writeUInt8(KfSrc[sl.src], F.src + i);
      v.writeUInt8(sl.index, F.idx + i);
      v.writeUInt8(sl.lenIndex ?? 0, F.len_idx + i);
    });
    h.errors.forEach((e, si) => v.writeInt32LE(e, F.err + si * 4));
    // A char_buf slot: the program read it (kind PREBUF), and its record slot carries the length first.
    const hv = out.hooks[slot]!.value;
    h.slots.forEach((sl, i) => {
      if (sl.src === 'BUF') hv.writeUInt8(ArgKind.PREBUF, SEL_LAYOUTS.sel_hook.fields.args + i * SEL_LAYOUTS.sel_arg.size + SEL_LAYOUTS.sel_arg.fields.kind);
    });
    const key = Buffer.alloc(4);
    key.writeUInt32LE(hookIndex(gen, slot));
    out.ext.push({ key, value: v });
    for (const af of h.addrFilters) {
      const id = selId(gen, slot, af.selector, Filt.ARG + af.filter);
      for (const c of af.cidrs) out.strPrefix.push(addrKey(id, c));
    }
  });
  return out;
}

/** struct kf_site: this generation's slots, the other generation's kept. */
export function encodeSite(prev: Buffer | null, gen: number, kind: KfKindName, ret: boolean, slots: number[] | undefined): Buffer {
  const v = Buffer.alloc(L.kf_site.size, 0xff);
  if (prev) prev.copy(v, 0, 0, L.kf_site.size);
  v.writeUInt32LE(KfKind[kind], L.kf_site.fields.kind);
  v.writeUInt32LE(ret ? 1 : 0, L.kf_site.fields.ret);
  for (let i = 0; i < KF.MAX_CHAIN; i++) v.writeUInt16LE(slots?.[i] ?? SEL.NO_SLOT, L.kf_site.fields.slots + (gen * KF.MAX_CHAIN + i) * 2);
  return v;
}
