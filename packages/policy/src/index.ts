export * from './schema.js';
export * from './validate.js';
export * from './load.js';
export * from './values.js';
export * from './arg-types.js';
export * from './plan.js';
