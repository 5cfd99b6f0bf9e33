import { ExecFlag } from '@peregrine/events';
import { describe, expect, it } from 'vitest';
import { flagsString } from './flags.js';

describe('flagsString', () => {
  it("renders Tetragon's order", () => {
    expect(flagsString(ExecFlag.execve, '/')).toBe('execve rootcwd');
    expect(flagsString(ExecFlag.execve | ExecFlag.clone, '/')).toBe('execve rootcwd clone');
    expect(flagsString(ExecFlag.procFS | ExecFlag.execve | ExecFlag.truncArgs, '/root')).toBe('execve procFS truncArgs');
    expect(flagsString(ExecFlag.clone | ExecFlag.miss)).toBe('miss clone');
    expect(flagsString(ExecFlag.execve | ExecFlag.truncPath | ExecFlag.errPath | ExecFlag.errArgs | ExecFlag.errCwd)).toBe(
      'execve truncFilename errorFilename errorArgs errorCWD',
    );
    expect(flagsString(ExecFlag.truncCwd | ExecFlag.noParent)).toBe('truncCWD noParent');
  });

  it('adds rootcwd only for "/"', () => {
    expect(flagsString(ExecFlag.execve, '/tmp')).toBe('execve');
    expect(flagsString(ExecFlag.execve | ExecFlag.rootcwd)).toBe('execve rootcwd');
    expect(flagsString(0)).toBe('');
  });
});
