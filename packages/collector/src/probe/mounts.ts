// Pseudo-filesystems the probe and the agent depend on: read /proc/self/mounts and, when we are root,
// mount what is missing (a minimal VM or container may not mount tracefs, bpffs or securityfs).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';

export interface Mount {
  source: string;
  target: string;
  type: string;
}

// /proc/self/mounts escapes space, tab, newline and backslash as octal (\040 …).
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMounts(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const [source, target, type] = line.split(' ');
    if (source === undefined || target === undefined || type === undefined) continue;
    out.push({ source: unescapeMountField(source), target: unescapeMountField(target), type });
  }
  return out;
}

export function readMounts(): Mount[] {
  return parseMounts(readFileSync('/proc/self/mounts', 'utf8'));
}

export interface MountOutcome {
  /** Mounted now (whether it already was or we mounted it). */
  mounted: boolean;
  /** Plain words for the report: where it is, or what we did, or why it is missing. */
  detail: string;
}

/**
 * Ensures a filesystem of `type` is mounted at one of `targets` (the first one is where we mount
 * it). Only mounts when `allowMount` (root, and the caller agrees).
 */
export function ensureMounted(type: string, targets: readonly string[], allowMount: boolean): MountOutcome {
  const found = readMounts().find((m) => m.type === type && targets.includes(m.target));
  if (found) return { mounted: true, detail: `mounted at ${found.target}` };
  const target = targets[0];
  if (target === undefined) return { mounted: false, detail: 'no mount point given' };
  if (!allowMount) return { mounted: false, detail: `not mounted at ${targets.join(' or ')} (mounting needs root)` };
  try {
    mkdirSync(target, { recursive: true });
    execFileSync('mount', ['-t', type, type === 'bpf' ? 'bpf' : type, target], { stdio: 'pipe', timeout: 10_000 });
    return { mounted: true, detail: `was not mounted; the probe mounted it at ${target}` };
  } catch (e) {
    const why = e instanceof Error && 'stderr' in e ? String((e as { stderr: unknown }).stderr).trim() : String(e);
    return { mounted: false, detail: `not mounted, and mount -t ${type} ${target} failed: ${why || 'unknown error'}` };
  }
}
