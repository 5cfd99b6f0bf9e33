import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PartitionerArgs } from 'kafkajs';
import { javaCompatiblePartitioner, keyPartition, murmur2 } from './partitioner.js';

// kafkajs's own Java-compatible hash (its DefaultPartitioner), the reference this one must equal.
const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: string | Buffer) => number;

describe('murmur2', () => {
  it("gives the Java client's values (Kafka's UtilsTest vectors)", () => {
    expect(murmur2('21')).toBe(-973932308);
    expect(murmur2('foobar')).toBe(-790332482);
    expect(murmur2('a-little-bit-long-string')).toBe(-985981536);
    expect(murmur2('a-little-bit-longer-string')).toBe(-1486304829);
    expect(murmur2('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')).toBe(-58897971);
    expect(murmur2(Buffer.from('abc'))).toBe(479470107);
  });

  it("equals kafkajs's hash for every length 0..64, as strings and as bytes, ASCII or not", () => {
    for (let len = 0; len <= 64; len++) {
      for (let rep = 0; rep < 20; rep++) {
        const bytes = randomBytes(len);
        expect(murmur2(bytes)).toBe(kafkajsMurmur2(bytes));
        const ascii = bytes.toString('base64').slice(0, len);
        expect(murmur2(ascii)).toBe(kafkajsMurmur2(ascii));
        const wide = `é${ascii}€`;
        expect(murmur2(wide)).toBe(kafkajsMurmur2(wide));
      }
    }
  });
});

describe('javaCompatiblePartitioner', () => {
  const meta = (n: number, down: number[] = []) => Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: down.includes(i) ? -1 : 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
  const args = (message: PartitionerArgs['message'], n = 6, down: number[] = []): PartitionerArgs => ({ topic: 't', partitionMetadata: meta(n, down), message });

  it('puts a key on toPositive(murmur2) % partitions, counting partitions without a leader too', () => {
    const p = javaCompatiblePartitioner();
    for (let i = 0; i < 200; i++) {
      const key = randomBytes(24).toString('base64');
      const expected = (kafkajsMurmur2(key) & 0x7fffffff) % 7;
      expect(p(args({ key, value: 'v' }, 7, [expected]))).toBe(expected);
      expect(keyPartition(key, 7)).toBe(expected);
    }
  });

  it('keeps an explicit partition, and spreads unkeyed records over the partitions that have a leader', () => {
    const p = javaCompatiblePartitioner();
    expect(p(args({ key: 'k', value: 'v', partition: 4 }))).toBe(4);
    const seen = Array.from({ length: 12 }, () => p(args({ value: 'v' }, 4, [1])));
    expect(new Set(seen)).toEqual(new Set([0, 2, 3]));
  });
});
