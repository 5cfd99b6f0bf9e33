import { bpfObjectPath, formatFeatureReport, probeKernel } from '@peregrine/collector';

export async function probeCommand(): Promise<number> {
  const report = await probeKernel({ objectPath: bpfObjectPath('features') });
  process.stdout.write(formatFeatureReport(report, { color: process.stdout.isTTY && !process.env.NO_COLOR }) + '\n');
  return 0;
}
