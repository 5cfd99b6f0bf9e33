// What the running kernel offers for the kfunc backend, read once per process: the functions it has
// (/proc/kallsyms), the ones fentry can attach to (present in its BTF), and those Override may target
// with fmod_ret (security_* hooks, or its error-injection list — ALLOW_ERROR_INJECTION functions,
// /sys/kernel/debug/error_injection/list, which exists only with CONFIG_FUNCTION_ERROR_INJECTION).
import { existsSync, readFileSync } from 'node:fs';

export interface KernelFunctions {
  /** Whether the kernel has a function of that name; null when it cannot be told. */
  has(func: string): boolean | null;
  /**
   * Whether fmod_ret may change the function's return value: true for security_* hooks and listed
   * error-injection functions; false when the list is readable and lacks it (or the kernel has none);
   * null when it cannot be told (debugfs not mounted): the verifier decides at load.
   */
  modifiable(func: string): boolean | null;
  /** Why modifiable() said false, for the error. */
  whyNotModifiable(func: string): string;
}

export interface KernelFunctionPaths {
  kallsyms?: string;
  debugfs?: string;
}

/** Reads the running kernel (cached per instance). */
export class LiveKernelFunctions implements KernelFunctions {
  private syms: Set<string> | null | undefined;
  private inject: Set<string> | null | undefined;
  private injectWhy = '';
  private readonly kallsyms: string;
  private readonly debugfs: string;

  constructor(paths: KernelFunctionPaths = {}) {
    this.kallsyms = paths.kallsyms ?? '/proc/kallsyms';
    this.debugfs = paths.debugfs ?? '/sys/kernel/debug';
  }

  has(func: string): boolean | null {
    if (this.syms === undefined) {
      try {
        const set = new Set<string>();
        for (const line of readFileSync(this.kallsyms, 'utf8').split('\n')) {
          const [, type, name] = line.split(/\s+/, 3);
          if (name && (type === 't' || type === 'T')) set.add(name);
        }
        this.syms = set.size > 0 ? set : null;
      } catch {
        this.syms = null;
      }
    }
    return this.syms === null ? null : this.syms.has(func);
  }

  modifiable(func: string): boolean | null {
    if (func.startsWith('security_')) return true;
    if (this.inject === undefined) {
      const list = `${this.debugfs}/error_injection/list`;
      try {
        this.inject = new Set(readFileSync(list, 'utf8').split('\n').map((l) => l.split(/\s+/)[0]!).filter(Boolean));
        this.injectWhy = `it is not on the kernel's error-injection list (${list})`;
      } catch {
        // debugfs mounted but no error_injection directory: the kernel was built without it.
        const mounted = existsSync(`${this.debugfs}/kprobes`) || existsSync(`${this.debugfs}/tracing`);
        this.inject = mounted ? new Set() : null;
        this.injectWhy = `this kernel has no error-injection list (CONFIG_FUNCTION_ERROR_INJECTION is off: no ${list}), so only security_* hooks can be overridden`;
      }
    }
    return this.inject === null ? null : this.inject.has(func);
  }

  whyNotModifiable(func: string): string {
    this.modifiable(func);
    return this.injectWhy;
  }
}

let live: LiveKernelFunctions | null = null;
export function liveKernelFunctions(): LiveKernelFunctions {
  live ??= new LiveKernelFunctions();
  return live;
}
