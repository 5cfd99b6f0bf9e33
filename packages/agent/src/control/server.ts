import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import { ConfigError, PeregrineError } from '@peregrine/events';
import { parsePolicies } from '@peregrine/policy';
import type { PolicyManager } from '../policy/manager.js';
import type { ControlRequest, ControlResponse } from './protocol.js';

const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

export interface ControlTarget {
  policies: PolicyManager;
  sinkStats: () => Record<string, unknown>;
}

async function handle(req: ControlRequest, t: ControlTarget): Promise<ControlResponse> {
  const policies = t.policies;
  switch (req.op) {
    case 'sinks.stats':
      return { ok: true, sinks: t.sinkStats() };
    case 'policy.add':
      return { ok: true, policies: await policies.add(parsePolicies(req.yaml, req.source), req.source, req.mode) };
    case 'policy.delete':
      await policies.delete(req.name);
      return { ok: true };
    case 'policy.list':
      return { ok: true, policies: policies.list(), backends: policies.backendStats() };
    case 'policy.mode':
      return { ok: true, policies: [await policies.setMode(req.name, req.mode)] };
    default:
      return { ok: false, code: 'ERR_BAD_REQUEST', error: `unknown operation ${JSON.stringify((req as { op?: unknown }).op)}` };
  }
}

function failure(e: unknown): ControlResponse {
  if (e instanceof ConfigError) return { ok: false, code: e.code, error: e.message, issues: e.issues };
  if (e instanceof PeregrineError) return { ok: false, code: e.code, error: e.message };
  return { ok: false, code: 'ERR_INTERNAL', error: (e as Error).message ?? String(e) };
}

/** One response line: bigints (device and inode numbers) as decimal strings; never throws. */
function encode(r: ControlResponse): string {
  try {
    return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n';
  } catch (e) {
    return JSON.stringify(failure(e)) + '\n';
  }
}

/**
 * Prepare the socket's place: a directory we create is made 0700 (root only); an existing one is left as
 * it is (a socket in /tmp must not make /tmp private), the socket itself being created 0600. A stale
 * socket of a previous run is removed; anything else at the path is an error, never deleted.
 */
export function prepareSocketPath(path: string): void {
  const dir = dirname(path);
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) chmodSync(dir, 0o700); // mkdir's mode is masked by the umask
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new PeregrineError('ERR_SOCKET_PATH', `control socket ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (!st.isSocket()) throw new PeregrineError('ERR_SOCKET_PATH', `control socket ${path}: the path exists and is not a socket (not removed; choose another --server-socket)`);
  rmSync(path);
}

export async function startControlServer(path: string, target: ControlTarget): Promise<Server> {
  prepareSocketPath(path);
  const server = createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_REQUEST_BYTES) {
        sock.end(encode(failure(new PeregrineError('ERR_TOO_LARGE', 'request too large'))));
        return;
      }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = '';
      let req: ControlRequest;
      try {
        req = JSON.parse(line) as ControlRequest;
      } catch {
        sock.end(encode(failure(new PeregrineError('ERR_BAD_REQUEST', 'request is not JSON'))));
        return;
      }
      handle(req, target).then(
        (r) => sock.end(encode(r)),
        (e: unknown) => sock.end(encode(failure(e))),
      );
    });
    sock.on('error', () => undefined); // a client that went away
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // Created 0600 at bind time (the umask applies to the socket inode): no window in which others may connect.
    const umask = process.umask(0o177);
    try {
      server.listen(path, () => {
        chmodSync(path, 0o600);
        resolve(server);
      });
    } finally {
      process.umask(umask);
    }
  });
}
