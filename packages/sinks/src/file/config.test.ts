import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '@peregrine/events';
import { FILE_SINK_DEFAULTS, fileSinkSchema } from './config.js';
import { fileSinkFactory } from './factory.js';

function issues(value: unknown): { path: string; message: string }[] {
  try {
    parseConfig(fileSinkSchema, value, 'file sink config');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('file sink config', () => {
  it('fills in the defaults', () => {
    expect(parseConfig(fileSinkSchema, { path: '/tmp/x.log' }, 'cfg')).toEqual({
      path: '/tmp/x.log',
      max_size_bytes: 10 * 1024 * 1024,
      max_backups: 5,
      compress: false,
      file_mode: 0o600,
    });
  });

  it('defaultConfig() is complete and valid', () => {
    const cfg = fileSinkFactory.defaultConfig();
    expect(cfg).toEqual(FILE_SINK_DEFAULTS);
    expect(fileSinkSchema.parse(cfg)).toEqual(cfg);
  });

  it('requires path', () => {
    expect(issues({})).toEqual([expect.objectContaining({ path: 'path' })]);
    expect(issues({ path: '' })).toEqual([expect.objectContaining({ path: 'path' })]);
  });

  it('rejects unknown keys, naming them', () => {
    const found = issues({ path: '/x', max_size: 5, compression: 'gzip' });
    expect(found.map((i) => i.path).sort()).toEqual(['compression', 'max_size']);
    expect(found.every((i) => i.message === 'unknown field')).toBe(true);
    expect(() => parseConfig(fileSinkSchema, { path: '/x', max_size: 5 }, 'file sink config')).toThrow(/max_size/);
  });

  it('rejects wrong types', () => {
    expect(issues({ path: 7, max_size_bytes: '10MB', compress: 'yes', max_backups: 1.5 }).map((i) => i.path).sort()).toEqual([
      'compress',
      'max_backups',
      'max_size_bytes',
      'path',
    ]);
  });

  it('rejects negative sizes and counts, naming every field', () => {
    expect(issues({ path: '/x', max_size_bytes: -1, max_backups: -2 }).map((i) => i.path).sort()).toEqual(['max_backups', 'max_size_bytes']);
  });

  it('accepts 0 (never rotate / keep no backups)', () => {
    expect(parseConfig(fileSinkSchema, { path: '/x', max_size_bytes: 0, max_backups: 0 }, 'cfg')).toMatchObject({ max_size_bytes: 0, max_backups: 0 });
  });

  it('checks file_mode', () => {
    expect(parseConfig(fileSinkSchema, { path: '/x', file_mode: 0o640 }, 'cfg').file_mode).toBe(0o640);
    expect(issues({ path: '/x', file_mode: 0o400 })).toEqual([expect.objectContaining({ path: 'file_mode', message: expect.stringContaining('owner') })]);
    expect(issues({ path: '/x', file_mode: 0o4600 })).toEqual([expect.objectContaining({ path: 'file_mode' })]);
    expect(issues({ path: '/x', file_mode: '0600' })).toEqual([expect.objectContaining({ path: 'file_mode' })]);
  });
});
