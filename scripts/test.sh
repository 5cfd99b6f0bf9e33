#!/usr/bin/env bash
# The whole test suite: sets up what the tests need, then runs every test (unit and the privileged
# end-to-end suites on the real kernel) with one runner, then the BPF suite again inside QEMU VMs booting
# Debian's 5.10, 6.1 and 6.12 kernels (scripts/vm/matrix.sh: kprobes, fentry, fmod_ret and BPF LSM, which
# this kernel refuses), and prints per kernel and in total "N passed, N failed, N skipped".
# Fails if any test fails anywhere. Arguments go to the host's vitest run; with arguments the kernel
# matrix is left out unless PEREGRINE_VM_MATRIX=1; PEREGRINE_VM_MATRIX=0 always leaves it out.
set -euo pipefail
cd "$(dirname "$0")/.."
# QEMU and busybox for the kernel matrix.
PEREGRINE_EXTRA_APT="qemu-system-x86 busybox-static debian-archive-keyring" ./scripts/setup.sh
matrix=${PEREGRINE_VM_MATRIX:-$([ $# -eq 0 ] && echo 1 || echo 0)}
[ "$matrix" = 0 ] || ./scripts/vm/fetch-kernels.sh
# Real servers on loopback for the sink integration tests (Kafka, Elasticsearch, an OpenTelemetry
# Collector, Redis), fetched and cached outside the repository; left running for the next run.
./scripts/servers.sh start
eval "$(./scripts/servers.sh env)"
# Every TypeScript file, tests and benchmarks' helpers included, under the strict root tsconfig.
printf '==> type check (tsc --noEmit, whole repository)\n' >&2
npx --no-install tsc -p tsconfig.json --noEmit
printf '==> tests (vitest, host kernel %s)\n' "$(uname -r)" >&2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
rc=0
npx --no-install vitest run --reporter=default --reporter=json --outputFile.json="$out/results.json" "$@" || rc=$?
host=
if [ -f "$out/results.json" ]; then
  host=$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`${r.numPassedTests} ${r.numFailedTests} ${r.numPendingTests + r.numTodoTests}`);
  ' "$out/results.json")
fi
[ -n "$host" ] || { host="0 0 0"; rc=1; }
lines=("$(awk -v k="$(uname -r)" '{ printf "host %s: %d passed, %d failed, %d skipped", k, $1, $2, $3 }' <<<"$host")")
read -r P F S <<<"$host"
if [ "$matrix" != 0 ]; then
  printf '==> the BPF suite on other kernels (QEMU, scripts/vm/matrix.sh)\n' >&2
  mout=$(mktemp -d /tmp/peregrine-matrix.XXXXXX)   # kept: per-kernel output, console logs, results
  MATRIX_OUT=$mout ./scripts/vm/matrix.sh 5.10 6.1 6.12 || rc=1
  for k in 5.10 6.1 6.12; do
    if [ -f "$mout/$k/counts" ]; then
      read -r p f s e w < "$mout/$k/counts"
    else
      p=0 f=0 s=0 e=1 w=?
    fi
    [ "$f" = 0 ] && [ "$e" = 0 ] || rc=1
    lines+=("kernel $k: $p passed, $f failed, $s skipped$([ "$e" = 0 ] || echo ", $e file/run errors") (wall $w s)")
    P=$((P + p)) F=$((F + f)) S=$((S + s))
  done
fi
printf '\n'
printf '%s\n' "${lines[@]}"
printf '%d passed, %d failed, %d skipped (%s)\n' "$P" "$F" "$S" "$([ "$matrix" = 0 ] && echo "host kernel only" || echo "host kernel + VM kernels 5.10, 6.1, 6.12")"
exit "$rc"
