// The kfunc adapter's argument shapes: a decoded struct cred → Tetragon's process_credentials_arg.
import { describe, expect, it } from 'vitest';
import type { kfunc } from '@peregrine/collector';
import { kfuncArgument } from './kfunc.js';

const cred: kfunc.KfuncCred = {
  uid: 65534, gid: 65534, suid: 65534, sgid: 65534, euid: 65534, egid: 65534, fsuid: 65534, fsgid: 65534, securebits: 0x10,
  permitted: (1n << 7n) | (1n << 6n) | (1n << 40n), effective: 1n << 7n, inheritable: 0n,
  userNs: { level: 0, uid: 0, gid: 0, inum: 4026531837 },
};

describe('kfuncArgument: cred', () => {
  it("is Tetragon's process_credentials_arg: ids, securebits names, capability names, the user namespace", () => {
    const a = kfuncArgument({ index: 0, kind: 'cred', cred }, 'cred', 'new');
    expect(JSON.parse(JSON.stringify(a))).toEqual({
      process_credentials_arg: {
        uid: 65534, gid: 65534, euid: 65534, egid: 65534, suid: 65534, sgid: 65534, fsuid: 65534, fsgid: 65534,
        securebits: ['SecBitKeepCaps'],
        caps: { permitted: ['CAP_SETGID', 'CAP_SETUID', 'CAP_CHECKPOINT_RESTORE'], effective: ['CAP_SETUID'], inheritable: [] },
        user_ns: { level: 0, uid: 0, gid: 0, ns: { inum: 4026531837, is_host: true } },
      },
      label: 'new',
    });
  });

  it('omits securebits when none is set; a nested user namespace is not the host; an unreadable cred is empty', () => {
    const a = kfuncArgument({ index: 0, kind: 'cred', cred: { ...cred, securebits: 0, userNs: { level: 1, uid: 1000, gid: 1000, inum: 4026532500 } } }, 'cred', undefined);
    expect(a).not.toHaveProperty('process_credentials_arg.securebits');
    expect(a).toMatchObject({ process_credentials_arg: { user_ns: { level: 1, uid: 1000, gid: 1000, ns: { inum: 4026532500, is_host: false } } } });
    expect(kfuncArgument({ index: 0, kind: 'cred', cred: null }, 'cred', undefined)).toEqual({ process_credentials_arg: {} });
  });
});
