#!/usr/bin/env bash
# The whole test suite: sets up what the tests need, then runs every test (unit and the privileged
# end-to-end suites on the real kernel) with one runner, and prints "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
# QEMU and busybox for the kernel matrix (test/vm/kernels.test.ts boots Debian's 5.10, 6.1 and 6.12).
PEREGRINE_EXTRA_APT="qemu-system-x86 busybox-static debian-archive-keyring" ./scripts/setup.sh
./scripts/vm/fetch-kernels.sh
# Real servers on loopback for the sink integration tests (Kafka, Elasticsearch, an OpenTelemetry
# Collector, Redis), fetched and cached outside the repository; left running for the next run.
./scripts/servers.sh start
eval "$(./scripts/servers.sh env)"
printf '==> tests (vitest)\n' >&2
out=$(mktemp -d)
rc=0
npx --no-install vitest run --reporter=default --reporter=json --outputFile.json="$out/results.json" "$@" || rc=$?
if [ -f "$out/results.json" ]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  ' "$out/results.json"
fi
rm -rf "$out"
exit "$rc"
