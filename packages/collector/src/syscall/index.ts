// The syscall_tracepoint backend: TracingPolicy `kprobes:` entries with `syscall: true` on raw syscall tracepoints.
export * from './types.js';
export { compileSyscallHook, type KprobeSpecInput, type SelectorInput, type CompileOptions } from './compile.js';
export { SyscallBackend, SyscallBackendError, type SyscallBackendOptions, type SyscallBackendStats, type SyscallReport } from './backend.js';
export { decodeSyscallRecord, decodeSyscallBatch, type RawSyscallRecord, type SyscallArgValue } from './decode.js';
export { syscallNumber, syscallName, SYSCALLS_X86_64 } from './syscalls.js';
export { MSG_OP_GENERIC_SYSCALL } from './layout.js';
