// Shared by the fanotify tests. Every test marks only a private tmpfs mounted for it, so a rule —
// or a stalled responder — can never touch the rest of the machine (FAN_MARK_FILESYSTEM marks a
// whole superblock: on the root filesystem every open() of every process would go through us).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FanotifyGuard, FanotifyGuardOptions } from '@peregrine/native';
import { native } from './fixture.js';

export { native };

export const canFanotify = process.geteuid?.() === 0 && native.probeFanotify('/', 'open').ok;

export interface Scratch {
  /** Mount point of a fresh tmpfs (its own superblock). */
  dir: string;
  /** Copies a system binary into the scratch filesystem; returns the copy's path. */
  copyBinary(src: string, name: string): string;
  cleanup(): void;
}

export function mountScratch(): Scratch {
  const dir = mkdtempSync(join(tmpdir(), 'peregrine-fan-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0755', 'tmpfs', dir]);
  return {
    dir,
    copyBinary(src, name) {
      const dst = join(dir, name);
      mkdirSync(join(dst, '..'), { recursive: true });
      copyFileSync(src, dst);
      execFileSync('chmod', ['0755', dst]);
      return dst;
    },
    cleanup() {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function inodeOf(path: string): { dev: bigint; ino: bigint } {
  const st = statSync(path, { bigint: true });
  return { dev: st.dev, ino: st.ino };
}

/** fds of a process that are fanotify groups. */
export function fanotifyFds(pid: number = process.pid): number[] {
  const out: number[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:[fanotify]') out.push(Number(fd));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

export const defaultOpts: FanotifyGuardOptions = { responseTimeoutMs: 1000, watchdogMs: 2000, maxQueuedBatches: 64 };

/** A guard whose report batches are collected; closed by closeAll(). */
export function openGuard(opts: Partial<FanotifyGuardOptions> = {}): { guard: FanotifyGuard; batches: Buffer[] } {
  const batches: Buffer[] = [];
  const guard = new native.FanotifyGuard((b) => batches.push(b), { ...defaultOpts, ...opts });
  opened.push(guard);
  return { guard, batches };
}

const opened: FanotifyGuard[] = [];
export function closeAll(): void {
  for (const g of opened.splice(0)) g.close();
}
