#!/usr/bin/env bash
# matrix.sh [kernels...]   (5.10 6.1 6.12 host, or a kernel directory; default: 5.10 6.1 6.12)
#
# Runs Peregrine's BPF test suite on other kernels: for each kernel, one after another (a TCG VM uses both
# host CPUs), boots it with scripts/vm/vm-run.sh over the host's root filesystem (cgroup2 mounted alone at
# /sys/fs/cgroup: the host has the hybrid layout, so both are covered) and runs, in the repository root,
# one vitest run of the BPF suite:
#   test/e2e (end to end through the agent and each backend; test/e2e/programs.test.ts loads every shipped
#   BPF program alone and checks the feature probe: kprobes, fentry, fmod_ret and BPF LSM must be found),
#   native/test (libbpf addon, ring reader, fanotify guard), packages/collector/src/{probe,abi}
# minus what does not depend on the kernel: test/integration/** (sink servers), test/e2e/config.test.ts
# (CLI/config validation) and the opt-in benchmarks (test/e2e/*bench*; skipped anyway without
# PEREGRINE_BENCH=1). `host` runs the same on the host kernel without a VM.
# Inside the VM, PEREGRINE_TEST_TIME_SCALE (default 6) stretches the tests' waits, timeouts and time
# bounds (test/helpers/time.ts) and PEREGRINE_VM_KERNEL names the kernel series.
# The repository must be built first (./scripts/setup.sh); nothing is rebuilt in the VM (CO-RE objects).
# Kernels are fetched into ${PEREGRINE_VM_CACHE:-/var/cache/peregrine-vm} when missing.
#
# Prints per kernel "kernel <ver>: N passed, N failed, N skipped (…, wall N s)" plus every failure, and a
# summary; writes <out>/<kernel>/counts ("passed failed skipped errors wall_s") for scripts/test.sh.
# Exits 1 if any kernel has a failed test, a failed test file, or no results (boot failure, timeout).
# Env: MATRIX_FILES (what vitest runs; default above), MATRIX_EXCLUDE (globs, space separated),
#      MATRIX_OUT (results dir, default: a new /tmp/peregrine-matrix.XXXXXX, kept), MATRIX_VITEST_ARGS,
#      MATRIX_TIME_SCALE (6), and vm-run.sh's VM_TIMEOUT (default here 1800 s per kernel), VM_MEM, VM_SMP,
#      VM_CGROUP2 (default here /sys/fs/cgroup), VM_WORK_CACHE (default here loose).
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
series=()
for k in "${kernels[@]}"; do case $k in 5.10|6.1|6.12) series+=("$k") ;; esac; done
[ ${#series[@]} -eq 0 ] || "$ROOT/scripts/vm/fetch-kernels.sh" "${series[@]}"

OUT=${MATRIX_OUT:-$(mktemp -d /tmp/peregrine-matrix.XXXXXX)}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
FILES=${MATRIX_FILES:-test/e2e native/test packages/collector/src/probe packages/collector/src/abi}
EXCL=${MATRIX_EXCLUDE:-test/e2e/config.test.ts test/e2e/*bench*}
XARGS=; set -f; for g in $EXCL; do XARGS="$XARGS --exclude '$g'"; done; set +f
export VM_TIMEOUT=${VM_TIMEOUT:-1800} VM_WORK_CACHE=${VM_WORK_CACHE:-loose} VM_CGROUP2=${VM_CGROUP2:-/sys/fs/cgroup}
export PEREGRINE_TEST_TIME_SCALE=${MATRIX_TIME_SCALE:-6}

# The run, in the repository root inside the VM (or on the host for `host`); results go to $1.
steps() {
  cat <<EOF
R=$1; mkdir -p "\$R"; rm -f "\$R"/results.json
echo "== \$(uname -r); active LSMs: \$(cat /sys/kernel/security/lsm 2>/dev/null); cgroup2 at \$(awk '\$3 == "cgroup2" { print \$2 }' /proc/self/mounts); node \$(node --version); time scale \${PEREGRINE_TEST_TIME_SCALE:-1}"
echo "== vitest run $FILES$XARGS"
t=\$(date +%s)
npx --no-install vitest run $FILES$XARGS ${MATRIX_VITEST_ARGS:-} --reporter=verbose --reporter=json --outputFile.json="\$R/results.json"
rc=\$?; echo "== vitest exit \$rc after \$(( \$(date +%s) - t )) s"
exit \$rc
EOF
}

# "kernel <ver>: N passed, N failed, N skipped" and the failures, from the vitest JSON report.
summarize() {   # <label> <results dir> <run rc> <wall s>
  node - "$@" <<'EOF'
const fs = require('fs');
const [label, dir, rc, wall] = process.argv.slice(2);
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
const file = `${dir}/results.json`;
if (!fs.existsSync(file)) { bad++; lines.push(`  no results (${file} missing: the run did not finish; see ${dir}/output.txt)`); }
else {
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  p = r.numPassedTests; f = r.numFailedTests; s = r.numPendingTests + r.numTodoTests;
  for (const t of r.testResults) {
    const rel = t.name.replace(/^.*?\/(test|native|packages)\//, '$1/');
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
const ok = f === 0 && bad === 0 && rc === '0';
console.log(`kernel ${label}: ${p} passed, ${f} failed, ${s} skipped${bad ? `, ${bad} file/run errors` : ''}${!ok && f === 0 && bad === 0 ? ` (exit ${rc})` : ''} (wall ${wall} s) [${ok ? 'ok' : 'FAILED'}]`);
for (const l of lines) console.log(l);
fs.writeFileSync(`${dir}/counts`, `${p} ${f} ${s} ${bad + (ok || f || bad ? 0 : 1)} ${wall}\n`);
process.exit(ok ? 0 : 1);
EOF
}

summary=()
failed=0
T0=$(date +%s)
for k in "${kernels[@]}"; do
  R=$OUT/$k; rm -rf "$R"; mkdir -p "$R"
  printf '\n######## kernel %s ########\n' "$k"
  t1=$(date +%s)
  rc=0; crash=
  if [ "$k" = host ]; then
    steps "$R" > "$R/steps.sh"
    NO_COLOR=1 HOME=${HOME:-/root} PEREGRINE_TEST_TIME_SCALE=1 bash "$R/steps.sh" 2>&1 | tee "$R/output.txt" || rc=$?
    ver="host $(uname -r)"; boot=
  else
    case $k in 5.10|6.1|6.12) vk=$k ;; *) vk=$(basename "$k") ;; esac
    for attempt in 1 2; do
      rc=0
      PEREGRINE_VM_KERNEL=$vk VM_PASSENV="PEREGRINE_TEST_TIME_SCALE PEREGRINE_VM_KERNEL" VM_KERNEL=$k VM_SHARE="$OUT" \
        VM_CONSOLE="$R/console.log" "$VMRUN" "$(steps "$R")" 2>&1 | tee "$R/output.txt" || rc=$?
      # A guest kernel that crashed (no results, an oops on its console) is re-run once: under TCG the
      # kernel's own text patching (int3-based, e.g. a tracepoint static key flipping in
      # syscall_trace_enter) has been seen to trap on a stale translation — an emulator fault, which a
      # test cannot cause through the verifier. The crash is kept and reported; a second crash fails.
      oops=
      [ -f "$R/results.json" ] || oops=$(grep -m1 -E 'Oops:|Kernel panic|BUG:' "$R/console.log" 2>/dev/null | sed 's/^\[ *[0-9.]*\] //' || true)
      [ -n "$oops" ] && [ "$attempt" = 1 ] || break
      rip=$(grep -m1 -E '^\[ *[0-9.]*\] RIP: 0010:' "$R/console.log" | sed 's/^.*RIP: 0010://' || true)
      crash="guest kernel crash on the first run: $oops${rip:+ at $rip}"
      printf 'matrix: kernel %s: %s; no test result — running it once more (logs of the first run in %s/crash1)\n' "$k" "$crash" "$R"
      mkdir -p "$R/crash1" && mv "$R/console.log" "$R/output.txt" "$R/crash1/" 2>/dev/null || true
    done
    line=$(grep '^vm-run: .*: boot ' "$R/output.txt" | tail -1 || true)
    ver=$(sed -n 's/^vm-run: \([^:]*\): boot.*/\1/p' <<<"$line"); ver=${ver:-$k}
    boot=$(sed -n 's/.*: boot \([0-9.?]*\) s.*/\1/p' <<<"$line")
  fi
  wall=$(( $(date +%s) - t1 ))
  s=$(summarize "$ver" "$R" "$rc" "$wall") || failed=1
  printf '%s\n' "$s" | tee "$R/summary.txt"
  summary+=("$(head -1 <<<"$s")${boot:+ (boot $boot s)}${crash:+ (re-run after a $crash)}")
done
printf '\n######## kernel matrix (%s s; results in %s) ########\n' "$(( $(date +%s) - T0 ))" "$OUT"
printf '%s\n' "${summary[@]}"
exit "$failed"
