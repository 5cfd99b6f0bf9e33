import { describe, expect, it } from 'vitest';
import { formatFeatureReport, type FeatureReport } from './report.js';

const report: FeatureReport = {
  kernel: '6.18.0',
  libbpf: '1.1.2',
  features: [
    { name: 'tracepoint', available: true, detail: 'loaded, attached at tracepoint/sched/sched_process_exec, detached' },
    { name: 'kprobe', available: false, detail: 'attach failed with ENOENT (kernel built without CONFIG_KPROBES)' },
  ],
};

describe('formatFeatureReport', () => {
  it('aligns names and says why a feature is missing', () => {
    expect(formatFeatureReport(report, { color: false })).toBe(
      [
        'kernel 6.18.0, libbpf 1.1.2',
        'tracepoint  ✔ loaded, attached at tracepoint/sched/sched_process_exec, detached',
        'kprobe      ✘ not available: attach failed with ENOENT (kernel built without CONFIG_KPROBES)',
      ].join('\n'),
    );
  });

  it('colours only the marks and the header when asked', () => {
    const text = formatFeatureReport(report, { color: true });
    expect(text).toContain('\x1b[32m✔\x1b[0m');
    expect(text).toContain('\x1b[31m✘\x1b[0m');
    expect(text.replace(/\x1b\[\d+m/g, '')).toBe(formatFeatureReport(report, { color: false }));
  });
});
