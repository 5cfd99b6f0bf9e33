// The kfunc backend: TracingPolicy `kprobes:` entries on kernel functions (fentry, else kprobe; kretprobe
// for return values) and Override through fmod_ret, with in-kernel selectors (the syscall backend's engine).
export * from './types.js';
export { compileKfuncHook, syscallEntry, type KfuncCompileOptions } from './compile.js';
export { KfuncBackend, KfuncBackendError, kfuncProgram, type KfuncBackendOptions, type KfuncBackendStats, type KfuncReport, type KfuncSiteStatus } from './backend.js';
export { decodeKfuncRecord, decodeKfuncBatch, type RawKfuncRecord, type KfuncArgValue, type KfuncCred } from './decode.js';
export { LiveKernelFunctions, liveKernelFunctions, type KernelFunctions } from './kernel.js';
export { MSG_OP_KFUNC, KfKind, type KfKindName } from './layout.js';
