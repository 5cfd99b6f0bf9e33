// Faster, byte-identical replacements for two of kafkajs's internal encoders, installed into Node's module
// cache before kafkajs loads them (its produce and fetch request modules are required lazily, on the
// first request).
//
// Why: per record of the sink (~1.7 KB value, 7 CloudEvents headers) kafkajs 2.2.4 spent ~12 µs in its
// record encoder (a zero-filled 512-byte Encoder per record and per header, grown by doubling, a
// `Buffer.from([...])` per varint, Long arithmetic for the timestamp delta) and ~4 µs in its CRC-32C (a
// byte at a time) — ~40 % of the Node CPU a record cost. The replacements: one exactly-sized buffer per
// record, and CRC-32C sliced by 8. Record shapes outside the fast path (array or null header values,
// non-string/Buffer keys or values, timestamp deltas beyond 32 bits) go to kafkajs's own encoder.
//
// Only for the kafkajs version they were written against (2.2.4, its last release): another version, or
// kafkajs's modules already loaded, leaves kafkajs as it is and says why (kafkaFastEncoding()).
// fast-encoding.test.ts compares both with kafkajs's originals on thousands of random records.
import { createRequire, Module } from 'node:module';
import { dirname } from 'node:path';

const require = createRequire(import.meta.url);
export const KAFKAJS_VERSION = '2.2.4';
const RECORD_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0/index.js';
const CRC_MODULE = 'kafkajs/src/protocol/recordBatch/crc32C/index.js';

// ---- CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), slicing by 8 ----

