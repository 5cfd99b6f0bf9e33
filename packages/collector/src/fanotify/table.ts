// The fanotify decision table: the typed mirror of the flat buffer described in
// native/src/fanotify_table.h (keep both in sync). TypeScript compiles policies into it; the native
// responder thread only looks it up: first matching rule wins, no match allows without a report.
//
//   header  u32 version=1 · u32 ruleCount · u32 stringsBytes · u32 flags=0
//   rule    u32 id · u8 event · u8 verdict · u8 monitor · u8 fileOp · u32 fileValueCount ·
//           u8 procOp · u8 report · u16 0 · u32 procValueCount · u32 0   (24 bytes)
//           then fileValueCount + procValueCount values
//   value   u32 kind (1 inode, 2 string) · u32 len · u64 dev|stringOffset · u64 ino|0   (24 bytes)
//   strings section (stringsBytes), the buffer ends there.

export const FANOTIFY_TABLE_VERSION = 1;
export const TABLE_HEADER_BYTES = 16;
export const TABLE_RULE_BYTES = 24;
export const TABLE_VALUE_BYTES = 24;
export const TABLE_MAX_STRING_BYTES = 4096;

export type FanotifyEventKind = 'exec' | 'open';
export const FANOTIFY_EVENT_CODE = { exec: 1, open: 2 } as const;

export const FILE_OP_CODE = { any: 0, inode: 1, equal: 2, prefix: 3, postfix: 4 } as const;
export const PROC_OP_CODE = { any: 0, in: 1, notIn: 2, prefix: 3, notPrefix: 4, postfix: 5, notPostfix: 6 } as const;
export type FileOp = keyof typeof FILE_OP_CODE;
export type ProcOp = keyof typeof PROC_OP_CODE;

/** (st_dev, st_ino) as userspace sees them (fs.statSync(p, { bigint: true })). */
export interface InodeRef {
  dev: bigint;
  ino: bigint;
}

/** An inode matches by (dev, ino); a string by the rule's op against the path. */
export type FanotifyValue = { kind: 'inode'; dev: bigint; ino: bigint } | { kind: 'string'; value: string };

/**
 * One rule of the table, evaluated in order. The file condition matches every file (op 'any'), or a
 * file whose (dev, ino) is one of the inode values OR whose path equals / starts with / ends with one
 * of the string values ('inode' takes inode values only). The process condition looks at the
 * accessing process's executable: 'in'/'notIn' compare (dev, ino) with inode values and the path
 * with string values for equality; the prefix/postfix ops (and their negations) take strings only.
 */
export interface FanotifyRule {
  id: number;
  event: FanotifyEventKind;
  verdict: 'allow' | 'deny';
  /** Report what a deny rule would deny, but allow it. */
  monitor?: boolean;
  /** Report a match even when the verdict is allow (deny and monitor matches are always reported). */
  report?: boolean;
  file: { op: FileOp; values?: FanotifyValue[] };
  proc?: { op: ProcOp; values?: FanotifyValue[] };
}

const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;

function fail(where: string, why: string): never {
  throw new RangeError(`fanotify table: ${where}: ${why}`);
}

function checkValues(where: string, values: FanotifyValue[], op: number, inodesAllowed: boolean, stringsAllowed: boolean): void {
  if ((op === 0) !== (values.length === 0)) {
    fail(where, op === 0 ? "op 'any' takes no values" : 'at least one value is needed');
  }
  for (const v of values) {
    if (v.kind === 'inode') {
      if (!inodesAllowed) fail(where, 'this op takes strings only');
      if (v.dev < 0n || v.dev > U64_MAX || v.ino < 0n || v.ino > U64_MAX) fail(where, 'dev/ino out of u64 range');
    } else {
      if (!stringsAllowed) fail(where, 'this op takes inode values only');
      const n = Buffer.byteLength(v.value, 'utf8');
      if (n === 0 || n > TABLE_MAX_STRING_BYTES) fail(where, `string length ${n} is not 1..${TABLE_MAX_STRING_BYTES}`);
      if (v.value.includes('\0')) fail(where, 'string contains a NUL byte');
    }
  }
}

