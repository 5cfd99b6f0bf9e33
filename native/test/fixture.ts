// Shared by the addon tests: loads the addon, builds the test BPF objects, and decodes the records
// of bpf/probe/ringtest.bpf.c (layout of struct ringtest_record).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { BpfLink, BpfObject } from '@peregrine/native';

export const native = createRequire(import.meta.url)('@peregrine/native') as typeof import('@peregrine/native');

const bpfDir = fileURLToPath(new URL('../../bpf/', import.meta.url));
export const ringtestPath = `${bpfDir}.output/ringtest.o`;
export const featuresPath = `${bpfDir}.output/features.o`;

/** Privileged tests need root and kernel BTF; elsewhere they are skipped rather than failed. */
export const canLoadBpf = process.geteuid?.() === 0 && existsSync('/sys/kernel/btf/vmlinux');

/**
 * Builds only our objects (the rest of bpf/ may be mid-edit by others) and makes sure tracefs is
 * mounted: libbpf reads tracepoint ids from /sys/kernel/tracing/events, and a minimal VM may not
 * mount it (the agent's kernel probe mounts it the same way).
 */
export function buildTestObjects(): void {
  execFileSync('make', ['-s', '-C', bpfDir, '.output/ringtest.o', '.output/features.o'], { stdio: 'pipe' });
  if (!existsSync('/sys/kernel/tracing/events') && !existsSync('/sys/kernel/debug/tracing/events')) {
    execFileSync('mount', ['-t', 'tracefs', 'tracefs', '/sys/kernel/tracing'], { stdio: 'pipe' });
  }
}

export interface RingtestRecord {
  magic: number;
  tgid: number;
  seq: bigint;
  target: bigint;
  sig: number;
  payload: Buffer;
}

export const RINGTEST_MAGIC = 0x52494e47;

export function decodeRecord(rec: Buffer): RingtestRecord {
  const payloadLen = rec.readUInt32LE(28);
  if (rec.length !== 32 + payloadLen) throw new Error(`record is ${rec.length} bytes, payload says ${payloadLen}`);
  return {
    magic: rec.readUInt32LE(0),
    tgid: rec.readUInt32LE(4),
    seq: rec.readBigUInt64LE(8),
    target: rec.readBigInt64LE(16),
    sig: rec.readInt32LE(24),
    payload: rec.subarray(32),
  };
}

/** Splits a batch into records, checking the framing: [u32 len][u32 0][bytes][zero pad to 8]. */
export function splitBatch(batch: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < batch.length) {
    const len = batch.readUInt32LE(off);
    if (batch.readUInt32LE(off + 4) !== 0) throw new Error(`reserved word not zero at ${off}`);
    const end = off + 8 + len;
    const padded = off + 8 + Math.ceil(len / 8) * 8;
    if (padded > batch.length) throw new Error(`record at ${off} overruns the batch`);
    if (batch.subarray(end, padded).some((b) => b !== 0)) throw new Error(`padding not zero at ${end}`);
    out.push(batch.subarray(off + 8, end));
    off = padded;
  }
  return out;
}

/** Opens ringtest.o, records kill(2) calls of this process, attaches. */
export function openRingtest(ringBytes?: number): { obj: BpfObject; link: BpfLink } {
  const obj = new native.BpfObject(ringtestPath);
  if (ringBytes !== undefined) obj.setMapMaxEntries('ringtest_rb', ringBytes);
  obj.load();
  const pid = Buffer.alloc(4);
  pid.writeUInt32LE(process.pid);
  obj.mapUpdate('ringtest_filter', Buffer.alloc(4), pid, 0);
  const link = obj.attach('ringtest_kill');
  return { obj, link };
}

/** Sum of a per-CPU u64 slot, as read by mapLookup (8 bytes per possible CPU). */
export function perCpuSum(value: Buffer): bigint {
  let sum = 0n;
  for (let off = 0; off < value.length; off += 8) sum += value.readBigUInt64LE(off);
  return sum;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

export function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}
