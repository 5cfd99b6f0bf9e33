// Loads every program of Peregrine's BPF objects one at a time (fresh open, only that program autoloaded)
// on the running kernel and prints ok / the error with the tail of the libbpf log (verifier output).
// A diagnostic for the VM kernel matrix (scripts/vm/matrix.sh): which program a kernel rejects, and why.
// usage: node test/vm/load-objects.cjs [object.o | name ...]   (default: every bpf/.output/*.o)
//        LOG_LINES=N (lines of log per failure, default 30)
'use strict';
const { readdirSync } = require('node:fs');
const { join, resolve } = require('node:path');
const root = resolve(__dirname, '../..');
const { BpfObject } = require(join(root, 'native'));
const dir = join(root, 'bpf/.output');
const args = process.argv.slice(2);
const files = (args.length ? args : readdirSync(dir).filter((f) => f.endsWith('.o') && !f.includes('alignchecker')))
  .map((f) => (f.includes('/') ? f : join(dir, f.endsWith('.o') ? f : `${f}.o`)));
const n = Number(process.env.LOG_LINES ?? 30);
let bad = 0;
for (const file of files) {
  let progs;
  try { progs = new BpfObject(file).programs(); } catch (e) { console.log(`${file}: open failed: ${e.message}`); bad++; continue; }
  for (const p of progs) {
    const o = new BpfObject(file);
    for (const q of progs) o.setAutoload(q.name, q.name === p.name);
    try {
      o.load();
      console.log(`ok   ${file.replace(root + '/', '')} ${p.name} (${p.section})`);
    } catch (e) {
      bad++;
      console.log(`FAIL ${file.replace(root + '/', '')} ${p.name} (${p.section}): ${e.message} [${e.code}]`);
      const log = String(e.log ?? '').trimEnd().split('\n').filter((l) => !/skipped loading|created successfully|found \d+ CO-RE relocations|loading kernel BTF/.test(l));
      if (log.length > 1 || log[0]) console.log(log.slice(-n).map((l) => `     | ${l}`).join('\n'));
    } finally {
      o.close();
    }
  }
}
process.exitCode = bad ? 1 : 0;
