// Runs the real agent (built CLI) as a child process for end-to-end tests, and reads back what it wrote.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { PeregrineEvent, Process } from '@peregrine/events';
import { scaled } from './time.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const MAIN = join(ROOT, 'packages/agent/dist/main.js');

export interface RunningAgent {
  proc: ChildProcess;
  dir: string;
  file: string;
  stderr: () => string;
  /** SIGTERM, wait for a clean exit, return every event of the export file (rotated ones included). */
  stop: () => Promise<PeregrineEvent[]>;
}

export function canRunBpf(): boolean {
  return process.geteuid?.() === 0 && existsSync('/sys/kernel/btf/vmlinux') && existsSync(MAIN);
}

export async function startAgent(extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunningAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'peregrine-e2e-'));
  const file = join(dir, 'events.log');
  const proc = spawn(process.execPath, [MAIN, 'run', '--export-file', file, '--quiet', ...extra], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdout!.resume();
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`agent not ready after ${scaled(60_000) / 1000} s:\n${err}`)), scaled(60_000));
    const check = (): void => {
      if (err.includes('peregrine: ready')) {
        clearTimeout(t);
        res();
      }
    };
    proc.stderr!.on('data', check);
    proc.on('exit', (code) => {
      clearTimeout(t);
      rej(new Error(`agent exited with ${code} before ready:\n${err}`));
    });
  });
  return {
    proc,
    dir,
    file,
    stderr: () => err,
    stop: async () => {
      const exited = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
      proc.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`agent exited with ${code}:\n${err}`);
      return readEvents(file);
    },
  };
}

/** Reads path and its rotated backups (path.N, path.N.gz), oldest first; every line must be whole JSON. */
export function readEventLines(file: string): string[] {
  const dir = resolve(file, '..');
  const base = file.slice(dir.length + 1);
  const backups = readdirSync(dir)
    .map((n) => ({ n, m: new RegExp(`^${base.replace(/\./g, '\\.')}\\.(\\d+)(\\.gz)?$`).exec(n) }))
    .filter((x) => x.m)
    .sort((a, b) => Number(b.m![1]) - Number(a.m![1]));
  const lines: string[] = [];
  for (const b of backups) {
    const raw = readFileSync(join(dir, b.n));
    lines.push(...(b.m![2] ? gunzipSync(raw) : raw).toString('utf8').split('\n').filter((l) => l !== ''));
  }
  if (existsSync(file)) lines.push(...readFileSync(file, 'utf8').split('\n').filter((l) => l !== ''));
  return lines;
}

export function readEvents(file: string): PeregrineEvent[] {
  return readEventLines(file).map((l) => JSON.parse(l) as PeregrineEvent);
}

export function execs(events: PeregrineEvent[]): { process: Process; parent?: Process }[] {
  return events.flatMap((e) => ('process_exec' in e ? [e.process_exec] : []));
}

export function exits(events: PeregrineEvent[]) {
  return events.flatMap((e) => ('process_exit' in e ? [e.process_exit] : []));
}
