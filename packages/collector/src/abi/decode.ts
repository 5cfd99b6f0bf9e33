import { DecodeError, type ProcessKey, type RawEvent, type RawExec } from '@peregrine/events';
import { BATCH_RECORD_HEADER, LAYOUTS, MsgOp, NO_ID } from './layout.js';
import { utf8Text } from './text.js';

const C = LAYOUTS.msg_common.fields;
const K = LAYOUTS.msg_key.fields;
const CR = LAYOUTS.msg_cred.fields;
const NS = LAYOUTS.msg_ns.fields;
const E = LAYOUTS.msg_exec.fields;
const CL = LAYOUTS.msg_clone.fields;
const X = LAYOUTS.msg_exit.fields;


export type Decoder = (buf: Buffer, off: number, size: number) => RawEvent;

const decoders = new Map<number, { minSize: number; decode: Decoder }>();

/** Registry, not a switch: each record type registers how it is read. */
export function registerDecoder(op: number, minSize: number, decode: Decoder): void {
  decoders.set(op, { minSize, decode });
}

export function readKey(buf: Buffer, off: number): ProcessKey {
  return { pid: buf.readUInt32LE(off + K.pid), ktime: buf.readBigUInt64LE(off + K.ktime) };
}


/** argv bytes are NUL-separated with a final NUL, except when truncated mid-argument. */
export function splitArgv(buf: Buffer, start: number, len: number): string[] {
  if (len === 0) return [];
  const parts = utf8Text(buf, start, len).split('\0');
  if (buf[start + len - 1] === 0) parts.pop();
  return parts;
}

function decodeExec(buf: Buffer, o: number, size: number): RawExec {
  const pathLen = buf.readUInt16LE(o + E.path_len);
  const cwdLen = buf.readUInt16LE(o + E.cwd_len);
  const argsLen = buf.readUInt16LE(o + E.args_len);
  const cgLen = buf.readUInt16LE(o + E.cgroup_name_len);
  const data = o + LAYOUTS.msg_exec.size;
  if (LAYOUTS.msg_exec.size + pathLen + cwdLen + argsLen + cgLen !== size) {
    throw new DecodeError('bad_size', MsgOp.EXECVE, `exec record of ${size} bytes declares ${pathLen}+${cwdLen}+${argsLen}+${cgLen} data bytes`);
  }
  const parent = readKey(buf, o + E.parent);
  const replaces = readKey(buf, o + E.replaces);
  const cred = o + E.cred;
  const ns = o + E.ns;
  const setuid = buf.readUInt32LE(o + E.setuid);
  const setgid = buf.readUInt32LE(o + E.setgid);
  return {
    kind: 'exec',
    ktime: buf.readBigUInt64LE(o + C.ktime),
    key: readKey(buf, o + E.key),
    parent: parent.pid === 0 ? null : parent,
    replaces: replaces.pid === 0 ? null : replaces,
    tid: buf.readUInt32LE(o + E.tid),
    flags: buf.readUInt32LE(o + E.flags),
    auid: buf.readUInt32LE(o + E.auid),
    creds: {
      uid: buf.readUInt32LE(cred + CR.uid),
      gid: buf.readUInt32LE(cred + CR.gid),
      euid: buf.readUInt32LE(cred + CR.euid),
      egid: buf.readUInt32LE(cred + CR.egid),
      suid: buf.readUInt32LE(cred + CR.suid),
      sgid: buf.readUInt32LE(cred + CR.sgid),
      fsuid: buf.readUInt32LE(cred + CR.fsuid),
      fsgid: buf.readUInt32LE(cred + CR.fsgid),
    },
    caps: {
      permitted: buf.readBigUInt64LE(cred + CR.cap_permitted),
      effective: buf.readBigUInt64LE(cred + CR.cap_effective),
      inheritable: buf.readBigUInt64LE(cred + CR.cap_inheritable),
    },
    ns: {
      uts: buf.readUInt32LE(ns + NS.uts),
      ipc: buf.readUInt32LE(ns + NS.ipc),
      mnt: buf.readUInt32LE(ns + NS.mnt),
      pid: buf.readUInt32LE(ns + NS.pid),
      pid_for_children: buf.readUInt32LE(ns + NS.pid_for_children),
      net: buf.readUInt32LE(ns + NS.net),
      time: buf.readUInt32LE(ns + NS.time),
      time_for_children: buf.readUInt32LE(ns + NS.time_for_children),
      cgroup: buf.readUInt32LE(ns + NS.cgroup),
      user: buf.readUInt32LE(ns + NS.user),
    },
    cgroupId: buf.readBigUInt64LE(o + E.cgroup_id),
    binary: utf8Text(buf, data, pathLen),
    cwd: utf8Text(buf, data + pathLen, cwdLen),
    args: splitArgv(buf, data + pathLen + cwdLen, argsLen),
    cgroupName: utf8Text(buf, data + pathLen + cwdLen + argsLen, cgLen),
    setuid: setuid === NO_ID ? null : setuid,
    setgid: setgid === NO_ID ? null : setgid,
  };
}

