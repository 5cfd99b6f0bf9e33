// matchParentBinaries and followChildren on kernel functions: compiled by the shared selector compiler,
// encoded with the lineage bits the backend's ProcessTables assigns (no kernel needed).
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kernelDev } from '../syscall/compile.js';
import { ArgKind, HookFlag, SEL_LAYOUTS } from '../syscall/layout.js';
import { compileKfuncHook } from './compile.js';
import { encodeKfuncGeneration } from './encode.js';
import type { KernelFunctions } from './kernel.js';

const kernel: KernelFunctions = {
  has: (f) => f === 'security_file_open' || f === 'vfs_write',
  modifiable: (f) => f.startsWith('security_'),
  whyNotModifiable: () => 'it is not on the kernel\'s error-injection list',
};

describe('encodeKfuncGeneration', () => {
  it('matchParentBinaries and followChildren: the hook loads the parent and the lineage; the list gets its bit', () => {
    const h = compileKfuncHook('p', {
      call: 'security_file_open', args: [{ index: 0, type: 'file' }],
      selectors: [{
        matchParentBinaries: [{ operator: 'NotIn', values: ['/bin/sh'] }],
        matchBinaries: [{ operator: 'In', values: ['/bin/sh'], followChildren: true }],
        matchActions: [{ action: 'Override', argError: -1 }],
      }],
    }, 'enforce', { kernel, id: 4 });
    const enc = encodeKfuncGeneration([h], 0, () => 0, () => 1, () => 7);
    const flags = enc.hooks[0]!.value.readUInt32LE(SEL_LAYOUTS.sel_hook.fields.flags);
    expect(flags & (HookFlag.PEXE | HookFlag.FC)).toBe(HookFlag.PEXE | HookFlag.FC);
    const sh = statSync('/bin/sh', { bigint: true });
    expect([...enc.fc]).toEqual([[7, [{ path: '/bin/sh', dev: kernelDev(sh.dev), ino: sh.ino }]]]);
  });

  it('a char_buf slot is PREBUF in the hook table (its record slot carries the length first); a string stays STR', () => {
    const h = compileKfuncHook('p', {
      call: 'vfs_write', args: [{ index: 0, type: 'file' }, { index: 1, type: 'char_buf', sizeArgIndex: 3 }, { index: 2, type: 'size_t' }],
    }, 'enforce', { kernel, id: 5 });
    const enc = encodeKfuncGeneration([h], 0, () => 0, () => 1);
    const A = SEL_LAYOUTS.sel_hook.fields.args;
    const kind = (i: number): number => enc.hooks[0]!.value.readUInt8(A + i * SEL_LAYOUTS.sel_arg.size + SEL_LAYOUTS.sel_arg.fields.kind);
    expect([kind(0), kind(1), kind(2)]).toEqual([ArgKind.STR, ArgKind.PREBUF, ArgKind.INT]);
  });
});
