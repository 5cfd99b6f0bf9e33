// compileKfuncHook and the kfunc encoder/decoder on the host (no kernel needed): slots, the socket
// operators, where Override is allowed, errors with paths; a record round trip.
import { ConfigError } from '@peregrine/events';
import { describe, expect, it } from 'vitest';
import { LAYOUTS } from '../abi/layout.js';
import { hookIndex, HookFlag, SEL_LAYOUTS } from '../syscall/layout.js';
import { compileKfuncHook } from './compile.js';
import { decodeKfuncRecord } from './decode.js';
import { encodeKfuncGeneration, encodeSite } from './encode.js';
import type { KernelFunctions } from './kernel.js';
import { KF_LAYOUTS, KfActionTaken, KfMsgFlag, KfSrc, MSG_OP_KFUNC } from './layout.js';

const kernel: KernelFunctions = {
  has: (f) => ['security_file_open', 'tcp_connect', 'vfs_open', '__x64_sys_openat', '__x64_sys_connect', 'security_socket_connect', 'commit_creds',
    'security_task_fix_setuid'].includes(f),
  modifiable: (f) => f.startsWith('security_') || f === '__x64_sys_openat',
  whyNotModifiable: () => 'it is not on the kernel\'s error-injection list',
};

function issues(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('compileKfuncHook', () => {
  it('a file argument with a Prefix filter: one FILE slot, fentry, Post', () => {
    const h = compileKfuncHook('p', {
      call: 'security_file_open', args: [{ index: 0, type: 'file', label: 'f' }],
      selectors: [{ matchArgs: [{ index: 0, operator: 'Prefix', values: ['/etc/'] }] }],
    }, 'enforce', { kernel, id: 7 });
    expect(h).toMatchObject({ id: 7, func: 'security_file_open', kind: 'fentry', return: false, errors: [0] });
    expect(h.slots).toEqual([{ src: 'FILE', index: 0, type: 'string', declared: 'file', label: 'f' }]);
    expect(h.selectors[0]!.matchArgs[0]).toMatchObject({ kind: 'string', operator: 'Prefix', values: ['/etc/'] });
  });

  it('a sock gets the slots its filters need first, then the rest while there is room', () => {
    const h = compileKfuncHook('p', {
      call: 'tcp_connect', args: [{ index: 0, type: 'sock' }],
      selectors: [{ matchArgs: [{ index: 0, operator: 'DAddr', values: ['127.0.0.0/8'] }, { index: 0, operator: 'DPort', values: ['8080'] }], matchActions: [{ action: 'Sigkill' }] }],
    }, 'enforce', { kernel, backend: 'kprobe' });
    expect(h.kind).toBe('kprobe');
    expect(h.slots.map((s) => s.src)).toEqual(['SK_FAMILY', 'SK_DADDR', 'SK_DPORT', 'SK_SADDR', 'SK_SPORT', 'SK_PROTO']);
    expect(h.addrFilters).toEqual([{ selector: 0, filter: 0, cidrs: [{ family: 4, addr: Buffer.from([127, 0, 0, 0]), prefix: 8 }] }]);
    expect(h.selectors[0]!.matchArgs[1]).toMatchObject({ kind: 'int', index: 2, operator: 'Equal', values: [8080n] });
    expect(h.selectors[0]!.action.signal).toBe(9);
  });

  it('Override: fmod_ret on a security_* hook, syscall → __x64_sys_*; refused where the kernel cannot', () => {
    const o = compileKfuncHook('p', {
      call: 'security_file_open', args: [{ index: 0, type: 'file' }],
      selectors: [{ matchArgs: [{ index: 0, operator: 'Equal', values: ['/x'] }], matchActions: [{ action: 'Override', argError: -13 }] }],
    }, 'enforce', { kernel });
    expect(o).toMatchObject({ kind: 'fmod_ret', errors: [-13] });
    const s = compileKfuncHook('p', {
      call: 'sys_openat', syscall: true, args: [{ index: 1, type: 'string' }],
      selectors: [{ matchArgs: [{ index: 1, operator: 'Prefix', values: ['/x/'] }], matchActions: [{ action: 'Override', argError: -1 }] }],
    }, 'enforce', { kernel });
    expect(s).toMatchObject({ kind: 'syscall', func: '__x64_sys_openat', errors: [-1] });
    const refused = issues(() => compileKfuncHook('p', {
      call: 'vfs_open', args: [{ index: 0, type: 'path' }],
      selectors: [{ matchArgs: [{ index: 0, operator: 'Prefix', values: ['/x/'] }], matchActions: [{ action: 'Override', argError: -1 }] }],
    }, 'enforce', { kernel, path: 'spec.kprobes[0]' }));
    expect(refused[0]).toMatchObject({ path: 'spec.kprobes[0].call' });
    expect(refused[0]!.message).toMatch(/error-injection list.*fmod_ret.*lsmhooks/s);
  });

  it('cred arguments: one CRED slot each, reported only; a matchArgs filter on one is refused with its path', () => {
    const h = compileKfuncHook('p', {
      call: 'security_task_fix_setuid', args: [{ index: 0, type: 'cred', label: 'new' }, { index: 1, type: 'cred', label: 'old' }, { index: 2, type: 'int' }],
      selectors: [{ matchArgs: [{ index: 2, operator: 'Equal', values: ['0'] }] }],
    }, 'enforce', { kernel });
    expect(h.slots).toEqual([
      { src: 'CRED', index: 0, type: 'string', declared: 'cred', label: 'new' },
      { src: 'CRED', index: 1, type: 'string', declared: 'cred', label: 'old' },
      { src: 'INT', index: 2, type: 'int', declared: 'int' },
    ]);
    expect(h.selectors[0]!.matchArgs[0]).toMatchObject({ kind: 'int', index: 2 });
    const refused = issues(() => compileKfuncHook('p', {
      call: 'commit_creds', args: [{ index: 0, type: 'cred' }],
      selectors: [{ matchBinaries: [{ operator: 'In', values: ['/usr/bin/su'] }] }, { matchArgs: [{ index: 0, operator: 'Equal', values: ['0'] }] }],
    }, 'enforce', { kernel, path: 'spec.kprobes[3]' }));
    expect(refused).toEqual([{ path: 'spec.kprobes[3].selectors[1].matchArgs[0].index', message: expect.stringMatching(/argument 0 is a cred.*does not filter/) }]);
    expect(issues(() => compileKfuncHook('p', {
      call: 'sys_openat', syscall: true, args: [{ index: 0, type: 'cred' }],
      selectors: [{ matchPIDs: [{ operator: 'In', values: [1] }], matchActions: [{ action: 'Override', argError: -1 }] }],
    }, 'enforce', { kernel }))[0]).toMatchObject({ path: 'args[0].type' });
  });

  it('load errors name the field: a missing function, a bad argument type, Override without a filter', () => {
    expect(issues(() => compileKfuncHook('p', { call: 'no_such_fn', args: [] }, 'enforce', { kernel, path: 'spec.kprobes[2]' })))
      .toEqual([{ path: 'spec.kprobes[2].call', message: expect.stringMatching(/'no_such_fn' does not exist on this kernel/) }]);
    expect(issues(() => compileKfuncHook('p', { call: 'vfs_open', args: [{ index: 0, type: 'skb' }] }, 'enforce', { kernel, path: 'spec.kprobes[0]' }))[0])
      .toMatchObject({ path: 'spec.kprobes[0].args[0].type' });
    expect(issues(() => compileKfuncHook('p', { call: 'sys_openat', syscall: true, args: [{ index: 0, type: 'file' }], selectors: [{ matchPIDs: [{ operator: 'In', values: [1] }], matchActions: [{ action: 'Override', argError: -1 }] }] }, 'enforce', { kernel }))[0])
      .toMatchObject({ path: 'args[0].type' });
    expect(issues(() => compileKfuncHook('p', { call: 'security_file_open', args: [], selectors: [{ matchActions: [{ action: 'Override', argError: -1 }] }] }, 'enforce', { kernel }))[0]!.message)
      .toMatch(/without any filter/);
  });
});

describe('encode and decode', () => {
  it('kf_hook, kf_site and the DAddr keys; a record with a path, a sock and a return value decodes', () => {
    const h = compileKfuncHook('p', {
      call: 'tcp_connect', return: true, args: [{ index: 0, type: 'sock' }],
      selectors: [{ matchArgs: [{ index: 0, operator: 'DAddr', values: ['10.0.0.0/8'] }] }],
    }, 'enforce', { kernel, id: 3 });
    const enc = encodeKfuncGeneration([h], 1, () => 0, () => 5);
    const F = KF_LAYOUTS.kf_hook.fields;
    expect(enc.ext[0]!.key.readUInt32LE(0)).toBe(hookIndex(1, 0));
    expect(enc.ext[0]!.value.readUInt32LE(F.site)).toBe(5);
    expect(enc.ext[0]!.value.readUInt8(F.src + 1)).toBe(KfSrc.SK_DADDR);
    expect(enc.siteChains.get(5)).toEqual([0]);
    expect(enc.hooks[0]!.value.readUInt32LE(SEL_LAYOUTS.sel_hook.fields.flags) & HookFlag.RETURN).toBe(HookFlag.RETURN);
    expect(enc.strPrefix.length).toBe(1);
    const site = encodeSite(null, 1, 'kprobe', true, [0]);
    expect(site.readUInt32LE(0)).toBe(2);
    expect(site.readUInt16LE(8 + 8 * 2)).toBe(0);
    expect(site.readUInt16LE(8)).toBe(0xffff);

    // A record: path slot + sock slots (family, daddr, dport).
    const M = KF_LAYOUTS.msg_kfunc.fields;
    const path = Buffer.from('/etc/passwd');
    const parts = [
      Buffer.from([KfSrc.FILE, 0, path.length, 0]), path,
      Buffer.from([KfSrc.SK_FAMILY, 1, 8, 0]), u64(2),
      Buffer.from([KfSrc.SK_DADDR, 1, 5, 0]), Buffer.from([2, 10, 1, 2, 3]),
      Buffer.from([KfSrc.SK_DPORT, 1, 8, 0]), u64(443),
    ];
    const data = Buffer.concat(parts);
    const rec = Buffer.alloc(KF_LAYOUTS.msg_kfunc.size + data.length);
    rec.writeUInt8(MSG_OP_KFUNC, LAYOUTS.msg_common.fields.op);
    rec.writeUInt8(KfMsgFlag.RETURN, LAYOUTS.msg_common.fields.flags);
    rec.writeUInt32LE(rec.length, LAYOUTS.msg_common.fields.size);
    rec.writeUInt32LE(42, M.tgid);
    rec.writeUInt32LE(3, M.hook_id);
    rec.writeUInt8(KfActionTaken.OVERRIDE, M.action);
    rec.writeInt32LE(-13, M.err);
    rec.writeUInt8(4, M.nargs);
    rec.writeBigInt64LE(-2n, M.ret);
    rec.writeUInt16LE(data.length, M.args_len);
    rec.write('cat', M.comm);
    data.copy(rec, KF_LAYOUTS.msg_kfunc.size);
    const r = decodeKfuncRecord(rec, 0, rec.length);
    expect(r).toMatchObject({ tgid: 42, hookId: 3, action: 'override', errno: 13, ret: -2n, comm: 'cat' });
    expect(r.args).toEqual([
      { index: 0, kind: 'path', type: 'file', path: '/etc/passwd', truncated: false, fault: false },
      { index: 1, kind: 'sock', family: 2, familyName: 'AF_INET', protocol: null, saddr: null, daddr: '10.1.2.3', sport: null, dport: 443 },
    ]);
  });
});

describe('cred records', () => {
  it('a struct kf_cred slot decodes to ids, capability masks and the user namespace; an unreadable one to null', () => {
    const C = KF_LAYOUTS.kf_cred;
    const cred = credRecordPayload();
    const data = Buffer.concat([
      Buffer.from([KfSrc.CRED, 0, C.size, 0]), cred,
      Buffer.from([KfSrc.CRED, 1, 0, 0]),
    ]);
    const r = decodeKfuncRecord(record(data, 2, 0b10), 0, KF_LAYOUTS.msg_kfunc.size + data.length);
    expect(r.args).toEqual([
      {
        index: 0, kind: 'cred',
        cred: {
          uid: 65534, gid: 65534, suid: 65534, sgid: 65534, euid: 65534, egid: 65534, fsuid: 65534, fsgid: 65534, securebits: 0x10,
          permitted: (1n << 7n) | (1n << 6n), effective: 1n << 7n, inheritable: 0n,
          userNs: { level: 0, uid: 0, gid: 0, inum: 4026531837 },
        },
      },
      { index: 1, kind: 'cred', cred: null },
    ]);
    const bad = Buffer.concat([Buffer.from([KfSrc.CRED, 0, 12, 0]), Buffer.alloc(12)]);
    expect(() => decodeKfuncRecord(record(bad, 1, 0), 0, KF_LAYOUTS.msg_kfunc.size + bad.length)).toThrow(/cred slot of 12 bytes/);
  });
});

/** A struct kf_cred: every id 65534, SecBitKeepCaps, CAP_SETGID|CAP_SETUID permitted, CAP_SETUID effective, the host user namespace. */
export function credRecordPayload(): Buffer {
  const F = KF_LAYOUTS.kf_cred.fields;
  const b = Buffer.alloc(KF_LAYOUTS.kf_cred.size);
  for (const f of [F.uid, F.gid, F.suid, F.sgid, F.euid, F.egid, F.fsuid, F.fsgid]) b.writeUInt32LE(65534, f);
  b.writeUInt32LE(0x10, F.securebits);
  b.writeBigUInt64LE((1n << 7n) | (1n << 6n), F.cap_permitted);
  b.writeBigUInt64LE(1n << 7n, F.cap_effective);
  b.writeInt32LE(0, F.ns_level);
  b.writeUInt32LE(4026531837, F.ns_inum);
  return b;
}

/** A Post record of hook 1 carrying `data` (nargs slots; fault bits). */
function record(data: Buffer, nargs: number, fault: number): Buffer {
  const M = KF_LAYOUTS.msg_kfunc.fields;
  const rec = Buffer.alloc(KF_LAYOUTS.msg_kfunc.size + data.length);
  rec.writeUInt8(MSG_OP_KFUNC, LAYOUTS.msg_common.fields.op);
  rec.writeUInt8(fault ? KfMsgFlag.FAULT : 0, LAYOUTS.msg_common.fields.flags);
  rec.writeUInt32LE(rec.length, LAYOUTS.msg_common.fields.size);
  rec.writeUInt32LE(1, M.hook_id);
  rec.writeUInt8(KfActionTaken.POST, M.action);
  rec.writeUInt8(nargs, M.nargs);
  rec.writeUInt8(fault, M.fault);
  rec.writeUInt16LE(data.length, M.args_len);
  data.copy(rec, KF_LAYOUTS.msg_kfunc.size);
  return rec;
}

function u64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}
