// The running kernel's build configuration, when the kernel exposes it (/proc/config.gz with
// CONFIG_IKCONFIG_PROC, or the distribution's /boot/config-<release>). Used only to name the reason a
// feature is missing ("kernel built without CONFIG_KPROBES"), never to decide availability.
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';

/** CONFIG_X → 'y' | 'm' | value; options reported as "is not set" map to 'n'. */
export type KernelConfig = ReadonlyMap<string, string>;

export function parseKernelConfig(text: string): KernelConfig {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const set = /^(CONFIG_\w+)=(.*)$/.exec(line);
    if (set?.[1] !== undefined && set[2] !== undefined) out.set(set[1], set[2]);
    const unset = /^# (CONFIG_\w+) is not set$/.exec(line);
    if (unset?.[1] !== undefined) out.set(unset[1], 'n');
  }
  return out;
}

export function readKernelConfig(): KernelConfig | null {
  try {
    if (existsSync('/proc/config.gz')) return parseKernelConfig(gunzipSync(readFileSync('/proc/config.gz')).toString('utf8'));
    const boot = `/boot/config-${release()}`;
    if (existsSync(boot)) return parseKernelConfig(readFileSync(boot, 'utf8'));
  } catch {
    // unreadable config: reasons fall back to what the failure itself says
  }
  return null;
}

/** True only when the config is known and says the option is off (absent options count as off). */
export function builtWithout(config: KernelConfig | null, option: string): boolean {
  if (config === null) return false;
  const v = config.get(option);
  return v === undefined || v === 'n';
}
