import type { SinkFactory } from '../component.js';
import { otlpSinkSchema, type OtlpSinkConfig } from './config.js';
import { OtlpHttpSink } from './sink.js';

export const otlpHttpSinkFactory: SinkFactory<OtlpSinkConfig> = {
  type: 'otlp_http',
  schema: otlpSinkSchema,
  defaultConfig: () => otlpSinkSchema.parse({}),
  create: (config, ctx) => new OtlpHttpSink(config, { id: ctx.id ?? 'otlp_http', nodeName: ctx.nodeName }),
};
