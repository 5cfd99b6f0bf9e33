// Small filesystem helpers shared by the file sink and its rotation. Paths are opened with O_NOFOLLOW:
// a symlink planted at the log path must not redirect a privileged agent's writes.

import { constants } from 'node:fs';
import { chmod, mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errnoCode } from '../errors.js';

// libuv opens every file O_CLOEXEC.
const { O_RDWR, O_WRONLY, O_RDONLY, O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

export const DIR_MODE = 0o700;

/** Create `dir` and missing parents with mode 0700 (chmod'ed, so the umask cannot widen or narrow it). */
export async function ensureDir(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: DIR_MODE });
  if (first === undefined) return;
  for (let d = dir; ; d = dirname(d)) {
    await chmod(d, DIR_MODE);
    if (d === first || dirname(d) === d) break;
  }
}

/**
 * Open (creating) a regular file for appending and give it exactly `mode`. `partial` is true when the file
 * does not end with a newline (a previous writer died mid-line).
 */
export async function openAppend(path: string, mode: number): Promise<{ fh: FileHandle; size: number; partial: boolean }> {
  const fh = await open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW, mode);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EINVAL' });
    await fh.chmod(mode);
    let partial = false;
    if (st.size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, st.size - 1);
      partial = last[0] !== 0x0a;
    }
    return { fh, size: st.size, partial };
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

export function openRead(path: string): Promise<FileHandle> {
  return open(path, O_RDONLY | O_NOFOLLOW);
}

/** Create a new file (failing if it exists) with exactly `mode`. */
export async function openExclusive(path: string, mode: number): Promise<FileHandle> {
  const fh = await open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    await fh.chmod(mode);
    return fh;
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/** unlink, ignoring a file that is already gone. */
export async function removeQuiet(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}
