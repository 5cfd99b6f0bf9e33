import { describe, expect, it } from 'vitest';
import { execId } from './exec-id.js';

describe('execId', () => {
  it('is base64 of node:ktime:pid', () => {
    const id = execId('node-a', 13548674321373n, 52699);
    expect(Buffer.from(id, 'base64').toString()).toBe('node-a:13548674321373:52699');
  });

  it("matches Tetragon's documented exec_id", () => {
    // docs/content/en/docs/concepts/events.md
    expect(execId('gke-john-632-default-pool-7041cac0-9s95', 13548674321373n, 52699)).toBe(
      'Z2tlLWpvaG4tNjMyLWRlZmF1bHQtcG9vbC03MDQxY2FjMC05czk1OjEzNTQ4Njc0MzIxMzczOjUyNjk5',
    );
  });

  it('keeps ktimes beyond 2^53 exact', () => {
    const id = execId('n', 18446744073709551615n, 1);
    expect(Buffer.from(id, 'base64').toString()).toBe('n:18446744073709551615:1');
  });
});
