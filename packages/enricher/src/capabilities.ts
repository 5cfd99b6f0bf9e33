// Capability bitmasks → names, bit n = capability n (include/uapi/linux/capability.h).

/** Index = capability number. */
export const CAPABILITY_NAMES: readonly string[] = Object.freeze([
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
]);

function bitName(bit: number): string {
  return CAPABILITY_NAMES[bit] ?? `CAP_UNKNOWN_${bit}`;
}

/** Names of the set bits, lowest first; bits above CAP_LAST_CAP become `CAP_UNKNOWN_<n>`. */
export function capabilityNames(mask: bigint): string[] {
  const out: string[] = [];
  let lo = Number(BigInt.asUintN(32, mask));
  let hi = Number(BigInt.asUintN(32, mask >> 32n));
  for (let bit = 0; lo !== 0; bit++, lo >>>= 1) if (lo & 1) out.push(bitName(bit));
  for (let bit = 32; hi !== 0; bit++, hi >>>= 1) if (hi & 1) out.push(bitName(bit));
  return out;
}

/**
 * capabilityNames with memoisation: a host has few distinct capability sets (full, empty, a handful of
 * container profiles), so the arrays are shared and frozen. Cleared when it grows past `max` entries.
 */
export class CapabilityNameCache {
  private readonly map = new Map<bigint, readonly string[]>();
  constructor(private readonly max = 1024) {}

  get(mask: bigint): readonly string[] {
    let names = this.map.get(mask);
    if (names === undefined) {
      if (this.map.size >= this.max) this.map.clear();
      names = Object.freeze(capabilityNames(mask));
      this.map.set(mask, names);
    }
    return names;
  }
}
