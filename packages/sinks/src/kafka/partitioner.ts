// The producer's partitioner: the Java client's default for keyed records — toPositive(murmur2(key)) %
// partitions, over all partitions — so that one process's events (key = exec_id) land on the partition
// a Java producer would pick too. kafkajs's own DefaultPartitioner computes the same hash with a 64-bit
// Long object per step and copies the partition list per record (~4 µs a record, 10 % of the sink's
// CPU in bench/sinks.mjs); 32-bit Math.imul gives the same bits, since every step of the hash only keeps
// the low 32 bits. Records without a key (we send none) go round-robin over the partitions with a leader.
import type { ICustomPartitioner, PartitionerArgs } from 'kafkajs';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2) of the key's UTF-8 bytes, as a signed int. */
export function murmur2(key: string | Uint8Array): number {
  if (typeof key === 'string') {
    // exec_id is base64: ASCII, so its UTF-16 code units are its UTF-8 bytes.
    for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0x7f) return murmur2Bytes(Buffer.from(key, 'utf8'));
    return murmur2Ascii(key);
  }
  return murmur2Bytes(key);
}

function murmur2Bytes(data: Uint8Array): number {
  const length = data.length;
  const whole = length & ~3;
  let h = SEED ^ length;
  for (let i = 0; i < whole; i += 4) {
    h = mix(h, (data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24));
  }
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= (data[whole + 2] as number) << 16;
    if (rest >= 2) h ^= (data[whole + 1] as number) << 8;
    h = Math.imul(h ^ (data[whole] as number), M);
  }
  return finish(h);
}

function murmur2Ascii(s: string): number {
  const length = s.length;
  const whole = length & ~3;
  let h = SEED ^ length;
  for (let i = 0; i < whole; i += 4) {
    h = mix(h, s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24));
  }
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= s.charCodeAt(whole + 2) << 16;
    if (rest >= 2) h ^= s.charCodeAt(whole + 1) << 8;
    h = Math.imul(h ^ s.charCodeAt(whole), M);
  }
  return finish(h);
}

function mix(h: number, k: number): number {
  k = Math.imul(k, M);
  k ^= k >>> 24;
  k = Math.imul(k, M);
  return Math.imul(h, M) ^ k;
}

function finish(h: number): number {
  h ^= h >>> 13;
  h = Math.imul(h, M);
  return (h ^ (h >>> 15)) | 0;
}

/** The partition the Java client's default partitioner gives a key among `partitions`. */
export function keyPartition(key: string | Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/** kafkajs `createPartitioner`: keyed records by keyPartition, unkeyed ones round-robin. */
export const javaCompatiblePartitioner: ICustomPartitioner = () => {
  const next = new Map<string, number>();
  return ({ topic, partitionMetadata, message }: PartitionerArgs): number => {
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    if (message.key !== undefined && message.key !== null) return keyPartition(message.key, partitionMetadata.length);
    const led = partitionMetadata.filter((p) => p.leader >= 0);
    const pool = led.length > 0 ? led : partitionMetadata;
    const i = next.get(topic) ?? 0;
    next.set(topic, (i + 1) & 0x7fffffff);
    return (pool[i % pool.length] as { partitionId: number }).partitionId;
  };
};
