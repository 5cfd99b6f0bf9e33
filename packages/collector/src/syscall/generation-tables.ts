// The selector engine's tables are written in two generations: an apply fills the inactive one while
// the kernel reads the live one, then flips. This holds which keys each generation wrote, per map, so
// that the next apply into that generation first removes them (hash maps: deleted; array maps: zeroed),
// and checks capacity next to the live generation. Shared by the syscall, BPF LSM and kernel-function
// backends (each adds its own extension table to the selector engine's maps).
import { bpfCall, type BpfObject } from '../native.js';
import type { EncodedGeneration } from './encode.js';
import { SEL, SEL_LAYOUTS as L } from './layout.js';

/** The selector engine's maps every backend writes: value sets (key → 1) and sel_hooks. */
export type SelMap = 'sel_str_eq' | 'sel_str_prefix' | 'sel_str_postfix' | 'sel_int_set' | 'sel_bin_ino' | 'sel_u32_set' | 'sel_hooks';

export const SEL_MAP_CAPACITY: Record<SelMap, number> = {
  sel_str_eq: SEL.SET_ENTRIES, sel_str_prefix: SEL.SET_ENTRIES, sel_str_postfix: SEL.SET_ENTRIES, sel_int_set: SEL.SET_ENTRIES,
  sel_bin_ino: SEL.BIN_INO_ENTRIES, sel_u32_set: SEL.SET_ENTRIES, sel_hooks: 2 * SEL.MAX_HOOKS,
};

/** What encodeGeneration produced for the selector engine's maps. */
export type EncodedSelTables = Pick<EncodedGeneration, 'strEq' | 'strPrefix' | 'strPostfix' | 'intSet' | 'binIno' | 'u32Set' | 'hooks'>;

/** One generation's writes: value sets (key → 1) and tables (key → value). */
export interface GenerationWrite<M extends string> {
  sets: [M, Buffer[]][];
  tables: [M, { key: Buffer; value: Buffer }[]][];
}

const ONE = Buffer.from([1]);

/** The selector engine's part of a generation; a backend appends its own extension table. */
export function selWrite(enc: EncodedSelTables): GenerationWrite<SelMap> {
  return {
    sets: [
      ['sel_str_eq', enc.strEq], ['sel_str_prefix', enc.strPrefix], ['sel_str_postfix', enc.strPostfix],
      ['sel_int_set', enc.intSet], ['sel_bin_ino', enc.binIno], ['sel_u32_set', enc.u32Set],
    ],
    tables: [['sel_hooks', enc.hooks]],
  };
}

export class GenerationTables<M extends string> {
  #written: Map<M, Buffer[]>[] = [new Map(), new Map()];

  /**
   * capacity: entries per map. arrays: the array maps (value size), whose entries are zeroed instead of
   * deleted.
   */
  constructor(
    private readonly capacity: Record<M, number>,
    private readonly arrays: Partial<Record<M, number>>,
  ) {}

  /** A message naming the first map that would overflow next to the live generation, or null. */
  overflow(live: number, w: GenerationWrite<M>): string | null {
    const held = this.#written[live]!;
    for (const [map, keys] of [...w.sets, ...w.tables]) {
      const used = held.get(map)?.length ?? 0;
      if (used + keys.length > this.capacity[map]) {
        return `${map} would need ${keys.length} entries next to the ${used} of the live generation (capacity ${this.capacity[map]})`;
      }
    }
    return null;
  }

  /**
   * Removes what generation `next` held, then writes the sets and the tables. The keys are recorded
   * before writing: those of an apply that fails half-way are removed by the next one.
   */
  write(obj: BpfObject, next: number, w: GenerationWrite<M>): void {
    const stale = this.#written[next]!;
    for (const [map, keys] of stale) {
      const size = this.arrays[map];
      const zero = size !== undefined ? Buffer.alloc(size) : null;
      for (const k of keys) {
        if (zero) obj.mapUpdate(map, k, zero, 0);
        else obj.mapDelete(map, k);
      }
    }
    stale.clear();
    for (const [map, keys] of w.sets) stale.set(map, keys);
    for (const [map, rows] of w.tables) stale.set(map, rows.map((r) => r.key));
    for (const [map, keys] of w.sets) for (const k of keys) bpfCall(() => obj.mapUpdate(map, k, ONE, 0));
    for (const [map, rows] of w.tables) for (const r of rows) bpfCall(() => obj.mapUpdate(map, r.key, r.value, 0));
  }

  /** Entries per map held by generation `gen`. */
  entries(gen: number): Record<M, number> {
    const held = this.#written[gen]!;
    const out = {} as Record<M, number>;
    for (const m of Object.keys(this.capacity) as M[]) out[m] = held.get(m)?.length ?? 0;
    return out;
  }

  reset(): void {
    this.#written = [new Map(), new Map()];
  }
}

/** sel_hooks is an array map: entries are zeroed. */
export const SEL_ARRAYS = { sel_hooks: L.sel_hook.size } as const;
