// Encoding LsmHooks for one generation: the selector tables and value sets through the syscall
// backend's encoder (each hook's argument slots play the syscall arguments), then what is this
// backend's own — struct lsm_hook per slot, struct lsm_chain per LSM hook, the DAddr CIDR keys.
import { encodeGeneration, type EncodedGeneration } from '../syscall/encode.js';
import { Filt, LPM_KEY_SIZE, SEL, hookIndex, selId } from '../syscall/layout.js';
import type { SyscallHook } from '../syscall/types.js';
import { LSM, LSM_HOOK_MAX, LSM_LAYOUTS as L, LsmHookId, LsmSrc } from './layout.js';
import type { LsmHook } from './types.js';

export interface EncodedLsmGeneration extends EncodedGeneration {
  /** lsm_hooks: SEL_HOOK_IDX(gen, slot) → struct lsm_hook. */
  ext: { key: Buffer; value: Buffer }[];
  /** enum lsm_hook_id → policy hook slots, in evaluation order. */
  lsmChains: Map<number, number[]>;
}

export class LsmEncodeError extends Error {
  override readonly name = 'LsmEncodeError';
}

const FAMILY_BYTE = { 4: 2, 6: 10 } as const;

/** The LPM key of a CIDR in the address slot: {family, address} bytes, prefix length in bits after the id. */
export function addrKey(id: number, c: { family: 4 | 6; addr: Buffer; prefix: number }): Buffer {
  const k = Buffer.alloc(LPM_KEY_SIZE);
  k.writeUInt32LE(32 + 8 + c.prefix, 0);
  k.writeUInt32LE(id, 4);
  k.writeUInt8(FAMILY_BYTE[c.family], 8);
  c.addr.copy(k, 9);
  return k;
}

/** The syscall-shaped hook the shared encoder takes (nr: the slot, so no chain limit applies). */
export function asSelectorHook(h: LsmHook, slot: number): SyscallHook {
  return {
    id: h.id,
    policy: h.policy,
    syscall: h.hook,
    nr: slot,
    args: h.slots.map((s, i) => ({ index: i, type: s.type })),
    selectors: h.selectors,
    monitor: h.monitor,
  };
}

/** followBit, fcBit: the lineage bits of followForks pids and followChildren value lists (ProcessTables). */
export function encodeLsmGeneration(
  hooks: LsmHook[],
  gen: number,
  followBit: (pid: number) => number,
  fcBit?: (key: string) => number,
): EncodedLsmGeneration {
  const enc = encodeGeneration(hooks.map((h, slot) => asSelectorHook(h, slot)), gen, followBit, fcBit);
  const out: EncodedLsmGeneration = { ...enc, ext: [], lsmChains: new Map() };
  hooks.forEach((h, slot) => {
    const hid = LsmHookId[h.hook];
    const chain = out.lsmChains.get(hid) ?? [];
    if (chain.length >= LSM.MAX_CHAIN) throw new LsmEncodeError(`more than ${LSM.MAX_CHAIN} policy hooks on ${h.hook} (policy ${h.policy})`);
    chain.push(slot);
    out.lsmChains.set(hid, chain);
    const v = Buffer.alloc(L.lsm_hook.size);
    const F = L.lsm_hook.fields;
    v.writeUInt32LE(hid, F.hook);
    h.slots.forEach((s, i) => {
      v.writeUInt8(LsmSrc[s.src], F.src + i);
      v.writeUInt8(s.index, F.idx + i);
    });
    h.errors.forEach((e, si) => v.writeInt32LE(e, F.err + si * 4));
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

/** struct lsm_chain for one LSM hook: this generation's slots, the other generation's kept. */
export function encodeChain(prev: Buffer | null, gen: number, slots: number[] | undefined): Buffer {
  const v = Buffer.alloc(L.lsm_chain.size, 0xff);
  if (prev) prev.copy(v, 0, 0, L.lsm_chain.size);
  for (let i = 0; i < LSM.MAX_CHAIN; i++) v.writeUInt16LE(slots?.[i] ?? SEL.NO_SLOT, (gen * LSM.MAX_CHAIN + i) * 2);
  return v;
}

export const ALL_LSM_HOOK_IDS = Array.from({ length: LSM_HOOK_MAX - 1 }, (_, i) => i + 1);
