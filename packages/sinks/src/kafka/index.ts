export { KAFKA_SINK_DEFAULTS, RESERVED_HEADERS, kafkaSinkSchema, type KafkaSinkConfig } from './config.js';
export { KafkaSink, type KafkaSinkOptions, type KafkaSinkStats } from './sink.js';
export { kafkaSinkFactory } from './factory.js';
export { CE_SOURCE_PREFIX, CE_TYPE_PREFIX, EVENT_SCHEMA_VERSION, RecordEncoder, type KafkaRecord } from './encoder.js';
export { classifyKafkaError, type KafkaFailure } from './errors.js';
export { parseTopicTemplate, TOPIC_NAME, type TopicTemplate } from './topic.js';
export { eventId } from '../event-id.js';
