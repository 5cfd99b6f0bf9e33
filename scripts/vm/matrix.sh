#!/usr/bin/env bash
# matrix.sh [kernels...]   (5.10 6.1 6.12 host; default: 5.10 6.1 6.12)
#
# Runs Peregrine's BPF test suite on other kernels: for each kernel, one after another (a TCG VM uses both
# host CPUs), boots it with scripts/vm/vm-run.sh over the host's root filesystem in the repository root and
# runs there: node --version, `bpftool feature probe kernel | grep -E 'kprobe|tracing|lsm'`,
# `node packages/agent/dist/main.js probe`, the e2e project (`vitest run --project e2e`) and the
# privileged unit tests (`vitest run native/test packages/collector/src/probe packages/collector/src/abi`).
# `host` runs the same steps on the host kernel, without a VM.
# The repository must be built on the host first (./scripts/setup.sh); nothing is rebuilt in the VM (the BPF
# objects are CO-RE). Kernels are fetched into ${PEREGRINE_VM_CACHE:-/var/cache/peregrine-vm} when missing.
#
# Prints per kernel "kernel <ver>: N passed, N failed, N skipped" plus every failure, then a summary;
# exits 1 if any kernel has a failed test, a failed test file, or no results (boot failure, timeout).
# Env: MATRIX_E2E (files/filters for the e2e project, default: all of it), MATRIX_E2E_EXCLUDE (globs left
#      out of the e2e project, space separated; MATRIX_FAST=1 sets it to the kernel-independent or
#      TCG-hostile files: test/integration/** (need servers), test/e2e/config.test.ts (CLI validation),
#      test/e2e/burst.test.ts and test/e2e/*bench* (load/timing)), MATRIX_UNIT (default:
#      native/test packages/collector/src/probe packages/collector/src/abi), MATRIX_OUT (results dir,
#      default: a new /tmp/peregrine-matrix.XXXXXX, kept), MATRIX_VITEST_ARGS (extra vitest args), and
#      vm-run.sh's VM_TIMEOUT (default here 2400 s per kernel), VM_MEM, VM_SMP, VM_CGROUP2, VM_WORK_CACHE
#      (default here: loose).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
VMRUN=$ROOT/scripts/vm/vm-run.sh

kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(5.10 6.1 6.12)
for k in "${kernels[@]}"; do
  case $k in 5.10|6.1|6.12|host) ;; *) [ -d "$k" ] || { echo "matrix: unknown kernel '$k'" >&2; exit 2; } ;; esac
done
[ -f packages/agent/dist/main.js ] && [ -d bpf/.output ] && [ -f native/build/Release/peregrine_native.node ] ||
  { echo "matrix: the repository is not built: run ./scripts/setup.sh first" >&2; exit 2; }
