// probeKernel: what this kernel lets Peregrine do, each mechanism tried in isolation (open the
// object, enable only its program, load, attach, detach, close), so one refusal never hides another.
import { release } from 'node:os';
import { loadNative } from './addon.js';
import { checkEnvironment, type ProbeContext } from './environment.js';
import { explainFailure } from './explain.js';
import { probeFanotifyFeatures } from './fanotify.js';
import { PROGRAM_FEATURES, type ProgramFeature } from './programs.js';
import type { Feature, FeatureReport } from './report.js';

export interface ProbeOptions {
  /** bpf/.output/features.o */
  objectPath: string;
  /** Mount bpffs, tracefs and securityfs when missing (only as root). Default true. */
  mountMissing?: boolean;
}

function probeProgram(objectPath: string, f: ProgramFeature, ctx: ProbeContext): Feature {
  const unusable = f.unusable?.(ctx) ?? null;
  if (unusable !== null) return { name: f.name, available: false, detail: unusable };
  let obj;
  try {
    obj = new (loadNative().BpfObject)(objectPath);
  } catch (e) {
    return { name: f.name, available: false, detail: explainFailure(f, e, ctx) };
  }
  try {
    let section = '';
    for (const p of obj.programs()) {
      obj.setAutoload(p.name, p.name === f.prog);
      if (p.name === f.prog) section = p.section;
    }
    if (section === '') return { name: f.name, available: false, detail: `program ${f.prog} is missing from ${objectPath}` };
    obj.load();
    return { name: f.name, ...f.exercise(obj, f.prog, section, ctx) };
  } catch (e) {
    return { name: f.name, available: false, detail: explainFailure(f, e, ctx) };
  } finally {
    obj.close();
  }
}

export function probeKernelSync(opts: ProbeOptions): FeatureReport {
  const native = loadNative();
  native.bumpMemlock(); // kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK
  const { features, ctx } = checkEnvironment(opts.mountMissing ?? true);
  for (const f of PROGRAM_FEATURES) features.push(probeProgram(opts.objectPath, f, ctx));
  features.push(...probeFanotifyFeatures(ctx));
  return { kernel: release(), libbpf: native.libbpfVersion(), features };
}

/** Async for callers that await it; the work itself is synchronous and takes well under a second. */
export async function probeKernel(opts: ProbeOptions): Promise<FeatureReport> {
  return probeKernelSync(opts);
}
