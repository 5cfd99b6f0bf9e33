// Bad configuration (flags, environment, YAML file) → non-zero exit and a message naming the field.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAIN } from '../helpers/agent.js';

const dir = mkdtempSync(join(tmpdir(), 'peregrine-config-'));
function run(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, err: r.stderr };
}
function yamlFile(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe.skipIf(!existsSync(MAIN))('configuration errors', () => {
  it.each([
    [['run', '--max-args-bytes', 'abc'], '--max-args-bytes', 'expected a number'],
    [['run', '--max-args-bytes', '10'], '--max-args-bytes', '>=64'],
    [['run', '--max-args-bytes', '99999'], '--max-args-bytes', '<=16384'],
    [['run', '--export-file-max-size-mb', '-1'], '--export-file-max-size-mb', '>=0'],
    [['run', '--export-file-max-backups', '1.5'], '--export-file-max-backups', 'whole number'],
    [['run', '--node-name', ''], '--node-name', '>=1'],
  ])('flags %j → names %s', (args, field, why) => {
    const r = run(args);
    expect(r.code).toBe(1);
    expect(r.err).toContain(field);
    expect(r.err).toContain(why);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('an unknown flag is refused by name', () => {
    const r = run(['run', '--export-fil', 'x']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('--export-fil');
  });

  it('bad environment values name the variable', () => {
    const r = run(['run'], { PEREGRINE_MAX_ARGS_BYTES: 'lots' });
    expect(r.code).toBe(1);
    expect(r.err).toContain('PEREGRINE_MAX_ARGS_BYTES');
  });

  it('every bad key of a YAML file is named with its path', () => {
    const f = yamlFile('bad.yaml', 'export_file:\n  path: /tmp/x\n  max_backups: -3\n  bogus: 1\nmax_args_bytes: "many"\nunknown_top: true\n');
    const r = run(['run', '--config', f]);
    expect(r.code).toBe(1);
    for (const p of ['export_file.max_backups', 'export_file.bogus', 'max_args_bytes', 'unknown_top']) expect(r.err).toContain(p);
  });

  it('a YAML syntax error or a missing file is one clear message', () => {
    expect(run(['run', '--config', yamlFile('syntax.yaml', 'a: [1, 2\n')]).err).toMatch(/not valid YAML/);
    const missing = run(['run', '--config', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nope\.yaml/);
  });

  it('ring_buffer_bytes must be a power of two', () => {
    const r = run(['run', '--config', yamlFile('ring.yaml', 'ring_buffer_bytes: 100000\n')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ring_buffer_bytes: must be a power of two/);
  });

  it('without root the agent says so in one sentence', () => {
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, MAIN, 'run', '--export-file', ''], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('peregrine: Peregrine must run as root: it loads BPF programs into the kernel (try: sudo ./peregrine run).');
  });
});
