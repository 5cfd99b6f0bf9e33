export { probeKernel, probeKernelSync, type ProbeOptions } from './probe.js';
export { formatFeatureReport, type Feature, type FeatureReport } from './report.js';
export { PROGRAM_FEATURES, type ProgramFeature, type Family } from './programs.js';
export { checkEnvironment, findLibc, type ProbeContext } from './environment.js';
export { ensureMounted, parseMounts, readMounts, type Mount, type MountOutcome } from './mounts.js';
export { builtWithout, parseKernelConfig, readKernelConfig, type KernelConfig } from './kernel-config.js';
export { explainFailure, verifierLog } from './explain.js';
