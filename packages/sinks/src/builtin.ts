// The sinks that ship with the agent. New sinks (kafka, elasticsearch, otlp_http) are added to this list.

import type { SinkFactory } from './component.js';
import { SinkRegistry } from './registry.js';
import { fileSinkFactory } from './file/factory.js';
import { compactSinkFactory } from './compact/factory.js';
import { otlpHttpSinkFactory } from './otlp/factory.js';
import { elasticsearchSinkFactory } from './elasticsearch/factory.js';
import { kafkaSinkFactory } from './kafka/factory.js';

export const BUILTIN_SINKS: readonly SinkFactory[] = [fileSinkFactory, compactSinkFactory, otlpHttpSinkFactory, elasticsearchSinkFactory, kafkaSinkFactory];

/** A fresh registry holding the built-in sinks. */
export function defaultSinkRegistry(): SinkRegistry {
  return new SinkRegistry(BUILTIN_SINKS);
}
