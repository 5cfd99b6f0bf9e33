// `peregrine policy add|delete|list|mode`: talks to the running agent over its local socket.
import { readFileSync } from 'node:fs';
import { PeregrineError } from '@peregrine/events';
import { request } from '../control/client.js';
import type { ControlRequest, ControlResponse } from '../control/protocol.js';
import type { PolicyStatus } from '../policy/manager.js';

async function call(socket: string, req: ControlRequest): Promise<ControlResponse & { ok: true }> {
  const r = await request(socket, req);
  if (!r.ok) throw new PeregrineError(r.code, r.error);
  return r;
}

export function formatPolicies(ps: PolicyStatus[]): string {
  if (ps.length === 0) return 'no policy loaded';
  const lines: string[] = [];
  for (const p of ps) {
    const actions = Object.entries(p.actions).map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
    lines.push(`${p.name}  ${p.state}${p.reason ? ` (${p.reason})` : ''}  mode=${p.mode}  events=${p.events}  actions: ${actions}`);
    for (const h of p.hooks) lines.push(`  ${h.path}  ${h.hook}  ${h.status} via ${h.backend} (${h.describe})`);
  }
  return lines.join('\n');
}

/** One line per backend in use: its numeric counters (events, allowed, denied, cached, …). */
export function formatBackends(backends: Record<string, Record<string, unknown>>): string {
  return Object.entries(backends)
    .map(([name, st]) => {
      const counters = Object.entries(st).filter(([, v]) => typeof v === 'number' || typeof v === 'boolean');
      return `backend ${name}: ${counters.map(([k, v]) => `${k}=${String(v)}`).join(' ') || 'no counters'}`;
    })
    .join('\n');
}

export async function policyAdd(socket: string, file: string, mode?: 'enforce' | 'monitor'): Promise<number> {
  let yaml: string;
  try {
    yaml = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PeregrineError('ERR_POLICY_FILE', `cannot read ${file}: ${(e as Error).message}`);
  }
  const r = await call(socket, { op: 'policy.add', yaml, source: file, ...(mode ? { mode } : {}) });
  process.stdout.write(formatPolicies(r.policies ?? []) + '\n');
  return 0;
}

export async function policyDelete(socket: string, name: string): Promise<number> {
  await call(socket, { op: 'policy.delete', name });
  process.stdout.write(`deleted ${name}\n`);
  return 0;
}

export async function policyList(socket: string, json: boolean): Promise<number> {
  const r = await call(socket, { op: 'policy.list' });
  if (json) {
    process.stdout.write(JSON.stringify(r.policies ?? [], null, 2) + '\n');
    return 0;
  }
  const backends = formatBackends(r.backends ?? {});
  process.stdout.write(formatPolicies(r.policies ?? []) + (backends ? `\n${backends}` : '') + '\n');
  return 0;
}

export async function policyMode(socket: string, name: string, mode: string): Promise<number> {
  if (mode !== 'enforce' && mode !== 'monitor') throw new PeregrineError('ERR_USAGE', `mode must be enforce or monitor, not '${mode}'`);
  const r = await call(socket, { op: 'policy.mode', name, mode });
  process.stdout.write(formatPolicies(r.policies ?? []) + '\n');
  return 0;
}