vms=()
for k in "${kernels[@]}"; do case $k in host) ;; *) vms+=("$k") ;; esac; done
if [ ${#vms[@]} -gt 0 ]; then
  series=(); for k in "${vms[@]}"; do case $k in 5.10|6.1|6.12) series+=("$k") ;; esac; done
  [ ${#series[@]} -eq 0 ] || "$ROOT/scripts/vm/fetch-kernels.sh" "${series[@]}"
fi

OUT=${MATRIX_OUT:-$(mktemp -d /tmp/peregrine-matrix.XXXXXX)}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
E2E=${MATRIX_E2E:-}
EXCL=${MATRIX_E2E_EXCLUDE:-}
[ "${MATRIX_FAST:-0}" = 0 ] || EXCL=${MATRIX_E2E_EXCLUDE:-test/integration/** test/e2e/config.test.ts test/e2e/burst.test.ts test/e2e/*bench*}
XARGS=; set -f; for g in $EXCL; do XARGS="$XARGS --exclude '$g'"; done; set +f
UNIT=${MATRIX_UNIT:-native/test packages/collector/src/probe packages/collector/src/abi}
# cgroup2 as on the development hosts (hybrid layout, /sys/fs/cgroup/unified): test/e2e/process-exec,
# net-connect and policy-connect hard-code that path (net-connect silently skips without it). Set
# VM_CGROUP2=/sys/fs/cgroup for a pure cgroup2 layout once they look the mount up in /proc/self/mounts.
export VM_TIMEOUT=${VM_TIMEOUT:-2400} VM_WORK_CACHE=${VM_WORK_CACHE:-loose} VM_CGROUP2=${VM_CGROUP2:-/sys/fs/cgroup/unified}

# The steps, run in the repo root inside the VM (or on the host for `host`); results go to $1.
steps() {
  cat <<EOF
R=$1; mkdir -p "\$R"; rm -f "\$R"/*.json
ts() { date +%s; }
echo "== uname -r: \$(uname -r)   active LSMs: \$(cat /sys/kernel/security/lsm 2>/dev/null)"
echo "== node --version: \$(node --version)"
echo "== bpftool feature probe kernel | grep -E 'kprobe|tracing|lsm'"
bpftool feature probe kernel 2>/dev/null | grep -E 'kprobe|tracing|lsm'
echo "== peregrine probe (node packages/agent/dist/main.js probe)"
node packages/agent/dist/main.js probe 2>&1 | tee "\$R/probe.txt"; echo "(probe exit \${PIPESTATUS[0]})"
echo "== every BPF program loaded alone (node test/vm/load-objects.cjs; informational)"
LOG_LINES=\${LOG_LINES:-8} node test/vm/load-objects.cjs 2>&1 | cut -c1-400 | tee "\$R/load-objects.txt"
t=\$(ts); echo "== vitest run --project e2e $E2E$XARGS"
npx --no-install vitest run --project e2e $E2E$XARGS ${MATRIX_VITEST_ARGS:-} --reporter=default --reporter=json --outputFile.json="\$R/e2e.json"
e=\$?; echo "(e2e exit \$e after \$(( \$(ts) - t )) s)"
t=\$(ts); echo "== vitest run $UNIT"
npx --no-install vitest run $UNIT ${MATRIX_VITEST_ARGS:-} --reporter=default --reporter=json --outputFile.json="\$R/unit.json"
u=\$?; echo "(unit exit \$u after \$(( \$(ts) - t )) s)"
[ \$e = 0 ] && [ \$u = 0 ]
EOF
}

# "kernel <ver>: N passed, N failed, N skipped" and the failures, from the vitest JSON reports.
summarize() {   # <label> <results dir> <run rc>
  node - "$@" <<'EOF'
const fs = require('fs');
const [label, dir, rc] = process.argv.slice(2);
// Errors of a failed file/suite (beforeAll, import) are not in the JSON report: take them from the output.
const text = fs.existsSync(`${dir}/output.txt`) ? fs.readFileSync(`${dir}/output.txt`, 'utf8').replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '') : '';
const suiteError = (rel) => {
  const out = [];
  const ls = text.split('\n');
  for (let i = 0; i < ls.length; i++) {
    if (!/^\s*FAIL\s/.test(ls[i]) || !ls[i].includes(rel)) continue;
    out.push(ls[i].trim());
    for (let j = i + 1; j < ls.length && j < i + 12; j++) {
      if (/^\s*(❯|⎯)/.test(ls[j])) break;
      if (/^\s*FAIL\s/.test(ls[j])) continue; // vitest lists the suites sharing one error, then the error
      if (ls[j].trim()) out.push(ls[j].trim().slice(0, 300));
    }
  }
  return out.join('\n    ');
};
let p = 0, f = 0, s = 0, bad = 0;
const lines = [];
for (const part of ['e2e', 'unit']) {
  const file = `${dir}/${part}.json`;
  if (!fs.existsSync(file)) { bad++; lines.push(`  ${part}: no results (${file} missing: the run did not finish)`); continue; }
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  p += r.numPassedTests; f += r.numFailedTests; s += r.numPendingTests + r.numTodoTests;
  for (const t of r.testResults) {
    const rel = t.name.replace(process.cwd() + '/', '');
    const failed = t.assertionResults.filter((a) => a.status === 'failed');
    if (t.status === 'failed' && failed.length === 0) {
      bad++;
      lines.push(`  FAIL ${rel} (file): ${t.message ? t.message.split('\n').slice(0, 6).join('\n    ') : suiteError(rel) || 'failed'}`);
    }
    for (const a of failed) {
      const msg = (a.failureMessages || []).join('\n').split('\n').filter((l) => l.trim() !== '').slice(0, 8).join('\n    ');
      lines.push(`  FAIL ${rel} > ${a.fullName} (${Math.round(a.duration ?? 0)} ms)\n    ${msg}`);
    }
  }
}
const status = f === 0 && bad === 0 && rc === '0' ? 'ok' : 'FAILED';
console.log(`kernel ${label}: ${p} passed, ${f} failed, ${s} skipped${bad ? `, ${bad} file/run errors` : ''}${rc !== '0' && f === 0 && bad === 0 ? ` (exit ${rc})` : ''} [${status}]`);
for (const l of lines) console.log(l);
process.exit(status === 'ok' ? 0 : 1);
EOF
}

summary=()
failed=0
T0=$(date +%s)
for k in "${kernels[@]}"; do
  R=$OUT/$k; rm -rf "$R"; mkdir -p "$R"
  printf '\n######## kernel %s ########\n' "$k"
  t1=$(date +%s)
  rc=0
  if [ "$k" = host ]; then
    steps "$R" > "$R/steps.sh"
    NO_COLOR=1 HOME=${HOME:-/root} bash "$R/steps.sh" 2>&1 | tee "$R/output.txt" || rc=$?
    ver="host $(uname -r)"; timing="total $(( $(date +%s) - t1 )) s"
  else
    VM_KERNEL=$k VM_SHARE="$OUT" VM_CONSOLE="$R/console.log" "$VMRUN" "$(steps "$R")" 2>&1 | tee "$R/output.txt" || rc=$?
    line=$(grep '^vm-run: .*: boot ' "$R/output.txt" | tail -1)
    ver=$(sed -n 's/^vm-run: \([^:]*\): boot.*/\1/p' <<<"$line"); ver=${ver:-$k}
    timing="boot $(sed -n 's/.*: boot \([0-9.?]*\) s.*/\1/p' <<<"$line") s, total $(( $(date +%s) - t1 )) s"
  fi
  s=$(summarize "$ver" "$R" "$rc") || failed=1
  printf '%s\n' "$s" | tee "$R/summary.txt"
  summary+=("$(head -1 <<<"$s") ($timing)")
done
printf '\n######## matrix summary (%s s; results in %s) ########\n' "$(( $(date +%s) - T0 ))" "$OUT"
printf '%s\n' "${summary[@]}"
exit "$failed"
