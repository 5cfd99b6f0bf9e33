// The native addon (native/), loaded once. It is a thin layer over libbpf; everything with meaning
// (layouts, policies, counters' names) lives on this side.
import { createRequire } from 'node:module';
import type * as Native from '@peregrine/native';
import { PeregrineError } from '@peregrine/events';

export type { BpfObject, BpfLink, RingReader } from '@peregrine/native';

let addon: typeof Native | undefined;

export function native(): typeof Native {
  if (!addon) {
    try {
      addon = createRequire(import.meta.url)('@peregrine/native') as typeof Native;
    } catch (e) {
      throw new PeregrineError(
        'ERR_NATIVE_MISSING',
        'the native addon is not built (run ./peregrine setup, or `npm run build`): ' + (e as Error).message,
        { cause: e },
      );
    }
  }
  return addon;
}

/** A failed libbpf/kernel operation, with the errno and the libbpf log (verifier output included). */
export class BpfError extends PeregrineError {
  override readonly name = 'BpfError';
  readonly operation: string;
  readonly errno: number;
  readonly log: string;

  constructor(e: { message: string; operation?: string; errno?: number; code?: string; log?: string }) {
    super(e.code ?? 'ERR_BPF', e.message, { cause: e });
    this.operation = e.operation ?? 'unknown';
    this.errno = e.errno ?? 0;
    this.log = e.log ?? '';
  }
}

/** Runs a native call, turning its Error into a BpfError. */
export function bpfCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Error && 'errno' in e) throw new BpfError(e as Error & { errno: number });
    throw e;
  }
}
