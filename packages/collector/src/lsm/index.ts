// The bpf_lsm backend: TracingPolicy `lsmhooks:` entries as BPF LSM programs with in-kernel selectors
// (the syscall backend's engine) that can deny before the operation happens.
export * from './types.js';
export { compileLsmHook, isLsmHookName, LSM_HOOK_PARAMS, type LsmHookSpecInput, type LsmCompileOptions } from './compile.js';
export { LsmBackend, LsmBackendError, lsmProgram, type LsmBackendOptions, type LsmBackendStats, type LsmReport } from './backend.js';
export { decodeLsmRecord, decodeLsmBatch, type RawLsmRecord, type LsmArgValue } from './decode.js';
export { MSG_OP_LSM, LsmHookId, type LsmHookName } from './layout.js';