/** Builds the flat table (checked here with the same rules the native side enforces). */
export function encodeFanotifyTable(rules: FanotifyRule[]): Buffer {
  const strings: Buffer[] = [];
  const stringOffsets = new Map<string, number>();
  let stringsBytes = 0;
  const stringOffset = (s: string): number => {
    let off = stringOffsets.get(s);
    if (off === undefined) {
      off = stringsBytes;
      const b = Buffer.from(s, 'utf8');
      strings.push(b);
      stringsBytes += b.length;
      stringOffsets.set(s, off);
    }
    return off;
  };

  let rulesBytes = 0;
  rules.forEach((r, i) => {
    const where = `rule ${i} (id ${r.id})`;
    if (!Number.isInteger(r.id) || r.id < 0 || r.id > U32_MAX) fail(where, 'id must be a u32');
    const fileOp = FILE_OP_CODE[r.file.op];
    const procOp = PROC_OP_CODE[r.proc?.op ?? 'any'];
    if (fileOp === undefined) fail(where, `unknown file op ${String(r.file.op)}`);
    if (procOp === undefined) fail(where, `unknown process op ${String(r.proc?.op)}`);
    checkValues(`${where} file`, r.file.values ?? [], fileOp, true, fileOp !== FILE_OP_CODE.inode);
    checkValues(`${where} process`, r.proc?.values ?? [], procOp, procOp <= PROC_OP_CODE.notIn, true);
    rulesBytes += TABLE_RULE_BYTES + TABLE_VALUE_BYTES * ((r.file.values?.length ?? 0) + (r.proc?.values?.length ?? 0));
  });

  // Strings first (their offsets go into the values), then the buffer in one piece.
  for (const r of rules) for (const v of [...(r.file.values ?? []), ...(r.proc?.values ?? [])]) if (v.kind === 'string') stringOffset(v.value);
  const buf = Buffer.alloc(TABLE_HEADER_BYTES + rulesBytes + stringsBytes);
  buf.writeUInt32LE(FANOTIFY_TABLE_VERSION, 0);
  buf.writeUInt32LE(rules.length, 4);
  buf.writeUInt32LE(stringsBytes, 8);
  buf.writeUInt32LE(0, 12);
  let off = TABLE_HEADER_BYTES;
  const writeValue = (v: FanotifyValue): void => {
    if (v.kind === 'inode') {
      buf.writeUInt32LE(1, off);
      buf.writeBigUInt64LE(v.dev, off + 8);
      buf.writeBigUInt64LE(v.ino, off + 16);
    } else {
      buf.writeUInt32LE(2, off);
      buf.writeUInt32LE(Buffer.byteLength(v.value, 'utf8'), off + 4);
      buf.writeBigUInt64LE(BigInt(stringOffset(v.value)), off + 8);
    }
    off += TABLE_VALUE_BYTES;
  };
  for (const r of rules) {
    const fileValues = r.file.values ?? [];
    const procValues = r.proc?.values ?? [];
    buf.writeUInt32LE(r.id, off);
    buf.writeUInt8(FANOTIFY_EVENT_CODE[r.event], off + 4);
    buf.writeUInt8(r.verdict === 'deny' ? 1 : 0, off + 5);
    buf.writeUInt8(r.monitor ? 1 : 0, off + 6);
    buf.writeUInt8(FILE_OP_CODE[r.file.op], off + 7);
    buf.writeUInt32LE(fileValues.length, off + 8);
    buf.writeUInt8(PROC_OP_CODE[r.proc?.op ?? 'any'], off + 12);
    buf.writeUInt8(r.report ? 1 : 0, off + 13);
    buf.writeUInt32LE(procValues.length, off + 16);
    off += TABLE_RULE_BYTES;
    fileValues.forEach(writeValue);
    procValues.forEach(writeValue);
  }
  Buffer.concat(strings).copy(buf, off);
  return buf;
}

const FILE_OP_NAME = Object.fromEntries(Object.entries(FILE_OP_CODE).map(([k, v]) => [v, k])) as Record<number, FileOp>;
const PROC_OP_NAME = Object.fromEntries(Object.entries(PROC_OP_CODE).map(([k, v]) => [v, k])) as Record<number, ProcOp>;

/**
 * Reads a table back (for diagnostics and tests). Structural checks only: the native side's
 * validation is the authority.
 */
export function decodeFanotifyTable(buf: Buffer): FanotifyRule[] {
  if (buf.length < TABLE_HEADER_BYTES) fail('header', 'truncated');
  if (buf.readUInt32LE(0) !== FANOTIFY_TABLE_VERSION) fail('header', `version ${buf.readUInt32LE(0)}`);
  const count = buf.readUInt32LE(4);
  const stringsBytes = buf.readUInt32LE(8);
  const stringsAt = buf.length - stringsBytes;
  if (stringsAt < TABLE_HEADER_BYTES) fail('header', 'stringsBytes exceeds the buffer');
  let off = TABLE_HEADER_BYTES;
  const readValue = (): FanotifyValue => {
    if (off + TABLE_VALUE_BYTES > stringsAt) fail(`byte ${off}`, 'value overruns the rules section');
    const kind = buf.readUInt32LE(off);
    const len = buf.readUInt32LE(off + 4);
    const a = buf.readBigUInt64LE(off + 8);
    const b = buf.readBigUInt64LE(off + 16);
    off += TABLE_VALUE_BYTES;
    if (kind === 1) return { kind: 'inode', dev: a, ino: b };
    if (kind !== 2) fail(`byte ${off - TABLE_VALUE_BYTES}`, `value kind ${kind}`);
    const start = stringsAt + Number(a);
    if (start + len > buf.length) fail(`byte ${off - TABLE_VALUE_BYTES}`, 'string outside the strings section');
    return { kind: 'string', value: buf.toString('utf8', start, start + len) };
  };
  const rules: FanotifyRule[] = [];
  for (let i = 0; i < count; i++) {
    if (off + TABLE_RULE_BYTES > stringsAt) fail(`rule ${i}`, 'truncated');
    const id = buf.readUInt32LE(off);
    const event = buf.readUInt8(off + 4) === 1 ? 'exec' : 'open';
    const verdict = buf.readUInt8(off + 5) === 1 ? 'deny' : 'allow';
    const monitor = buf.readUInt8(off + 6) === 1;
    const fileOp = FILE_OP_NAME[buf.readUInt8(off + 7)] ?? fail(`rule ${i}`, 'bad fileOp');
    const fileCount = buf.readUInt32LE(off + 8);
    const procOp = PROC_OP_NAME[buf.readUInt8(off + 12)] ?? fail(`rule ${i}`, 'bad procOp');
    const report = buf.readUInt8(off + 13) === 1;
    const procCount = buf.readUInt32LE(off + 16);
    off += TABLE_RULE_BYTES;
    const fileValues = Array.from({ length: fileCount }, readValue);
    const procValues = Array.from({ length: procCount }, readValue);
    rules.push({
      id,
      event,
      verdict,
      monitor,
      report,
      file: fileCount ? { op: fileOp, values: fileValues } : { op: fileOp },
      proc: procCount ? { op: procOp, values: procValues } : { op: procOp },
    });
  }
  if (off !== stringsAt) fail(`byte ${off}`, 'rules end before the strings section');
  return rules;
}
