import type { SinkFactory } from '../component.js';
import { FILE_SINK_DEFAULTS, fileSinkSchema, type FileSinkConfig } from './config.js';
import { FileSink } from './sink.js';

export const fileSinkFactory: SinkFactory<FileSinkConfig> = {
  type: 'file',
  schema: fileSinkSchema,
  defaultConfig: () => ({ ...FILE_SINK_DEFAULTS }),
  create: (config, ctx) => new FileSink(config, { id: ctx.id ?? 'file' }),
};
