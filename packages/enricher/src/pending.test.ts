import type { RawExit } from '@peregrine/events';
import { describe, expect, it } from 'vitest';
import { PendingQueue, ReadyHeap } from './pending.js';
import type { Parked } from './pending.js';
import { exit, key } from './testdata/fixtures.js';

const raw = (pid: number): RawExit => exit(key(pid, 1), 2n);

describe('PendingQueue', () => {
  it('hands back waiters in arrival order and skips the ones taken', () => {
    const q = new PendingQueue(10);
    q.park(raw(1), 'A', undefined, 0);
    q.park(raw(2), 'B', 'b', 1);
    q.park(raw(3), 'A', 'c', 2);
    q.park(raw(4), 'A', undefined, 3);
    const c = q.creating('c') as Parked;
    q.take(c);
    expect(q.creating('c')).toBeUndefined();
    expect(q.takeWaitingFor('A')?.map((p) => (p.raw as RawExit).key.pid)).toEqual([1, 4]);
    expect(q.takeWaitingFor('A')).toBeUndefined();
    expect(q.size).toBe(1);
  });

  it('reports expiry oldest first and refuses beyond max', () => {
    const q = new PendingQueue(2);
    expect(q.park(raw(1), 'A', undefined, 0)).toBe(true);
    expect(q.park(raw(2), 'B', undefined, 5)).toBe(true);
    expect(q.park(raw(3), 'C', undefined, 6)).toBe(false);
    expect(q.oldestExpired(100, 100)).toBeUndefined();
    const first = q.oldestExpired(101, 100) as Parked;
    expect(first.waitFor).toBe('A');
    q.take(first);
    expect(q.oldestExpired(101, 100)).toBeUndefined();
    expect(q.oldestExpired(106, 100)?.waitFor).toBe('B');
  });
});

describe('ReadyHeap', () => {
  it('pops by sequence number', () => {
    const q = new PendingQueue(1000);
    const items: Parked[] = [];
    for (let i = 0; i < 200; i++) {
      q.park(raw(i), `w${i}`, undefined, 0);
      items.push(...(q.takeWaitingFor(`w${i}`) ?? []));
    }
    // A deterministic shuffle.
    const shuffled = items.map((p, i) => ({ p, k: (i * 7919) % 200 })).sort((a, b) => a.k - b.k);
    const heap = new ReadyHeap();
    for (const { p } of shuffled) heap.push(p);
    const seqs: number[] = [];
    for (let p = heap.pop(); p !== undefined; p = heap.pop()) seqs.push(p.seq);
    expect(seqs).toEqual(items.map((p) => p.seq));
    expect(heap.size).toBe(0);
  });
});
