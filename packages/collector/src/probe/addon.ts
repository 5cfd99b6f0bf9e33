// The native addon as the probe sees it, loaded on first use: importing the collector must not
// fail on a machine where the addon is not built, only probing should (with a clear message).
import { createRequire } from 'node:module';
import type * as Native from '@peregrine/native';

export type { BpfObject, NativeError } from '@peregrine/native';

let addon: typeof Native | undefined;

export function loadNative(): typeof Native {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)('@peregrine/native') as typeof Native;
    } catch (e) {
      throw new Error(`cannot probe the kernel: the native addon is not built (run native/build.sh): ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
  return addon;
}

/** Errors thrown by the addon carry operation, errno, code and the libbpf log. */
export function isNativeError(e: unknown): e is Native.NativeError {
  return (
    e instanceof Error &&
    typeof (e as Partial<Native.NativeError>).code === 'string' &&
    typeof (e as Partial<Native.NativeError>).errno === 'number'
  );
}
