// ExecFlag bits → Tetragon's space-separated `flags` string.
//
// Order and spellings follow Tetragon's DecodeCommonFlags (pkg/reader/exec/exec.go): execve procFS
// truncFilename truncArgs miss errorFilename errorArgs rootcwd errorCWD clone. Our two flags Tetragon does
// not have (truncCWD, noParent) come last.

import { ExecFlag } from '@peregrine/events';

const ORDER: readonly (readonly [number, string])[] = [
  [ExecFlag.execve, 'execve'],
  [ExecFlag.procFS, 'procFS'],
  [ExecFlag.truncPath, 'truncFilename'],
  [ExecFlag.truncArgs, 'truncArgs'],
  [ExecFlag.miss, 'miss'],
  [ExecFlag.errPath, 'errorFilename'],
  [ExecFlag.errArgs, 'errorArgs'],
  [ExecFlag.rootcwd, 'rootcwd'],
  [ExecFlag.errCwd, 'errorCWD'],
  [ExecFlag.clone, 'clone'],
  [ExecFlag.truncCwd, 'truncCWD'],
  [ExecFlag.noParent, 'noParent'],
];

const memo = new Map<number, string>();

/** `bits` are ExecFlag bits; rootcwd is added when `cwd` is "/". Unknown bits are ignored. */
export function flagsString(bits: number, cwd?: string): string {
  if (cwd === '/') bits |= ExecFlag.rootcwd;
  let s = memo.get(bits);
  if (s === undefined) {
    s = ORDER.filter(([bit]) => (bits & bit) !== 0)
      .map(([, name]) => name)
      .join(' ');
    if (memo.size < 4096) memo.set(bits, s);
  }
  return s;
}
