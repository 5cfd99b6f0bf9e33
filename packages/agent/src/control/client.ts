import { connect } from 'node:net';
import { PeregrineError } from '@peregrine/events';
import type { ControlRequest, ControlResponse } from './protocol.js';

export function request(path: string, req: ControlRequest, timeoutMs = 30_000): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new PeregrineError('ERR_TIMEOUT', `no answer from the agent at ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (d: string) => (buf += d));
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as ControlResponse);
      } catch {
        reject(new PeregrineError('ERR_BAD_RESPONSE', `the agent at ${path} sent an unreadable answer`));
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'is the agent running? (./peregrine run)' : e.message;
      reject(new PeregrineError('ERR_NO_AGENT', `cannot reach the agent at ${path}: ${why}`, { cause: e }));
    });
  });
}
