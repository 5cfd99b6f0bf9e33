export * from './abi/layout.js';
export * from './abi/decode.js';
export * from './sensor/process-sensor.js';
export * from './procfs/walk.js';
export { hostNamespaces, readNamespaces } from './procfs/read-process.js';
export { BpfError, native } from './native.js';
export { bpfObjectPath } from './paths.js';
export * from './probe/index.js';
export * as net from './net/index.js';