registerDecoder(MsgOp.EXECVE, LAYOUTS.msg_exec.size, decodeExec);

registerDecoder(MsgOp.CLONE, LAYOUTS.msg_clone.size, (buf, o) => ({
  kind: 'clone',
  ktime: buf.readBigUInt64LE(o + C.ktime),
  key: readKey(buf, o + CL.key),
  parent: readKey(buf, o + CL.parent),
  tid: buf.readUInt32LE(o + CL.tid),
  flags: buf.readUInt32LE(o + CL.flags),
  cgroupId: buf.readBigUInt64LE(o + CL.cgroup_id),
}));

registerDecoder(MsgOp.EXIT, LAYOUTS.msg_exit.size, (buf, o) => {
  const code = buf.readUInt32LE(o + X.code);
  return {
    kind: 'exit',
    ktime: buf.readBigUInt64LE(o + C.ktime),
    key: readKey(buf, o + X.key),
    tid: buf.readUInt32LE(o + X.tid),
    status: (code >> 8) & 0xff,
    signal: code & 0x7f,
  };
});

export interface DecodeStats {
  records: number;
  unknownOpcode: number;
  badSize: number;
  badRecord: number;
}

export function newDecodeStats(): DecodeStats {
  return { records: 0, unknownOpcode: 0, badSize: 0, badRecord: 0 };
}

/** Decodes one record; a record that cannot be decoded throws a DecodeError. */
export function decodeRecord(buf: Buffer, off: number, len: number): RawEvent {
  if (len < LAYOUTS.msg_common.size) throw new DecodeError('bad_size', -1, `record of ${len} bytes is shorter than its header`);
  const op = buf.readUInt8(off + C.op);
  const size = buf.readUInt32LE(off + C.size);
  const d = decoders.get(op);
  if (!d) throw new DecodeError('unknown_opcode', op, `unknown opcode ${op}`);
  if (size !== len || size < d.minSize) throw new DecodeError('bad_size', op, `opcode ${op}: header says ${size} bytes, record has ${len}`);
  return d.decode(buf, off, size);
}

/**
 * Decodes a batch from a native reader (records framed `[u32 len][u32 0][record][pad to 8]`) with one
 * record decoder. Bad records are counted and skipped (never thrown through the stream): one malformed
 * record must not cost the rest of the batch.
 */
export function decodeFramedBatch<T>(
  batch: Buffer,
  stats: DecodeStats,
  decode: (buf: Buffer, off: number, len: number) => T,
  out: T[] = [],
): T[] {
  let off = 0;
  while (off + BATCH_RECORD_HEADER <= batch.length) {
    const len = batch.readUInt32LE(off);
    const start = off + BATCH_RECORD_HEADER;
    if (start + len > batch.length) {
      stats.badRecord++;
      break;
    }
    stats.records++;
    try {
      out.push(decode(batch, start, len));
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      if (e.kind === 'unknown_opcode') stats.unknownOpcode++;
      else if (e.kind === 'bad_size') stats.badSize++;
      else stats.badRecord++;
    }
    off = start + ((len + 7) & ~7);
  }
  return out;
}

/** The process sensor's batches. */
export function decodeBatch(batch: Buffer, stats: DecodeStats, out: RawEvent[] = []): RawEvent[] {
  return decodeFramedBatch(batch, stats, decodeRecord, out);
}
