export { ELASTICSEARCH_SINK_DEFAULTS, ES_MODES, elasticsearchSinkSchema, nodeUrls, type ElasticsearchSinkConfig, type EsMode } from './config.js';
export { ECS_VERSION, ORIGINAL_FIELD, toEcs, type EcsDocument, type EcsOptions } from './ecs.js';
export { TEMPLATE_PRIORITY, ecsMappings, indexTemplate, targetIndex, type ResolvedMode } from './template.js';
export { ElasticsearchSink, type ElasticsearchSinkStats } from './sink.js';
export { elasticsearchSinkFactory } from './factory.js';
