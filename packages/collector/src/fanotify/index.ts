// exec/open enforcement through fanotify permission events (kernels without BPF LSM).
export * from './table.js';
export * from './reports.js';
export * from './backend.js';
