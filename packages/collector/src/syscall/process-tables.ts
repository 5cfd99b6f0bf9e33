// The per-process tables of the selector engine that user space fills, shared by every backend whose
// object includes exe.h and sel_process.h (syscall, tracepoint, bpf_lsm, kfunc): executables of the
// processes older than the backend (sel_exe_map, for matchBinaries and matchParentBinaries), the
// followForks roots and their running descendants (sel_follow_roots, sel_lineage), and followChildren
// (sel_fc_ino, sel_fc_path: the executables of each bit; sel_fc_lineage: the processes already running
// one, and their descendants). The kernel side keeps all of them current from exec/fork/exit on.
import { bpfCall, type BpfObject } from '../native.js';
import type { EncodedGeneration } from './encode.js';
import { SEL, SEL_LAYOUTS as L } from './layout.js';
import { descendantBits, followChildrenSeed, readExecutables, readParents } from './procfs.js';

const BPF_NOEXIST = 1;

/** More followed pids or followChildren value lists than the 64 lineage bits since the backend started. */
export class LineageBitsError extends Error {
  override readonly name = 'LineageBitsError';
}

export class ProcessTables {
  /** sel_exe_map entries written from /proc at start, and those the kernel side had already made. */
  readonly procfs = { seeded: 0, alreadyTracked: 0 };
  /** followForks pid → its sel_lineage bit; followChildren value list → its sel_fc_lineage bit. */
  private readonly followBits = new Map<number, number>();
  private readonly fcBits = new Map<string, number>();

  constructor(private readonly procRoot: string) {}

  /**
   * Executables of the running processes. Call after exec/fork/exit are attached: a process created
   * meanwhile is either seen by the kernel side (its entry wins, BPF_NOEXIST) or found by the walk.
   */
  seedExecutables(obj: BpfObject): void {
    for (const { pid, value } of readExecutables(this.procRoot)) {
      try {
        obj.mapUpdate('sel_exe_map', u32(pid), value, BPF_NOEXIST);
        this.procfs.seeded++;
      } catch (e) {
        if ((e as { code?: string }).code !== 'EEXIST') throw e;
        this.procfs.alreadyTracked++;
      }
    }
  }

  /** The sel_lineage bit of a followForks pid (kept for the backend's life: lineage lives in per-process state). */
  readonly followBit = (pid: number): number => {
    const bit = this.followBits.get(pid);
    if (bit !== undefined) return bit;
    if (this.followBits.size >= SEL.FOLLOW_ROOTS) {
      throw new LineageBitsError(`matchPIDs followForks: more than ${SEL.FOLLOW_ROOTS} distinct followed pids since the backend started (restart it to reset)`);
    }
    this.followBits.set(pid, this.followBits.size);
    return this.followBits.size - 1;
  };

  /** The sel_fc_lineage bit of a followChildren value list (by followChildrenKey; kept likewise). */
  readonly fcBit = (key: string): number => {
    const bit = this.fcBits.get(key);
    if (bit !== undefined) return bit;
    if (this.fcBits.size >= 64) {
      throw new LineageBitsError('followChildren: more than 64 distinct value lists since the backend started (restart it to reset)');
    }
    this.fcBits.set(key, this.fcBits.size);
    return this.fcBits.size - 1;
  };

  /**
   * Before a generation goes live: followForks roots and what /proc says descends from them, and each
   * followChildren bit's executables and the processes (and descendants) already running them. Bits
   * are never reused while the backend runs, so entries are only ever added (ORed): a process marked
   * stays marked whatever later applies do, as its descendants are.
   */
  write(obj: BpfObject, enc: Pick<EncodedGeneration, 'fc'>): void {
    const or = (map: string, key: Buffer, bits: bigint): void => {
      const prev = obj.mapLookup(map, key);
      const v = Buffer.alloc(8);
      v.writeBigUInt64LE(bits | (prev ? prev.readBigUInt64LE(0) : 0n));
      bpfCall(() => obj.mapUpdate(map, key, v, 0));
    };
    if (this.followBits.size > 0) {
      for (const [pid, bit] of this.followBits) {
        const v = Buffer.alloc(8);
        v.writeBigUInt64LE(1n << BigInt(bit));
        bpfCall(() => obj.mapUpdate('sel_follow_roots', u32(pid), v, 0));
      }
      for (const [pid, b] of descendantBits(readParents(this.procRoot), this.followBits)) or('sel_lineage', u32(pid), b);
    }
    if (enc.fc.size === 0) return;
    for (const [bit, values] of enc.fc) {
      const b = 1n << BigInt(bit);
      for (const v of values) {
        if (v.dev !== undefined && v.ino !== undefined) or('sel_fc_ino', inoKey(v.dev, v.ino), b);
        const path = Buffer.from(v.path);
        if (path.length <= SEL.STR_MAX - 1) or('sel_fc_path', strKey(path), b);
      }
    }
    for (const [pid, bits] of followChildrenSeed(this.procRoot, enc.fc)) or('sel_fc_lineage', u32(pid), bits);
  }

  /** At stop: the maps are gone with the object, so are the bits. */
  reset(): void {
    this.followBits.clear();
    this.fcBits.clear();
  }
}

function inoKey(dev: number, ino: bigint): Buffer {
  const k = Buffer.alloc(L.sel_ino_key.size);
  k.writeUInt32LE(dev, L.sel_ino_key.fields.dev);
  k.writeBigUInt64LE(ino, L.sel_ino_key.fields.ino);
  return k;
}

function strKey(bytes: Buffer): Buffer {
  const k = Buffer.alloc(L.sel_strbuf.size);
  k.writeUInt32LE(bytes.length, L.sel_strbuf.fields.hdr);
  bytes.copy(k, L.sel_strbuf.fields.s);
  return k;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}
