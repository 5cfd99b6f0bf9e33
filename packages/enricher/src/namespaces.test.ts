import { describe, expect, it } from 'vitest';
import { NamespaceCache, namespaces } from './namespaces.js';
import { HOST_NS } from './testdata/fixtures.js';

describe('namespaces', () => {
  it('marks the namespaces shared with the host', () => {
    const ns = namespaces({ ...HOST_NS, net: 4026532500, mnt: 4026532501 }, HOST_NS);
    expect(ns.uts).toEqual({ inum: HOST_NS.uts, is_host: true });
    expect(ns.net).toEqual({ inum: 4026532500, is_host: false });
    expect(ns.mnt).toEqual({ inum: 4026532501, is_host: false });
    expect(Object.keys(ns)).toEqual(['uts', 'ipc', 'mnt', 'pid', 'pid_for_children', 'net', 'time', 'time_for_children', 'cgroup', 'user']);
  });

  it('shares the object between consecutive identical sets', () => {
    const cache = new NamespaceCache(HOST_NS);
    const a = cache.get({ ...HOST_NS });
    expect(cache.get({ ...HOST_NS })).toBe(a);
    const b = cache.get({ ...HOST_NS, pid: 1 });
    expect(b).not.toBe(a);
    expect(b.pid).toEqual({ inum: 1, is_host: false });
    expect(Object.isFrozen(b) && Object.isFrozen(b.pid)).toBe(true);
  });
});
