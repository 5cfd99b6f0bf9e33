// The local control API: one JSON request per connection, one JSON response, over a unix socket that
// only root can open (directory 0700, socket 0600).
import type { PolicyStatus } from '../policy/manager.js';

export const DEFAULT_SOCKET = '/run/peregrine/peregrine.sock';

export type ControlRequest =
  | { op: 'policy.add'; yaml: string; source: string; mode?: 'enforce' | 'monitor' }
  | { op: 'policy.delete'; name: string }
  | { op: 'policy.list' }
  | { op: 'policy.mode'; name: string; mode: 'enforce' | 'monitor' }
  | { op: 'sinks.stats' };

export type ControlResponse =
  | { ok: true; policies?: PolicyStatus[]; backends?: Record<string, Record<string, unknown>>; sinks?: Record<string, unknown> }
  | { ok: false; error: string; code: string; issues?: { path: string; message: string }[] };
