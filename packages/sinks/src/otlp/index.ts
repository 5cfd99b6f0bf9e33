// The otlp_http sink's public surface.
export { OTLP_COMPRESSIONS, OTLP_SINK_DEFAULTS, otlpSinkSchema, parseResourceAttributes, resolveOtlpSettings } from './config.js';
export type { OtlpCompression, OtlpSettings, OtlpSinkConfig } from './config.js';
// Exported under otlp-specific names: the package index re-exports every sink with `export *`.
export {
  EVENT_NAMES as OTLP_EVENT_NAMES,
  eventAttributes as otlpAttributes,
  eventName as otlpEventName,
  isoToHrTime,
  toLogRecord as toOtlpLogRecord,
} from './mapping.js';
export { INSTRUMENTATION_SCOPE, OtlpHttpSink, type OtlpSinkOptions, type OtlpSinkStats } from './sink.js';
export { otlpHttpSinkFactory } from './factory.js';
