// The `file` sink: Tetragon-style JSON lines (one JSON.stringify(event) per line), appended in call order.
//
// write() encodes its batch at once and queues it; one drain loop appends the queue to the file, merging
// queued batches into a single writev() (up to MAX_CHUNK_BYTES). Rotation happens only between lines:
// when a batch does not fit in what is left of max_size_bytes, the lines that fit are written, the file
// is rotated, and the rest go to the new file. A failed append is cut back (ftruncate) to where it began,
// so the file only ever holds whole lines; the batch, and those queued behind it, are answered retryable
// or rejected with the cause, never thrown.

import type { FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SinkError, type PeregrineEvent } from '@peregrine/events';
import type { BatchResult, Sink, SinkStats } from '../component.js';
import { errorType, toSinkError } from '../errors.js';
import { delivered, rejected, undelivered } from '../result.js';
import { SinkStatsCounter } from '../stats.js';
import type { FileSinkConfig } from './config.js';
import { JsonLinesEncoder, NEWLINE, countLines } from './encoder.js';
import { ensureDir, openAppend } from './fs.js';
import { checkWritable } from './health.js';
import { Backups } from './rotate.js';

const MAX_CHUNK_BYTES = 8 * 1024 * 1024;
const MAX_IOVECS = 256;

export interface FileSinkStats extends SinkStats {
  /** Files rotated away. */
  rotations: number;
  /** Rotated files gzipped. */
  compressed: number;
}

/** A queued batch: its encoded lines and how much of it is already in the file. */
interface Pending {
  readonly buf: Buffer;
  readonly events: number;
  offset: number;
  done: number;
  readonly settle: (result: BatchResult) => void;
}

export class FileSink implements Sink {
  readonly id: string;
  /** Absolute path of the live file. */
  readonly path: string;
  readonly #mode: number;
  readonly #maxSize: number;
  readonly #backups: Backups;
  readonly #encoder = new JsonLinesEncoder();
  readonly #stats = new SinkStatsCounter();
  #rotations = 0;
  #compressed = 0;

  #state: 'new' | 'running' | 'stopped' = 'new';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #fh: FileHandle | undefined;
  #size = 0;
  readonly #queue: Pending[] = [];
  #draining = false;
  #last: Promise<unknown> = Promise.resolve();

