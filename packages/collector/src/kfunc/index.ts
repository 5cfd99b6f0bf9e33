// The kfunc backend: TracingPolicy `kprobes:` entries on kernel functions (fentry, else kprobe; kretprobe
// for return values), Override through fmod_ret, and raw tracepoints (tp_btf), with in-kernel selectors
// (the syscall backend's engine).
export * from './types.js';
export { compileKfuncHook, syscallEntry, type KfuncCompileOptions } from './compile.js';
export { compileRawTracepointHook, type RawTracepointCompileOptions } from './rawtp.js';
export { LiveKernelBtf, liveKernelBtf, RawBtf, type BtfParam, type BtfShape, type KernelBtf } from './btf.js';
export { KfuncBackend, KfuncBackendError, kfuncProgram, type KfuncBackendOptions, type KfuncBackendStats, type KfuncReport, type KfuncSiteStatus } from './backend.js';
export { decodeKfuncRecord, decodeKfuncBatch, type RawKfuncRecord, type KfuncArgValue, type KfuncCred } from './decode.js';
export { LiveKernelFunctions, liveKernelFunctions, type KernelFunctions } from './kernel.js';
export { MSG_OP_KFUNC, KfKind, type KfKindName } from './layout.js';
