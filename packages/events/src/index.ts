export * from './raw.js';
export * from './process.js';
export * from './events.js';
export * from './policy-events.js';
export * from './arguments.js';
export * from './errors.js';
export * from './zod-issues.js';
export * from './serialize.js';