  constructor(config: FileSinkConfig, options: { id?: string } = {}) {
    this.id = options.id ?? 'file';
    this.path = resolve(config.path);
    this.#mode = config.file_mode;
    this.#maxSize = config.max_size_bytes;
    this.#backups = new Backups(this.path, {
      maxBackups: config.max_backups,
      compress: config.compress,
      fileMode: config.file_mode,
      onError: (type) => this.#stats.error(type),
      onCompressed: () => this.#compressed++,
    });
  }

  /** Create the directory, pick up existing backups, open the file. Rejects with a SinkError. */
  start(): Promise<void> {
    this.#starting ??= this.#start().catch((err: unknown) => {
      this.#starting = undefined;
      throw toSinkError(err, `file sink ${this.id}: cannot open ${this.path}`);
    });
    return this.#starting;
  }

  write(batch: readonly PeregrineEvent[]): Promise<BatchResult> {
    if (this.#state !== 'running') {
      this.#stats.undelivered(batch.length, false);
      return Promise.resolve(rejected(`file sink ${this.id} is ${this.#state === 'new' ? 'not started' : 'stopped'}`));
    }
    if (batch.length === 0) return Promise.resolve(delivered(0));
    let buf: Buffer;
    try {
      buf = this.#encoder.encode(batch);
    } catch (err) {
      this.#stats.error('encode');
      this.#stats.undelivered(batch.length, false);
      return Promise.resolve(rejected(`file sink ${this.id}: cannot encode batch`, err));
    }
    return this.#enqueue(buf, batch.length);
  }

  /** A batch already encoded as JSON lines (a durable queue's payload): appended as it is. */
  writeLines(lines: Buffer, events: number): Promise<BatchResult> {
    if (this.#state !== 'running') {
      this.#stats.undelivered(events, false);
      return Promise.resolve(rejected(`file sink ${this.id} is ${this.#state === 'new' ? 'not started' : 'stopped'}`));
    }
    if (events === 0) return Promise.resolve(delivered(0));
    // The line count is what rotation and partial appends count in: it must be the batch's.
    const found = lines.length > 0 && lines[lines.length - 1] === NEWLINE ? countLines(lines) : -1;
    if (found !== events) {
      this.#stats.error('encode');
      this.#stats.undelivered(events, false);
      return Promise.resolve(rejected(`file sink ${this.id}: a batch of ${events} JSON lines holds ${found < 0 ? 'an unterminated line' : `${found} lines`}`));
    }
    return this.#enqueue(lines, events);
  }

  #enqueue(buf: Buffer, events: number): Promise<BatchResult> {
    const result = new Promise<BatchResult>((settle) => {
      this.#queue.push({ buf, events, offset: 0, done: 0, settle });
    });
    this.#last = result;
    if (!this.#draining) {
      this.#draining = true;
      void this.#drain();
    }
    return result;
  }

  async flush(): Promise<void> {
    await this.#last;
  }

  /** Stop accepting batches, write the queued ones, sync and close. Idempotent; safe without start(). */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  healthcheck(): Promise<void> {
    return checkWritable(this.path);
  }

  stats(): FileSinkStats {
    return { ...this.#stats.snapshot(), rotations: this.#rotations, compressed: this.#compressed };
  }

  /** Resolves when queued batches are written and queued backups compressed. */
  async settled(): Promise<void> {
    await this.flush();
    await this.#backups.idle();
  }

  async #start(): Promise<void> {
    if (this.#state === 'stopped') throw new SinkError(`file sink ${this.id} is stopped`, false);
    await ensureDir(dirname(this.path));
    await this.#backups.scan();
    if (this.#fh === undefined) await this.#open();
    if (this.#state === 'new') this.#state = 'running'; // else stop() came first and will close the file
  }

  async #stop(): Promise<void> {
    this.#state = 'stopped';
    await this.#starting?.catch(() => undefined);
    await this.flush();
    await this.#backups.close();
    const fh = this.#fh;
    this.#fh = undefined;
    if (fh !== undefined) {
      await fh.datasync().catch((err: unknown) => this.#stats.error(errorType(err, 'sync')));
      await fh.close().catch((err: unknown) => this.#stats.error(errorType(err, 'close')));
    }
  }

  async #open(): Promise<FileHandle> {
    await ensureDir(dirname(this.path)); // it may have been removed since start()
    const { fh, size, partial } = await openAppend(this.path, this.#mode);
    this.#fh = fh;
    this.#size = size;
    if (partial) {
      // A crash cut the last line short; end it so that our first line is not glued onto it.
      this.#stats.error('partial_line');
      await this.#append(fh, [Buffer.of(NEWLINE)], 1);
    }
    return fh;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      try {
        await this.#step();
      } catch (err) {
        await this.#fail(err);
      }
    }
    this.#draining = false;
  }

  /** Append as much of the queue as fits in the current file, or rotate it. */
  async #step(): Promise<void> {
    const fh = this.#fh ?? (await this.#open());
    const queue = this.#queue;
    const head = queue[0] as Pending;
    const room = this.#maxSize > 0 ? this.#maxSize - this.#size : Infinity;
    const left = head.buf.length - head.offset;

    if (left > room) {
      let end = room > 0 ? head.buf.lastIndexOf(NEWLINE, head.offset + room - 1) + 1 : 0;
      if (end <= head.offset) {
        if (this.#size > 0) return this.#rotate(fh);
        end = head.buf.indexOf(NEWLINE, head.offset) + 1; // a line longer than max_size_bytes gets a file of its own
      }
      const part = head.buf.subarray(head.offset, end);
      const lines = countLines(part);
      await this.#append(fh, [part], part.length);
      head.offset = end;
      head.done += lines;
      this.#stats.delivered(lines, part.length);
      if (head.offset === head.buf.length) {
        queue.shift();
        head.settle(delivered(head.events));
      }
      return;
    }

    let n = 1;
    let bytes = left;
    while (n < queue.length && n < MAX_IOVECS) {
      const len = (queue[n] as Pending).buf.length;
      if (bytes + len > room || bytes + len > MAX_CHUNK_BYTES) break;
      bytes += len;
      n++;
    }
    const chunk = queue.slice(0, n);
    await this.#append(fh, chunk.map((e) => (e.offset === 0 ? e.buf : e.buf.subarray(e.offset))), bytes);
    queue.splice(0, n);
    for (const e of chunk) {
      this.#stats.delivered(e.events - e.done, e.buf.length - e.offset);
      e.settle(delivered(e.events));
    }
  }

  /** One writev() of whole lines (continued if the kernel takes less); on failure the file is cut back. */
  async #append(fh: FileHandle, bufs: Buffer[], total: number): Promise<void> {
    const start = this.#size;
    try {
      let written = 0;
      while (written < total) {
        const { bytesWritten } = await fh.writev(written === 0 ? bufs : skip(bufs, written));
        if (bytesWritten <= 0) throw new SinkError(`short write to ${this.path}`, true);
        written += bytesWritten;
      }
    } catch (err) {
      await fh.truncate(start).catch(() => undefined);
      throw err;
    }
    this.#size += total;
  }

  async #rotate(fh: FileHandle): Promise<void> {
    await this.#backups.rotate(); // renames the live file away; fh still refers to it
    this.#fh = undefined;
    this.#rotations++;
    await fh.close().catch((err: unknown) => this.#stats.error(errorType(err, 'close')));
    await this.#open();
  }

  /** Answer every queued batch with the error, and reopen the file on the next write. */
  async #fail(err: unknown): Promise<void> {
    const error = toSinkError(err, `file sink ${this.id}: cannot write ${this.path}`);
    this.#stats.error(errorType(err, 'write'));
    for (const e of this.#queue.splice(0)) {
      this.#stats.undelivered(e.events - e.done, error.retryable);
      e.settle(undelivered(error, e.done));
    }
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close().catch(() => undefined);
  }
}

/** The buffers after their first `n` bytes. */
function skip(bufs: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of bufs) {
    if (n >= b.length) {
      n -= b.length;
      continue;
    }
    out.push(n > 0 ? b.subarray(n) : b);
    n = 0;
  }
  return out;
}
