// The tracepoint backend: TracingPolicy `tracepoints:` entries on their tracepoints, with the syscall
// backend's in-kernel selectors.
export * from './types.js';
export { compileTracepointHook, type TracepointSpecInput, type TracepointCompileOptions } from './compile.js';
export { TracepointBackend, type TracepointReport, type TracepointBackendStats } from './backend.js';
export { readTpFormat, parseTpFormat, type TpFormat, type TpFormatField } from './format.js';