const CRC_TABLES = ((): Int32Array[] => {
  const t = Array.from({ length: 8 }, () => new Int32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[0]![n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[0]![n]!;
    for (let k = 1; k < 8; k++) {
      c = t[0]![c & 0xff]! ^ (c >>> 8);
      t[k]![n] = c;
    }
  }
  return t;
})();

/** CRC-32C of the buffer, as an unsigned 32-bit number (what kafkajs's crc32C returns). */
export function crc32c(buf: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
  let crc = -1;
  let i = 0;
  const end8 = buf.length - (buf.length % 8);
  for (; i < end8; i += 8) {
    const a = crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    crc =
      t7[a & 0xff]! ^ t6[(a >>> 8) & 0xff]! ^ t5[(a >>> 16) & 0xff]! ^ t4[a >>> 24]! ^
      t3[buf[i + 4]!]! ^ t2[buf[i + 5]!]! ^ t1[buf[i + 6]!]! ^ t0[buf[i + 7]!]!;
  }
  for (; i < buf.length; i++) crc = t0[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

// ---- Record v0 (KIP-98): Length, Attributes, TimestampDelta, OffsetDelta, Key, Value, Headers ----

interface RecordArgs {
  offsetDelta?: number;
  timestampDelta?: unknown;
  key?: unknown;
  value?: unknown;
  headers?: Record<string, unknown>;
}
/** What kafkajs's record batch encoder reads from an encoded record. */
interface EncodedRecord {
  buf: Buffer;
  buffer: Buffer;
}
type RecordFn = (args: RecordArgs) => EncodedRecord;

const INT32 = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= -0x80000000 && n <= 0x7fffffff;
const zigzag = (n: number): number => ((n << 1) ^ (n >> 31)) >>> 0;
function varintSize(u: number): number {
  let size = 1;
  while (u >= 0x80) {
    u = Math.floor(u / 128);
    size++;
  }
  return size;
}
function writeVarint(buf: Buffer, off: number, u: number): number {
  while (u >= 0x80) {
    buf[off++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[off++] = u;
  return off;
}
/** A key or value: null (length -1), a Buffer, or a string (UTF-8). Anything else: not on the fast path. */
const bytesOk = (v: unknown): boolean => v == null || typeof v === 'string' || Buffer.isBuffer(v);
const byteLength = (v: unknown): number => (v == null ? -1 : Buffer.isBuffer(v) ? v.length : Buffer.byteLength(v as string, 'utf8'));
function writeBytes(buf: Buffer, off: number, v: unknown, len: number): number {
  off = writeVarint(buf, off, zigzag(len));
  if (len <= 0) return off;
  if (Buffer.isBuffer(v)) return off + v.copy(buf, off);
  return off + buf.write(v as string, off, len, 'utf8');
}

/** kafkajs's Record, with the sink's record shapes encoded in one exactly-sized buffer. */
export function fastRecord(original: RecordFn): RecordFn {
  return (args) => {
    const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = args;
    if (!INT32(offsetDelta) || !INT32(timestampDelta) || !bytesOk(key) || !bytesOk(value)) return original(args);
    const names = Object.keys(headers);
    let size = 1 + varintSize(zigzag(timestampDelta)) + varintSize(zigzag(offsetDelta));
    const keyLen = byteLength(key);
    const valueLen = byteLength(value);
    size += varintSize(zigzag(keyLen)) + Math.max(0, keyLen) + varintSize(zigzag(valueLen)) + Math.max(0, valueLen);
    size += varintSize(zigzag(names.length));
    const lens: number[] = [];
    for (const name of names) {
      const v = headers[name];
      if (typeof v !== 'string' && !Buffer.isBuffer(v)) return original(args); // arrays, null: kafkajs's own
      const nameLen = Buffer.byteLength(name, 'utf8');
      const vLen = byteLength(v);
      lens.push(nameLen, vLen);
      size += varintSize(zigzag(nameLen)) + nameLen + varintSize(zigzag(vLen)) + vLen;
    }
    const buf = Buffer.allocUnsafe(varintSize(zigzag(size)) + size);
    let off = writeVarint(buf, 0, zigzag(size));
    buf[off++] = 0; // attributes
    off = writeVarint(buf, off, zigzag(timestampDelta));
    off = writeVarint(buf, off, zigzag(offsetDelta));
    off = writeBytes(buf, off, key, keyLen);
    off = writeBytes(buf, off, value, valueLen);
    off = writeVarint(buf, off, zigzag(names.length));
    for (let i = 0; i < names.length; i++) {
      off = writeBytes(buf, off, names[i], lens[2 * i]!);
      off = writeBytes(buf, off, headers[names[i]!], lens[2 * i + 1]!);
    }
    return { buf, buffer: buf };
  };
}

// ---- installation ----

export interface FastEncodingStatus {
  installed: boolean;
  /** Why not, when not. */
  reason?: string;
}

/** Puts a module into Node's CommonJS cache, so that require(path) returns `exports` without loading the file. */
function preload(path: string, exports: unknown): void {
  const m = new Module(path);
  m.filename = path;
  m.loaded = true;
  m.exports = exports;
  (m as unknown as { paths: string[] }).paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(path));
  require.cache[path] = m;
}

let status: FastEncodingStatus | undefined;

/** Installs the fast encoders once (idempotent); the status says whether kafkajs uses them. */
export function kafkaFastEncoding(): FastEncodingStatus {
  status ??= install();
  return status;
}

function install(): FastEncodingStatus {
  try {
    const version = (require('kafkajs/package.json') as { version: string }).version;
    if (version !== KAFKAJS_VERSION) return { installed: false, reason: `kafkajs ${version} is not ${KAFKAJS_VERSION}, the version the fast encoders mirror` };
    const recordPath = require.resolve(RECORD_MODULE);
    const crcPath = require.resolve(CRC_MODULE);
    if (require.cache[recordPath] !== undefined || require.cache[crcPath] !== undefined) {
      return { installed: false, reason: 'kafkajs had already loaded its record encoder' };
    }
    // kafkajs's own record encoder, loaded from its file under another cache key, for the shapes off the fast path.
    const original = new Module(`${recordPath}#original`);
    original.filename = recordPath;
    (original as unknown as { paths: string[] }).paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(recordPath));
    (original as unknown as { _compile(src: string, file: string): void })._compile(
      (require('node:fs') as typeof import('node:fs')).readFileSync(recordPath, 'utf8'),
      recordPath,
    );
    preload(recordPath, fastRecord(original.exports as RecordFn));
    preload(crcPath, crc32c);
    return { installed: true };
  } catch (err) {
    return { installed: false, reason: `could not install: ${err instanceof Error ? err.message : String(err)}` };
  }
}
