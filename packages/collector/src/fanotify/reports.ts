// Report records of the fanotify responder: the typed mirror of the layout in
// native/src/fanotify_guard.h (keep both in sync). One batch is records back to back:
//
//    0 u32 size · 4 u32 ruleId · 8 u8 event · 9 u8 verdict · 10 u8 monitor · 11 u8 flags ·
//   12 u32 pid · 16 u32 uid · 20 u16 pathLen · 22 u16 exeLen · 24 u64 ktimeNs ·
//   32 u64 dev · 40 u64 ino · 48 u64 exeDev · 56 u64 exeIno · 64 path · exe · zero pad to 8
import type { FanotifyEventKind } from './table.js';

export const REPORT_HEADER_BYTES = 64;
const FLAG_UID = 1;
const FLAG_EXE_INODE = 2;
const FLAG_FILE_INODE = 4;

export interface FanotifyReport {
  ruleId: number;
  event: FanotifyEventKind;
  /** The answer written to the kernel. */
  verdict: 'allow' | 'deny';
  /** The rule would have denied but is in monitor mode (verdict is then 'allow'). */
  monitor: boolean;
  /** tgid of the accessing process. */
  pid: number;
  /** Real uid; undefined when /proc/<pid>/status could not be read. */
  uid: number | undefined;
  /** The file (for exec: the binary being executed); undefined dev/ino when fstat failed. */
  path: string;
  dev: bigint | undefined;
  ino: bigint | undefined;
  /** The accessing process's executable (for exec: the binary before the exec, e.g. the shell). */
  exePath: string;
  exeDev: bigint | undefined;
  exeIno: bigint | undefined;
  /** CLOCK_MONOTONIC ns when the event was read (same clock as BPF ktime). */
  ktimeNs: bigint;
}

export class FanotifyReportError extends Error {
  override readonly name = 'FanotifyReportError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export function decodeFanotifyReports(batch: Buffer): FanotifyReport[] {
  const out: FanotifyReport[] = [];
  let off = 0;
  while (off < batch.length) {
    if (batch.length - off < REPORT_HEADER_BYTES) throw new FanotifyReportError('truncated record header', off);
    const size = batch.readUInt32LE(off);
    const pathLen = batch.readUInt16LE(off + 20);
    const exeLen = batch.readUInt16LE(off + 22);
    const need = REPORT_HEADER_BYTES + pathLen + exeLen;
    if (size % 8 !== 0 || size < need || size - need >= 8 || off + size > batch.length) {
      throw new FanotifyReportError(`bad record size ${size} (strings ${pathLen} + ${exeLen})`, off);
    }
    const flags = batch.readUInt8(off + 11);
    const uid = batch.readUInt32LE(off + 16);
    const fileKnown = (flags & FLAG_FILE_INODE) !== 0;
    const exeKnown = (flags & FLAG_EXE_INODE) !== 0;
    const strings = off + REPORT_HEADER_BYTES;
    out.push({
      ruleId: batch.readUInt32LE(off + 4),
      event: batch.readUInt8(off + 8) === 1 ? 'exec' : 'open',
      verdict: batch.readUInt8(off + 9) === 1 ? 'deny' : 'allow',
      monitor: batch.readUInt8(off + 10) === 1,
      pid: batch.readUInt32LE(off + 12),
      uid: flags & FLAG_UID ? uid : undefined,
      path: batch.toString('utf8', strings, strings + pathLen),
      dev: fileKnown ? batch.readBigUInt64LE(off + 32) : undefined,
      ino: fileKnown ? batch.readBigUInt64LE(off + 40) : undefined,
      exePath: batch.toString('utf8', strings + pathLen, strings + pathLen + exeLen),
      exeDev: exeKnown ? batch.readBigUInt64LE(off + 48) : undefined,
      exeIno: exeKnown ? batch.readBigUInt64LE(off + 56) : undefined,
      ktimeNs: batch.readBigUInt64LE(off + 24),
    });
    off += size;
  }
  return out;
}
