// Sink factories by type: the agent looks a sink's `type` up here instead of switching on it.

import { z } from 'zod';
import { ConfigError, PeregrineError, parseConfig } from '@peregrine/events';
import type { Sink, SinkContext, SinkFactory } from './component.js';

export class SinkRegistry {
  readonly #factories = new Map<string, SinkFactory>();

  constructor(factories: Iterable<SinkFactory> = []) {
    for (const f of factories) this.register(f);
  }

  register<C>(factory: SinkFactory<C>): this {
    if (this.#factories.has(factory.type)) {
      throw new PeregrineError('ERR_SINK_TYPE_TAKEN', `sink type "${factory.type}" is already registered`);
    }
    this.#factories.set(factory.type, factory);
    return this;
  }

  get(type: string): SinkFactory | undefined {
    return this.#factories.get(type);
  }

  /** Registered types, sorted. */
  types(): string[] {
    return [...this.#factories.keys()].sort();
  }

  /**
   * Validate one sink's options (everything but its `type`) against its factory's schema, defaults filled
   * in. Throws a ConfigError naming every bad field, prefixed with `prefix` (e.g. "sinks.audit").
   */
  parse(type: string, options: unknown, prefix = ''): unknown {
    const factory = this.#factories.get(type);
    if (factory === undefined) {
      throw new ConfigError('sink config', [
        { path: prefix === '' ? 'type' : `${prefix}.type`, message: `unknown sink type "${type}" (known: ${this.types().join(', ')})` },
      ]);
    }
    return parseConfig(factory.schema, options, `${type} sink config`, prefix);
  }

  /** parse() then create(): the sink, not yet started. */
  create(type: string, options: unknown, ctx: SinkContext, prefix = ''): Sink {
    const config = this.parse(type, options, prefix);
    return (this.#factories.get(type) as SinkFactory).create(config, ctx);
  }

  /** JSON Schema of each type's options, for values.schema.json and editor completion. */
  jsonSchemas(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const type of this.types()) {
      out[type] = z.toJSONSchema((this.#factories.get(type) as SinkFactory).schema, { io: 'input' });
    }
    return out;
  }
}
