import type { SinkFactory } from '../component.js';
import { kafkaSinkSchema, type KafkaSinkConfig } from './config.js';
import { KafkaSink } from './sink.js';

export const kafkaSinkFactory: SinkFactory<KafkaSinkConfig> = {
  type: 'kafka',
  schema: kafkaSinkSchema,
  defaultConfig: () => kafkaSinkSchema.parse({}),
  create: (config, ctx) => new KafkaSink(config, { id: ctx.id ?? 'kafka', nodeName: ctx.nodeName }),
};
