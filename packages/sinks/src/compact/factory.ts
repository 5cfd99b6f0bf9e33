import type { SinkFactory } from '../component.js';
import { COMPACT_SINK_DEFAULTS, compactSinkSchema, type CompactSinkConfig } from './config.js';
import { CompactSink } from './sink.js';

export const compactSinkFactory: SinkFactory<CompactSinkConfig> = {
  type: 'compact',
  schema: compactSinkSchema,
  defaultConfig: () => ({ ...COMPACT_SINK_DEFAULTS }),
  create: (config, ctx) => new CompactSink(config, { id: ctx.id ?? 'compact' }),
};
