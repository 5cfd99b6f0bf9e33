// Rotated files, logrotate style: path.1 is the newest, path.N the oldest; with compression a backup is
// path.K until it has been gzipped to path.K.gz. rotate() shifts every backup up one place, deletes the
// one that falls off the end and renames the live file to path.1 — renames only, so the sink goes straight
// back to writing. Gzipping runs afterwards in the background, one file at a time: the gzip is written to a
// temp file and renamed into place under the same lock as rotate(), so a backup that moved (or was
// deleted) while it was being compressed is never clobbered.

import { readdir, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { errnoCode } from '../errors.js';
import { openExclusive, openRead, removeQuiet } from './fs.js';

interface Backup {
  compressed: boolean;
}

export interface BackupOptions {
  maxBackups: number;
  compress: boolean;
  fileMode: number;
  /** A background step failed (compression, clean-up); `type` is the errno or "compress". */
  onError(type: string, err: unknown): void;
  onCompressed(): void;
}

let tmpSeq = 0;

export class Backups {
  readonly #path: string;
  readonly #opts: BackupOptions;
  /** #slots[i] is `${path}.${i + 1}`, newest first; never longer than maxBackups. */
  readonly #slots: (Backup | undefined)[] = [];
  #lock: Promise<unknown> = Promise.resolve();
  readonly #queue: Backup[] = [];
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(path: string, opts: BackupOptions) {
    this.#path = path;
    this.#opts = opts;
  }

  /** Pick up the backups already on disk (a previous run), drop those past maxBackups and stale temp files. */
  async scan(): Promise<void> {
    const dir = dirname(this.#path);
    const base = basename(this.#path);
    const names = await readdir(dir).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return [] as string[];
      throw err;
    });
    const present = new Set(names);
    const numbered = new RegExp(`^${escapeRegExp(base)}\\.([1-9][0-9]*)(\\.gz)?$`);
    for (const name of names) {
      if (name.startsWith(`.${base}.`) && name.endsWith('.gz.tmp')) {
        await removeQuiet(join(dir, name));
        continue;
      }
      const m = numbered.exec(name);
      if (m === null) continue;
      const n = Number(m[1]);
      if (n > this.#opts.maxBackups) {
        await removeQuiet(join(dir, name));
      } else if (m[2] !== undefined) {
        this.#slots[n - 1] = { compressed: true };
        // The plain twin of a finished gzip is what an interrupted clean-up leaves behind.
        if (present.has(`${base}.${n}`)) await removeQuiet(join(dir, `${base}.${n}`));
      } else if (!present.has(`${name}.gz`)) {
        this.#slots[n - 1] = { compressed: false };
      }
    }
    if (this.#opts.compress) {
      for (const b of this.#slots) if (b !== undefined && !b.compressed) this.#queue.push(b);
      this.#pump();
    }
  }

  /** Move the live file to path.1 (or delete it when maxBackups is 0). The caller still holds its fd. */
  rotate(): Promise<void> {
    return this.#exclusive(async () => {
      const max = this.#opts.maxBackups;
      if (max === 0) {
        await removeQuiet(this.#path);
        return;
      }
      if (this.#slots.length >= max) {
        const oldest = this.#slots[max - 1];
        await removeQuiet(`${this.#path}.${max}`);
        await removeQuiet(`${this.#path}.${max}.gz`);
        this.#slots.length = max - 1;
        const queued = oldest === undefined ? -1 : this.#queue.indexOf(oldest);
        if (queued >= 0) this.#queue.splice(queued, 1);
      }
      for (let i = this.#slots.length - 1; i >= 0; i--) {
        const b = this.#slots[i];
        if (b === undefined) continue;
        try {
          await rename(this.#name(i, b), this.#name(i + 1, b));
          this.#slots[i + 1] = b;
        } catch (err) {
          if (errnoCode(err) !== 'ENOENT') throw err;
        }
        this.#slots[i] = undefined;
      }
      const fresh: Backup = { compressed: false };
      try {
        await rename(this.#path, this.#name(0, fresh));
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
        return; // the live file was removed under us: nothing to keep
      }
      this.#slots[0] = fresh;
      if (this.#opts.compress) {
        this.#queue.push(fresh);
        this.#pump();
      }
    });
  }

  /** Stop compressing: queued files stay uncompressed (the next scan() resumes them); waits for the current one. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.length = 0;
    await this.#running;
  }

  /** Resolves once every queued compression has finished. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  #name(i: number, b: Backup): string {
    return `${this.#path}.${i + 1}${b.compressed ? '.gz' : ''}`;
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  #pump(): void {
    if (this.#running !== undefined || this.#closed) return;
    const next = this.#queue.pop(); // newest first: when gzip lags, the oldest are the next to be deleted
    if (next === undefined) return;
    this.#running = this.#compress(next).finally(() => {
      this.#running = undefined;
      this.#pump();
    });
  }

  async #compress(b: Backup): Promise<void> {
    const tmp = join(dirname(this.#path), `.${basename(this.#path)}.${process.pid}.${++tmpSeq}.gz.tmp`);
    try {
      const src = await this.#exclusive(async () => {
        const i = this.#slots.indexOf(b);
        return i < 0 || b.compressed ? undefined : openRead(this.#name(i, b));
      });
      if (src === undefined) return; // deleted (or already done) before its turn
      let out;
      try {
        out = await openExclusive(tmp, this.#opts.fileMode);
      } catch (err) {
        await src.close();
        throw err;
      }
      await pipeline(src.createReadStream(), createGzip(), out.createWriteStream());
      const done = await this.#exclusive(async () => {
        const i = this.#slots.indexOf(b);
        if (i < 0) return false;
        const plain = this.#name(i, b);
        await rename(tmp, `${plain}.gz`);
        b.compressed = true;
        await removeQuiet(plain);
        return true;
      });
      if (done) this.#opts.onCompressed();
      else await removeQuiet(tmp);
    } catch (err) {
      this.#opts.onError(errnoCode(err) ?? 'compress', err);
      await removeQuiet(tmp).catch(() => undefined);
    }
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
