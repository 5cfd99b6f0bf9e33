// Reading back what a file sink left on disk.

import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'peregrine-sinks-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface OnDisk {
  /** File name, oldest first: path.N[.gz] … path.1[.gz], path. */
  name: string;
  /** Size on disk (compressed size for .gz). */
  size: number;
  mode: number;
  /** Decompressed content. */
  text: string;
}

/** The live file and its backups, oldest first. Fails on anything else in the directory. */
export async function readRotated(path: string): Promise<OnDisk[]> {
  const dir = dirname(path);
  const base = basename(path);
  const names = await readdir(dir);
  const numbered: { n: number; name: string }[] = [];
  for (const name of names) {
    if (name === base) continue;
    const m = new RegExp(`^${base.replace(/\./g, '\\.')}\\.(\\d+)(\\.gz)?$`).exec(name);
    if (m === null) throw new Error(`unexpected file ${name}`);
    numbered.push({ n: Number(m[1]), name });
  }
  numbered.sort((a, b) => b.n - a.n);
  const ordered = [...numbered.map((x) => x.name), ...(names.includes(base) ? [base] : [])];
  const out: OnDisk[] = [];
  for (const name of ordered) {
    const full = join(dir, name);
    const raw = await readFile(full);
    const st = await stat(full);
    out.push({ name, size: st.size, mode: st.mode & 0o777, text: (name.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8') });
  }
  return out;
}

/** Split into lines, asserting the text is whole lines. */
export function wholeLines(text: string): string[] {
  if (text === '') return [];
  if (!text.endsWith('\n')) throw new Error(`text does not end with a newline: …${JSON.stringify(text.slice(-80))}`);
  return text.slice(0, -1).split('\n');
}
