// Network enforcement (socket_connect policies) through cgroup/connect4 and connect6 programs.
export * from './cidr.js';
export * from './rules.js';
export * from './compile.js';
export * from './layout.js';
export * from './decode.js';
export * from './backend.js';
