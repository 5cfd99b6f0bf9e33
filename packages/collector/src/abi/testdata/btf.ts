// Test support for the alignchecker tests: a BPF object's BTF (through bpftool) and the comparison of
// a TypeScript layout table with a BTF struct.
import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import type { StructLayout } from '../layout.js';

export interface BtfMember {
  name: string;
  bits_offset: number;
}
export interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  members?: BtfMember[];
  values?: { name: string; val: number }[];
}

export function btf(obj: string): BtfType[] {
  return (JSON.parse(execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', obj], { encoding: 'utf8' })) as { types: BtfType[] }).types;
}

export function structs(types: BtfType[]): Map<string, BtfType> {
  return new Map(types.filter((t) => t.kind === 'STRUCT').map((t) => [t.name, t]));
}

export function expectLayout(t: BtfType | undefined, name: string, layout: StructLayout): void {
  expect(t, `struct ${name} missing from BTF`).toBeDefined();
  expect(t?.size, `sizeof(struct ${name})`).toBe(layout.size);
  expect(Object.fromEntries((t?.members ?? []).map((m) => [m.name, m.bits_offset / 8])), `struct ${name}`).toEqual(layout.fields);
}
