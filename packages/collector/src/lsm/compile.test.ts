import { ConfigError } from '@peregrine/events';
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kernelDev } from '../syscall/compile.js';
import { Filt, HookFlag, LPM_KEY_SIZE, SEL, SEL_LAYOUTS as SL, hookIndex, selId } from '../syscall/layout.js';
import { compileLsmHook, type LsmHookSpecInput } from './compile.js';
import { addrKey, encodeChain, encodeLsmGeneration } from './encode.js';
import { LSM_LAYOUTS as L, LsmHookId, LsmSrc } from './layout.js';

const deny = [{ action: 'Override', argError: -1 }];

function issues(spec: LsmHookSpecInput): { path: string; message: string }[] {
  try {
    compileLsmHook('p', spec, 'enforce', { path: 'spec.lsmhooks[0]' });
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  return [];
}

describe('compileLsmHook', () => {
  it('bprm_check_security: the linux_binprm argument is one path slot; Override keeps its errno', () => {
    const h = compileLsmHook('p', {
      hook: 'bprm_check_security',
      args: [{ index: 0, type: 'linux_binprm', label: 'exe' }],
      selectors: [{ matchArgs: [{ index: 0, operator: 'Equal', values: ['/nonexistent/peregrine-x'] }], matchActions: [...deny, { action: 'Post' }] }, {}],
    }, 'monitor', { id: 7 });
    expect(h).toMatchObject({ id: 7, policy: 'p', hook: 'bprm_check_security', monitor: true, errors: [-1, 0], addrFilters: [] });
    expect(h.slots).toEqual([{ src: 'BPRM', index: 0, type: 'string', declared: 'linux_binprm', label: 'exe' }]);
    // a file that does not exist (yet) is matched by its path only
    expect(h.selectors[0]!.matchArgs).toEqual([{ kind: 'string', index: 0, operator: 'Equal', values: ['/nonexistent/peregrine-x'] }]);
    expect(h.selectors[0]!.action).toMatchObject({ post: true, signal: 0, actions: ['Post'] });
    expect(h.selectors[1]!.matchArgs).toEqual([]);
  });

  it('Equal/NotEqual on a path also match the inode each existing value names (hard links, renames); Prefix does not', () => {
    const st = statSync('/etc/passwd', { bigint: true });
    const h = compileLsmHook('p', {
      hook: 'file_open',
      args: [{ index: 0, type: 'file' }],
      selectors: [
        { matchArgs: [{ index: 0, operator: 'Equal', values: ['/etc/passwd', '/nonexistent/peregrine-y'] }], matchActions: deny },
        { matchArgs: [{ index: 0, operator: 'Prefix', values: ['/etc/passwd'] }] },
      ],
    }, 'enforce', { id: 9 });
    expect(h.selectors[0]!.matchArgs[0]).toMatchObject({ inodes: [{ dev: kernelDev(st.dev), ino: st.ino }] });
    expect(h.selectors[1]!.matchArgs[0]).not.toHaveProperty('inodes');
    // the encoder writes one (id, dev, ino) key for it, beside the path key
    const g = encodeLsmGeneration([h], 0, () => 0);
    const id = selId(0, g.slots.get(h.id)!, 0, Filt.ARG);
    const want = Buffer.alloc(16);
    want.writeUInt32LE(id, 0);
    want.writeUInt32LE(kernelDev(st.dev), 4);
    want.writeBigUInt64LE(st.ino, 8);
    expect(g.binIno.map((k) => k.toString('hex'))).toEqual([want.toString('hex')]);
  });

  it('socket_connect: a sockaddr is three slots, its operators become slot filters', () => {
    const h = compileLsmHook('p', {
      hook: 'socket_connect',
      args: [{ index: 1, type: 'sockaddr' }, { index: 2, type: 'int' }],
      selectors: [{
        matchArgs: [
          { index: 1, operator: 'Family', values: ['AF_INET', '10'] },
          { index: 1, operator: 'DAddr', values: ['127.0.0.0/8', '::ffff:10.0.0.0/104', 'fd00::/8'] },
          { index: 1, operator: 'NotDPort', values: ['22'] },
          { index: 1, operator: 'DPortPriv' },
          { index: 2, operator: 'GT', values: ['4'] },
        ],
        matchActions: [{ action: 'Sigkill' }],
      }],
    }, 'enforce');
    expect(h.slots.map((s) => [s.src, s.index, s.type])).toEqual([
      ['SA_FAMILY', 1, 'uint16'], ['SA_PORT', 1, 'uint16'], ['SA_ADDR', 1, 'string'], ['INT', 2, 'int'],
    ]);
    expect(h.selectors[0]!.matchArgs).toEqual([
      { kind: 'int', index: 0, operator: 'Equal', values: [2n, 10n] },
      { kind: 'string', index: 2, operator: 'Prefix', values: [] },
      { kind: 'int', index: 1, operator: 'NotEqual', values: [22n] },
      { kind: 'int', index: 1, operator: 'LT', value: 1024n },
      { kind: 'int', index: 3, operator: 'GT', value: 4n },
    ]);
    expect(h.addrFilters).toEqual([{
      selector: 0, filter: 1, cidrs: [
        { family: 4, addr: Buffer.from([127, 0, 0, 0]), prefix: 8 },
        { family: 4, addr: Buffer.from([10, 0, 0, 0]), prefix: 8 }, // v4-mapped: matched as IPv4
        { family: 6, addr: Buffer.from([0xfd, ...Array(15).fill(0)]), prefix: 8 },
      ],
    }]);
    expect(h.selectors[0]!.action.signal).toBe(9);
    expect(h.errors).toEqual([0]);
  });

  it('path hooks: path_unlink reads the directory and the entry', () => {
    const h = compileLsmHook('p', { hook: 'path_unlink', args: [{ index: 0, type: 'path' }, { index: 1, type: 'path' }] }, 'enforce');
    expect(h.slots.map((s) => s.src)).toEqual(['PATH', 'DENTRY']);
  });

  it('refuses an enforcing Override or Sigkill that no filter narrows (it would hit every call)', () => {
    expect(issues({ hook: 'bprm_check_security', selectors: [{ matchActions: deny }] })).toEqual([
      { path: 'spec.lsmhooks[0].selectors[0]', message: expect.stringContaining('would hit every bprm_check_security call') },
    ]);
    expect(issues({ hook: 'file_open', selectors: [{ matchBinaries: [{ operator: 'In', values: ['/bin/cat'] }], matchActions: [{ action: 'Sigkill' }] }] })).toEqual([]);
    expect(() => compileLsmHook('p', { hook: 'file_open', selectors: [{ matchActions: deny }] }, 'monitor')).not.toThrow();
  });

  it('names what it cannot do, with the paths of the lsmhooks entry', () => {
    expect(issues({ hook: 'inode_create' })).toEqual([
      { path: 'spec.lsmhooks[0].hook', message: expect.stringContaining("no program for 'inode_create'") },
    ]);
    expect(issues({ hook: 'file_open', args: [{ index: 0, type: 'path' }, { index: 1, type: 'int' }] })).toEqual([
      { path: 'spec.lsmhooks[0].args[0].type', message: expect.stringContaining("declare type 'file'") },
      { path: 'spec.lsmhooks[0].args[1].index', message: expect.stringContaining('has 1 argument') },
    ]);
    expect(issues({ hook: 'socket_connect', args: [{ index: 0, type: 'sock' }] })[0]?.message).toMatch(/does not read.*sockaddr/);
    expect(issues({
      hook: 'socket_connect', args: [{ index: 1, type: 'sockaddr' }],
      selectors: [{ matchArgs: [{ index: 1, operator: 'Protocol', values: ['TCP'] }, { index: 1, operator: 'DAddr', values: ['10.0.0.0/33'] }] }],
    }).map((i) => i.path)).toEqual(['spec.lsmhooks[0].selectors[0].matchArgs[0].operator', 'spec.lsmhooks[0].selectors[0].matchArgs[1].values[0]']);
    expect(issues({
      hook: 'file_open', args: [{ index: 0, type: 'file' }],
      selectors: [{
        matchArgs: [{ index: 0, operator: 'Prefix', values: ['/etc/'] }, { index: 3, operator: 'Equal', values: ['x'] }],
        matchBinaries: [{ operator: 'In', values: ['/bin/sh'], followChildren: true }],
        matchParentBinaries: [{ operator: 'Prefix', values: ['/usr/'], followChildren: true }],
        matchActions: [{ action: 'Override' }, { action: 'Signal' }],
      }],
    })).toEqual([
      { path: 'spec.lsmhooks[0].selectors[0].matchArgs[1].index', message: 'argument 3 is not declared in args' },
      { path: 'spec.lsmhooks[0].selectors[0].matchActions[0].argError', message: expect.stringContaining('Override needs argError') },
      { path: 'spec.lsmhooks[0].selectors[0].matchParentBinaries[0].followChildren', message: expect.stringContaining('In and NotIn operators only (not Prefix)') },
      { path: 'spec.lsmhooks[0].selectors[0].matchActions[1].argSig', message: expect.stringContaining('argSig') },
    ]);
  });

  it('accepts matchParentBinaries (it narrows an Override) and matchBinaries followChildren', () => {
    const h = compileLsmHook('p', {
      hook: 'file_open',
      args: [{ index: 0, type: 'file' }],
      selectors: [
        { matchParentBinaries: [{ operator: 'In', values: ['/bin/sh'] }], matchActions: deny },
        { matchBinaries: [{ operator: 'In', values: ['/bin/sh'], followChildren: true }], matchActions: [{ action: 'Override', argError: -13 }] },
      ],
    }, 'enforce', { path: 'spec.lsmhooks[0]', id: 21 });
    const sh = statSync('/bin/sh', { bigint: true });
    expect(h.selectors[0]!.matchParentBinaries).toEqual([
      { operator: 'In', values: [{ path: '/bin/sh', dev: kernelDev(sh.dev), ino: sh.ino }] },
    ]);
    expect(h.selectors[1]!.matchBinaries).toEqual([
      { operator: 'In', values: [{ path: '/bin/sh', dev: kernelDev(sh.dev), ino: sh.ino }], followChildren: true },
    ]);
    expect(h.errors).toEqual([-1, -13]);
    // The hook asks sel_process.h for the parent's executable and the followChildren lineage; the
    // value list gets the bit fcBit assigns, and its executables are handed to the backend (enc.fc).
    const enc = encodeLsmGeneration([h], 0, () => 0, () => 5);
    const flags = enc.hooks[0]!.value.readUInt32LE(SL.sel_hook.fields.flags);
    expect(flags & HookFlag.PEXE).toBe(HookFlag.PEXE);
    expect(flags & HookFlag.FC).toBe(HookFlag.FC);
    expect([...enc.fc]).toEqual([[5, [{ path: '/bin/sh', dev: kernelDev(sh.dev), ino: sh.ino }]]]);
    // Without a backend assigning lineage bits, followChildren cannot be encoded.
    expect(() => encodeLsmGeneration([h], 0, () => 0)).toThrow(/followChildren needs a backend/);
  });
});

describe('encodeLsmGeneration', () => {
  it('writes the selector tables through the syscall encoder and the LSM tables beside them', () => {
    const exec = compileLsmHook('p', {
      hook: 'bprm_check_security', args: [{ index: 0, type: 'linux_binprm' }],
      selectors: [{ matchArgs: [{ index: 0, operator: 'Postfix', values: ['/sh'] }], matchActions: deny }],
    }, 'enforce', { id: 11 });
    const conn = compileLsmHook('p', {
      hook: 'socket_connect', args: [{ index: 1, type: 'sockaddr' }],
      selectors: [{ matchArgs: [{ index: 1, operator: 'DPort', values: ['80'] }, { index: 1, operator: 'DAddr', values: ['127.0.0.0/8'] }], matchActions: [{ action: 'Override', argError: -111 }] }],
    }, 'enforce', { id: 12 });
    const enc = encodeLsmGeneration([exec, conn], 1, () => 0);
    expect([...enc.lsmChains]).toEqual([[LsmHookId.bprm_check_security, [0]], [LsmHookId.socket_connect, [1]]]);
    expect(enc.hooks.map((h) => h.key.readUInt32LE(0))).toEqual([hookIndex(1, 0), hookIndex(1, 1)]);
    const F = L.lsm_hook.fields;
    const ext = enc.ext[1]!.value;
    expect(ext.readUInt32LE(F.hook)).toBe(LsmHookId.socket_connect);
    expect([...ext.subarray(F.src, F.src + 3)]).toEqual([LsmSrc.SA_FAMILY, LsmSrc.SA_PORT, LsmSrc.SA_ADDR]);
    expect([...ext.subarray(F.idx, F.idx + 3)]).toEqual([1, 1, 1]);
    expect(ext.readInt32LE(F.err)).toBe(-111);
    expect(enc.ext[0]!.value.readInt32LE(F.err)).toBe(-1);
    // The CIDR key: {prefix bits after the id = family byte + 8, id, family, address}.
    const k = addrKey(selId(1, 1, 0, Filt.ARG + 1), { family: 4, addr: Buffer.from([127, 0, 0, 0]), prefix: 8 });
    expect(k.length).toBe(LPM_KEY_SIZE);
    expect(k.readUInt32LE(0)).toBe(32 + 8 + 8);
    expect(enc.strPrefix).toContainEqual(k);
    expect(enc.strPostfix).toContainEqual(expect.any(Buffer)); // '/sh' reversed
    expect(enc.intSet).toHaveLength(1);
    // Chains: this generation's half written, the other kept.
    const prev = encodeChain(null, 0, [3, 4]);
    const next = encodeChain(prev, 1, [0]);
    expect([0, 1, 2].map((i) => next.readUInt16LE(i * 2))).toEqual([3, 4, SEL.NO_SLOT]);
    expect(next.readUInt16LE(8 * 2)).toBe(0);
    expect(next.readUInt16LE(9 * 2)).toBe(SEL.NO_SLOT);
  });

  it('refuses more than 8 policy hooks on one LSM hook', () => {
    const hooks = Array.from({ length: 9 }, (_, i) => compileLsmHook('p', { hook: 'file_open' }, 'enforce', { id: 100 + i }));
    expect(() => encodeLsmGeneration(hooks, 0, () => 0)).toThrow(/more than 8 policy hooks on file_open/);
  });
});

describe('kernelAtLeast', () => {
  it('compares uname releases', async () => {
    const { kernelAtLeast } = await import('./backend.js');
    expect(kernelAtLeast('5.10.0-46-amd64', 5, 19)).toBe(false);
    expect(kernelAtLeast('6.1.0-56-amd64', 5, 19)).toBe(true);
    expect(kernelAtLeast('5.19.0', 5, 19)).toBe(true);
    expect(kernelAtLeast('weird', 5, 19)).toBe(false);
  });
});
