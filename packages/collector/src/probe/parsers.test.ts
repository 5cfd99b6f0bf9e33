// /proc/self/mounts, /proc/self/maps and kernel config parsing, and the no-mount path of ensureMounted.
import { describe, expect, it } from 'vitest';
import { findLibc } from './environment.js';
import { builtWithout, parseKernelConfig } from './kernel-config.js';
import { ensureMounted, parseMounts } from './mounts.js';

describe('parseMounts', () => {
  it('splits fields and unescapes octal sequences', () => {
    const text = 'cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n/dev/vdb /mnt/my\\040disk ext4 rw 0 0\n';
    expect(parseMounts(text)).toEqual([
      { source: 'cgroup2', target: '/sys/fs/cgroup/unified', type: 'cgroup2' },
      { source: '/dev/vdb', target: '/mnt/my disk', type: 'ext4' },
    ]);
  });
});

describe('ensureMounted', () => {
  it('never mounts when not allowed, and says so', () => {
    expect(ensureMounted('tracefs', ['/nonexistent/peregrine-tracefs'], false)).toEqual({
      mounted: false,
      detail: 'not mounted at /nonexistent/peregrine-tracefs (mounting needs root)',
    });
  });
});

describe('findLibc', () => {
  it('finds glibc and musl, ignores other libraries', () => {
    const glibc = '7f00-7f01 r--p 00000000 fe:01 123 /usr/lib/x86_64-linux-gnu/libc.so.6\n';
    const musl = '7f00-7f01 r-xp 00000000 fe:01 123 /lib/ld-musl-x86_64.so.1\n';
    const other = '7f00-7f01 r-xp 00000000 fe:01 123 /usr/lib/x86_64-linux-gnu/libcrypto.so.3\n7f00-7f01 rw-p 00000000 00:00 0 [heap]\n';
    expect(findLibc(other + glibc)).toBe('/usr/lib/x86_64-linux-gnu/libc.so.6');
    expect(findLibc(musl)).toBe('/lib/ld-musl-x86_64.so.1');
    expect(findLibc(other)).toBeNull();
  });
});

describe('kernel config', () => {
  it('reads set, module and unset options; unknown config proves nothing', () => {
    const config = parseKernelConfig('CONFIG_BPF=y\nCONFIG_FOO=m\n# CONFIG_KPROBES is not set\nCONFIG_LSM="bpf"\n');
    expect(config.get('CONFIG_LSM')).toBe('"bpf"');
    expect(builtWithout(config, 'CONFIG_KPROBES')).toBe(true);
    expect(builtWithout(config, 'CONFIG_ABSENT')).toBe(true);
    expect(builtWithout(config, 'CONFIG_FOO')).toBe(false);
    expect(builtWithout(null, 'CONFIG_KPROBES')).toBe(false);
  });
});
