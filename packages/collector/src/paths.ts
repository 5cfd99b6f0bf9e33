import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

// src/ and dist/ sit at the same depth, so this holds for both the sources and the build.
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function bpfObjectPath(name: string): string {
  return resolve(repoRoot, 'bpf/.output', `${name}.o`);
}
