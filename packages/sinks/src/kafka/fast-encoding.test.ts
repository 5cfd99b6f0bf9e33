// The fast encoders against kafkajs's own, byte for byte, on random records and buffers; and their
// installation into kafkajs. (The broker checks every batch's CRC: test/integration/kafka.test.ts.)
import { readFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32c, fastRecord, kafkaFastEncoding } from './fast-encoding.js';
import './client.js'; // installs them, as the sink does

const require = createRequire(import.meta.url);

/** A kafkajs module compiled afresh from its file (the cached one is ours). */
function original<T>(id: string): T {
  const path = require.resolve(id);
  const m = new Module(`${path}#test`);
  m.filename = path;
  (m as unknown as { paths: string[] }).paths = (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(dirname(path));
  (m as unknown as { _compile(src: string, file: string): void })._compile(readFileSync(path, 'utf8'), path);
  return m.exports as T;
}

type Rec = (a: Record<string, unknown>) => { buffer: Buffer };
const kafkajsRecord = original<Rec>('kafkajs/src/protocol/recordBatch/record/v0/index.js');
const kafkajsCrc = original<(b: Buffer) => number>('kafkajs/src/protocol/recordBatch/crc32C/index.js');
const Long = require('kafkajs/src/utils/long') as { fromValue(v: number): unknown };
const fast = fastRecord(kafkajsRecord as never) as unknown as Rec;

// A seeded generator: a failure is reproducible.
let seed = 0x2545f491;
const rand = (n: number): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
};
const text = (n: number): string => Array.from({ length: n }, () => ['a', 'é', '€', '😀', '"', '\n', '0'][rand(7)]).join('');
const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => rand(256)));
const sizes = [0, 1, 63, 64, 127, 128, 8191, 8192, 300, 1700];
const keyOrValue = (): unknown => [null, undefined, text(sizes[rand(sizes.length)]!), bytes(sizes[rand(sizes.length)]!)][rand(4)];

describe('crc32c', () => {
  it('is CRC-32C (the check value of "123456789")', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it("equals kafkajs's on 2,000 random buffers of every length mod 8", () => {
    for (let i = 0; i < 2000; i++) {
      const b = bytes(rand(3000));
      expect(crc32c(b)).toBe(kafkajsCrc(b));
    }
  });
});

describe('fastRecord', () => {
  it("encodes the sink's records exactly as kafkajs does (1,000 random ones)", () => {
    for (let i = 0; i < 1000; i++) {
      const headers: Record<string, unknown> = {};
      for (let h = rand(9); h > 0; h--) headers[text(1 + rand(20))] = rand(2) ? text(rand(200)) : bytes(rand(200));
      const args = {
        offsetDelta: [0, 1, 63, 64, 999, 8191, 8192, 2 ** 31 - 1][rand(8)],
        timestampDelta: [0, 1, -1, 64, -65, 1_000_000, -(2 ** 31), 2 ** 31 - 1][rand(8)],
        key: keyOrValue(),
        value: keyOrValue(),
        headers,
      };
      expect(fast(args).buffer).toEqual(kafkajsRecord(args).buffer);
    }
  });

  it("hands other shapes to kafkajs's encoder: array header values, Long or wide timestamp deltas, no headers", () => {
    const cases: Record<string, unknown>[] = [
      { key: 'k', value: 'v', headers: { a: ['x', 'y'], b: 'z' } },
      { key: 'k', value: 'v', timestampDelta: Long.fromValue(5) },
      { key: 'k', value: 'v', timestampDelta: 2 ** 40 },
      { key: Buffer.from('k'), value: null },
      { value: 'only a value' },
    ];
    for (const c of cases) expect(fast(c).buffer).toEqual(kafkajsRecord(c).buffer);
    // and what kafkajs refuses, it still refuses
    expect(() => kafkajsRecord({ key: 'k', value: 'v', headers: { a: null } })).toThrow(TypeError);
    expect(() => fast({ key: 'k', value: 'v', headers: { a: null } })).toThrow(TypeError);
  });
});

describe('installation', () => {
  it('is what kafkajs loads', () => {
    expect(kafkaFastEncoding()).toEqual({ installed: true });
    expect(require('kafkajs/src/protocol/recordBatch/crc32C/index.js')).toBe(crc32c);
    const installed = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as Rec;
    expect(installed).not.toBe(kafkajsRecord);
    const args = { key: 'k', value: Buffer.from('{}'), headers: { ce_id: 'x' }, offsetDelta: 3, timestampDelta: 0 };
    expect(installed(args).buffer).toEqual(kafkajsRecord(args).buffer);
  });
});
