// What the selector-engine adapters (syscall, tracepoint, bpf_lsm) share: a collector compiler's
// ConfigError turned into the manager's CompileError, Tetragon's int_arg/long_arg and bytes_arg, and a backend that
// starts on the first apply with rules and stops — leaving nothing in the kernel — when none are left.
import type { KprobeArgument } from '@peregrine/events';
import { ConfigError } from '@peregrine/events';
import { CompileError } from '../adapter.js';

/** Runs a collector compiler; its ConfigError (every issue with its path) becomes a CompileError. */
export function compileOrThrow<T>(compile: () => T): T {
  try {
    return compile();
  } catch (e) {
    if (e instanceof ConfigError) throw new CompileError(e.issues);
    throw e;
  }
}

/**
 * A char_buf as Tetragon reports it: bytes_arg (base64), or truncated_bytes_arg with orig_size when the
 * buffer was longer than what was read. An unreadable buffer: empty bytes_arg.
 */
export function bytesArg(v: { bytes: Buffer; size: bigint; fault: boolean }, l: { label?: string }): KprobeArgument {
  const bytes_arg = v.bytes.toString('base64');
  if (v.fault || v.size <= BigInt(v.bytes.length)) return { bytes_arg, ...l };
  return { truncated_bytes_arg: { bytes_arg, orig_size: v.size.toString() }, ...l };
}

/** int_arg, or long_arg (decimal text) when the value is not exact as a JavaScript number. */
export function intOrLongArg(n: bigint, l: { label?: string }): KprobeArgument {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? { int_arg: Number(n), ...l } : { long_arg: n.toString(), ...l };
}

/** The part of a collector backend an adapter drives. */
export interface SelectorBackend<H> {
  start(): void;
  apply(hooks: H[]): void;
  stop(): Promise<void>;
  stats(): object;
}

export class LazyBackend<H> {
  #started = false;

  constructor(readonly impl: SelectorBackend<H>) {}

  get started(): boolean {
    return this.#started;
  }

  async apply(hooks: H[]): Promise<void> {
    if (hooks.length === 0) {
      await this.stop();
      return;
    }
    if (!this.#started) {
      this.impl.start();
      this.#started = true;
    }
    this.impl.apply(hooks);
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    await this.impl.stop();
  }

  stats(): Record<string, unknown> {
    return this.#started ? { ...this.impl.stats() } : { started: false };
  }
}
