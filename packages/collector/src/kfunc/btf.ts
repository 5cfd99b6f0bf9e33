// The kernel's BTF (/sys/kernel/btf/vmlinux, raw BTF), read just far enough to answer what a raw
// tracepoint passes: the typedef btf_trace_<event> is a pointer to a function prototype whose first
// parameter is the tracepoint's hidden `void *__data` and the rest its TP_PROTO arguments. A tp_btf
// program's ctx holds those arguments as u64s in order; this says what each one is (an integer of which
// size and signedness, a pointer to which struct…) so that the compiler can check a policy's types.
import { readFileSync } from 'node:fs';

export const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';

/** What one argument is, with typedefs, const and volatile looked through. */
export type BtfShape =
  | { kind: 'int'; size: number; signed: boolean }
  /** `to`: the pointee as C spells it (`struct file`, `char`, `void`); `struct` its struct/union name. */
  | { kind: 'pointer'; to: string; struct?: string; byte: boolean }
  | { kind: 'other' };

export interface BtfParam {
  /** The argument's declaration as C spells it, e.g. `struct linux_binprm *`, `pid_t`. */
  decl: string;
  shape: BtfShape;
}

export interface KernelBtf {
  /** The TP_PROTO arguments of a raw tracepoint, or null when the kernel has no such tracepoint. */
  rawTracepoint(event: string): BtfParam[] | null;
}

