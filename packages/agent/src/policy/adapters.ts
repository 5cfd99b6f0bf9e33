// The enforcement backends this build has, one adapter each. The planner only offers a policy the
// backends listed here (and says "not implemented in this build yet" for the others).
import type { EnforcementAdapter } from './adapter.js';

export function createAdapters(): EnforcementAdapter[] {
  return [];
}
