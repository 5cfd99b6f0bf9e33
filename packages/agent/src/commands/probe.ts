import { bpfObjectPath, formatFeatureReport, probeKernel } from '@peregrine/collector';
import { createAdapters } from '../policy/adapters.js';
import { formatHookMapping, hookMapping } from '../policy/mapping.js';

export async function probeCommand(): Promise<number> {
  const report = await probeKernel({ objectPath: bpfObjectPath('features') });
  process.stdout.write(formatFeatureReport(report, { color: process.stdout.isTTY && !process.env.NO_COLOR }) + '\n');
  const available = new Set(report.features.filter((f) => f.available).map((f) => f.name));
  // Adapters are inert until a policy is applied: constructing them only names the backends built in.
  const implemented = new Set(createAdapters({ cgroup2Root: null }).map((a) => a.backend));
  process.stdout.write('\n' + formatHookMapping(hookMapping(available, implemented)) + '\n');
  return 0;
}
