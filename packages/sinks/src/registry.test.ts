import { describe, expect, it } from 'vitest';
import { ConfigError, PeregrineError } from '@peregrine/events';
import { BUILTIN_SINKS, defaultSinkRegistry } from './builtin.js';
import { CompactSink } from './compact/sink.js';
import { FileSink } from './file/sink.js';
import { fileSinkFactory } from './file/factory.js';

describe('sink registry', () => {
  it('holds the built-in sinks by type', () => {
    const r = defaultSinkRegistry();
    expect(r.types()).toEqual(['compact', 'elasticsearch', 'file', 'kafka', 'otlp_http']);
    expect(r.get('file')).toBe(fileSinkFactory);
  });

  it('every factory default passes its own schema', () => {
    for (const f of BUILTIN_SINKS) expect(f.schema.parse(f.defaultConfig())).toEqual(f.defaultConfig());
  });

  it('creates sinks from raw options, with the component id', () => {
    const r = defaultSinkRegistry();
    const file = r.create('file', { path: '/tmp/peregrine-never-written.log' }, { nodeName: 'n1', id: 'audit' });
    expect(file).toBeInstanceOf(FileSink);
    expect(file.id).toBe('audit');
    const compact = r.create('compact', {}, { nodeName: 'n1' });
    expect(compact).toBeInstanceOf(CompactSink);
    expect(compact.id).toBe('compact');
  });

  it('reports bad options with the caller’s prefix', () => {
    const r = defaultSinkRegistry();
    try {
      r.create('file', { path: '/x', max_backups: -1, bogus: true }, { nodeName: 'n1' }, 'sinks.audit');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.issues.map((i) => i.path).sort()).toEqual(['sinks.audit.bogus', 'sinks.audit.max_backups']);
      expect(e.message).toContain('bogus');
    }
  });

  it('rejects an unknown type, listing the known ones', () => {
    expect(() => defaultSinkRegistry().parse('kafak', {}, 'sinks.out')).toThrow(ConfigError);
    expect(() => defaultSinkRegistry().parse('kafak', {}, 'sinks.out')).toThrow(/sinks\.out\.type.*unknown sink type "kafak" \(known: compact, elasticsearch, file, kafka, otlp_http\)/);
  });

  it('refuses to register a type twice', () => {
    expect(() => defaultSinkRegistry().register(fileSinkFactory)).toThrow(PeregrineError);
  });

  it('emits a JSON Schema per type', () => {
    const schemas = defaultSinkRegistry().jsonSchemas() as Record<string, { properties: Record<string, { default?: unknown }>; required?: string[]; additionalProperties?: boolean }>;
    expect(schemas['file']?.required).toEqual(['path']);
    expect(schemas['file']?.additionalProperties).toBe(false);
    expect(schemas['file']?.properties['max_size_bytes']?.default).toBe(10 * 1024 * 1024);
    expect(schemas['compact']?.properties['color']).toMatchObject({ enum: ['auto', 'always', 'never'], default: 'auto' });
  });
});
