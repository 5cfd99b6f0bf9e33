import type { SinkFactory } from '../component.js';
import { ELASTICSEARCH_SINK_DEFAULTS, elasticsearchSinkSchema, type ElasticsearchSinkConfig } from './config.js';
import { ElasticsearchSink } from './sink.js';

export const elasticsearchSinkFactory: SinkFactory<ElasticsearchSinkConfig> = {
  type: 'elasticsearch',
  schema: elasticsearchSinkSchema,
  defaultConfig: () => elasticsearchSinkSchema.parse({ url: ELASTICSEARCH_SINK_DEFAULTS.url }),
  create: (config, ctx) => new ElasticsearchSink(config, { id: ctx.id ?? 'elasticsearch' }),
};
