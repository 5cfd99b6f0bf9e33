// The probe's result and its terminal rendering.

export interface Feature {
  name: string;
  available: boolean;
  /** Plain words: what was verified when available, what failed and why when not. */
  detail: string;
}

export interface FeatureReport {
  /** Kernel release (uname -r). */
  kernel: string;
  /** Version of the libbpf the addon loaded. */
  libbpf: string;
  features: Feature[];
}

const GREEN = '\x1b[32m';
const RED = '\x1b[31m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

/** One feature per line: name padded to a column, ✔/✘, then the detail. */
export function formatFeatureReport(report: FeatureReport, opts: { color: boolean }): string {
  const paint = (code: string, s: string): string => (opts.color ? code + s + RESET : s);
  const width = Math.max(0, ...report.features.map((f) => f.name.length));
  const lines = [paint(DIM, `kernel ${report.kernel}, libbpf ${report.libbpf}`)];
  for (const f of report.features) {
    const mark = f.available ? paint(GREEN, '✔') : paint(RED, '✘');
    const text = f.available ? f.detail : `not available: ${f.detail}`;
    lines.push(`${f.name.padEnd(width)}  ${mark} ${text}`);
  }
  return lines.join('\n');
}