/** BTF_KIND_* (include/uapi/linux/btf.h). */
const Kind = {
  INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10, RESTRICT: 11,
  FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;
const BTF_MAGIC = 0xeb9f;
const INT_SIGNED = 1;

export class BtfFormatError extends Error {
  override readonly name = 'BtfFormatError';
}

/** Raw BTF in a buffer: type offsets indexed once, names and shapes resolved on demand. */
export class RawBtf implements KernelBtf {
  private readonly types: number;
  private readonly strs: number;
  private readonly strLen: number;
  /** offsets[id] = where type id's struct btf_type starts (id 0 is void). */
  private readonly offsets: Uint32Array;

  constructor(private readonly buf: Buffer) {
    if (buf.length < 24 || buf.readUInt16LE(0) !== BTF_MAGIC) throw new BtfFormatError('not raw BTF (bad magic; big-endian BTF is not supported)');
    const hdrLen = buf.readUInt32LE(4);
    this.types = hdrLen + buf.readUInt32LE(8);
    const typeLen = buf.readUInt32LE(12);
    this.strs = hdrLen + buf.readUInt32LE(16);
    this.strLen = buf.readUInt32LE(20);
    if (this.types + typeLen > buf.length || this.strs + this.strLen > buf.length) throw new BtfFormatError('truncated BTF');
    const offs: number[] = [0];
    for (let o = this.types; o < this.types + typeLen;) {
      offs.push(o);
      o += 12 + this.extra(o);
    }
    this.offsets = Uint32Array.from(offs);
  }

  /** Bytes following struct btf_type for the type at o. */
  private extra(o: number): number {
    const info = this.buf.readUInt32LE(o + 4);
    const vlen = info & 0xffff;
    switch ((info >>> 24) & 0x1f) {
      case Kind.INT: case Kind.VAR: case Kind.DECL_TAG: return 4;
      case Kind.ARRAY: return 12;
      case Kind.STRUCT: case Kind.UNION: case Kind.DATASEC: case Kind.ENUM64: return 12 * vlen;
      case Kind.ENUM: case Kind.FUNC_PROTO: return 8 * vlen;
      default: return 0;
    }
  }

  private kind(id: number): number {
    return (this.buf.readUInt32LE(this.offsets[id]! + 4) >>> 24) & 0x1f;
  }

  private name(id: number): string {
    return this.str(this.buf.readUInt32LE(this.offsets[id]!));
  }

  private str(off: number): string {
    const start = this.strs + off;
    return this.buf.toString('latin1', start, this.buf.indexOf(0, start));
  }

  /** The type a modifier, typedef or pointer refers to. */
  private ref(id: number): number {
    return this.buf.readUInt32LE(this.offsets[id]! + 8);
  }

  private valid(id: number): boolean {
    return id > 0 && id < this.offsets.length;
  }

  /** The id of the named type of that kind, or 0. */
  private find(kind: number, name: string): number {
    const needle = Buffer.from(`\0${name}\0`, 'latin1');
    const at = this.buf.subarray(this.strs, this.strs + this.strLen).indexOf(needle);
    if (at < 0) return 0;
    const nameOff = at + 1;
    for (let id = 1; id < this.offsets.length; id++) {
      const o = this.offsets[id]!;
      if (this.buf.readUInt32LE(o) === nameOff && ((this.buf.readUInt32LE(o + 4) >>> 24) & 0x1f) === kind) return id;
    }
    return 0;
  }

  /** Through typedefs and qualifiers. */
  private strip(id: number): number {
    for (let n = 0; this.valid(id) && n < 32; n++) {
      const k = this.kind(id);
      if (k !== Kind.TYPEDEF && k !== Kind.CONST && k !== Kind.VOLATILE && k !== Kind.RESTRICT && k !== Kind.TYPE_TAG) return id;
      id = this.ref(id);
    }
    return id;
  }

  /** C's spelling of a type (for messages). */
  decl(id: number, depth = 0): string {
    if (!this.valid(id)) return 'void';
    if (depth > 16) return '…';
    const name = this.name(id);
    switch (this.kind(id)) {
      case Kind.PTR: {
        const to = this.decl(this.ref(id), depth + 1);
        return to.endsWith('*') ? `${to}*` : `${to} *`;
      }
      case Kind.CONST: return `const ${this.decl(this.ref(id), depth + 1)}`;
      case Kind.VOLATILE: return `volatile ${this.decl(this.ref(id), depth + 1)}`;
      case Kind.RESTRICT: case Kind.TYPE_TAG: return this.decl(this.ref(id), depth + 1);
      case Kind.STRUCT: return `struct ${name || '(anon)'}`;
      case Kind.UNION: return `union ${name || '(anon)'}`;
      case Kind.ENUM: case Kind.ENUM64: return `enum ${name || '(anon)'}`;
      case Kind.FWD: return `${this.buf.readUInt32LE(this.offsets[id]! + 4) >>> 31 ? 'union' : 'struct'} ${name}`;
      case Kind.FUNC_PROTO: return 'function';
      case Kind.ARRAY: return `${this.decl(this.buf.readUInt32LE(this.offsets[id]! + 12), depth + 1)}[]`;
      default: return name || '(anon)';
    }
  }

  shape(id: number): BtfShape {
    const t = this.strip(id);
    if (!this.valid(t)) return { kind: 'other' };
    const o = this.offsets[t]!;
    switch (this.kind(t)) {
      case Kind.INT: {
        const enc = this.buf.readUInt32LE(o + 12);
        return { kind: 'int', size: this.buf.readUInt32LE(o + 8), signed: ((enc >>> 24) & INT_SIGNED) !== 0 };
      }
      case Kind.ENUM: case Kind.ENUM64:
        return { kind: 'int', size: this.buf.readUInt32LE(o + 8), signed: this.buf.readUInt32LE(o + 4) >>> 31 === 1 };
      case Kind.PTR: {
        const to = this.strip(this.ref(t));
        const k = this.valid(to) ? this.kind(to) : 0;
        const struct = k === Kind.STRUCT || k === Kind.UNION || k === Kind.FWD ? this.name(to) : undefined;
        const byte = !this.valid(to) || (k === Kind.INT && this.buf.readUInt32LE(this.offsets[to]! + 8) === 1);
        return { kind: 'pointer', to: this.decl(to), ...(struct ? { struct } : {}), byte };
      }
      default:
        return { kind: 'other' };
    }
  }

  rawTracepoint(event: string): BtfParam[] | null {
    const td = this.find(Kind.TYPEDEF, `btf_trace_${event}`);
    if (!td) return null;
    const ptr = this.strip(td);
    if (!this.valid(ptr) || this.kind(ptr) !== Kind.PTR) return null;
    const proto = this.ref(ptr);
    if (!this.valid(proto) || this.kind(proto) !== Kind.FUNC_PROTO) return null;
    const o = this.offsets[proto]!;
    const vlen = this.buf.readUInt32LE(o + 4) & 0xffff;
    const params: BtfParam[] = [];
    for (let i = 1; i < vlen; i++) { // 0 is void *__data
      const type = this.buf.readUInt32LE(o + 12 + i * 8 + 4);
      params.push({ decl: this.decl(type), shape: this.shape(type) });
    }
    return params;
  }
}

/** The running kernel's BTF, read on first use; rawTracepoint() is null for all when it cannot be read. */
export class LiveKernelBtf implements KernelBtf {
  private btf: RawBtf | null | undefined;
  private why = '';

  constructor(private readonly path = VMLINUX_BTF) {}

  /** Whether the BTF is readable; if not, why(). */
  available(): boolean {
    if (this.btf === undefined) {
      try {
        this.btf = new RawBtf(readFileSync(this.path));
      } catch (e) {
        this.btf = null;
        this.why = (e as NodeJS.ErrnoException).code === 'ENOENT'
          ? `${this.path} is missing (a kernel built without CONFIG_DEBUG_INFO_BTF)`
          : `${this.path}: ${(e as Error).message}`;
      }
    }
    return this.btf !== null;
  }

  whyUnavailable(): string {
    this.available();
    return this.why;
  }

  rawTracepoint(event: string): BtfParam[] | null {
    return this.available() ? this.btf!.rawTracepoint(event) : null;
  }
}

let live: LiveKernelBtf | null = null;
export function liveKernelBtf(): LiveKernelBtf {
  live ??= new LiveKernelBtf();
  return live;
}
