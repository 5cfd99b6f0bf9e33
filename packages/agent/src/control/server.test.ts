import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PolicyManager } from '../policy/manager.js';
import { prepareSocketPath, startControlServer } from './server.js';

const target = { policies: {} as PolicyManager, sinkStats: () => ({}) };
const mode = (p: string) => statSync(p).mode & 0o7777;
const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

describe('control socket path', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'peregrine-ctl-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves an existing directory as it is (a socket in a shared /tmp-like directory) and creates the socket 0600', async () => {
    chmodSync(dir, 0o1777);
    const path = join(dir, 'peregrine.sock');
    const server = await startControlServer(path, target);
    expect(mode(dir)).toBe(0o1777);
    expect(statSync(path).isSocket()).toBe(true);
    expect(mode(path)).toBe(0o600);
    await close(server);
  });

  it('creates a missing directory 0700 whatever the umask', async () => {
    const old = process.umask(0o022);
    try {
      const path = join(dir, 'a', 'b', 'ctl.sock');
      const server = await startControlServer(path, target);
      expect(mode(join(dir, 'a', 'b'))).toBe(0o700);
      await close(server);
    } finally {
      process.umask(old);
    }
  });

  it('replaces a stale socket, and refuses (without deleting it) anything else at the path', async () => {
    const path = join(dir, 'ctl.sock');
    // A socket left by a process that died (Node would unlink its own on close).
    execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path]);
    expect(statSync(path).isSocket()).toBe(true);
    writeFileSync(join(dir, 'file'), 'precious');
    expect(() => prepareSocketPath(join(dir, 'file'))).toThrow(/exists and is not a socket/);
    expect(readFileSync(join(dir, 'file'), 'utf8')).toBe('precious');
    await expect(startControlServer(join(dir, 'file'), target)).rejects.toMatchObject({ code: 'ERR_SOCKET_PATH' });
    expect(existsSync(join(dir, 'file'))).toBe(true);
    const server = await startControlServer(path, target);
    expect(mode(path)).toBe(0o600);
    await close(server);
  });
});
