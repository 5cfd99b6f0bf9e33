#!/usr/bin/env bash
# Installs what Peregrine needs and builds it: apt packages (only the missing ones), npm ci (when the
# lockfile changed), the BPF objects, the native addon and the TypeScript packages. Each step says
# what it does; a step with nothing to do is skipped quickly.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then B=$'\033[1m'; R=$'\033[0m'; else B=; R=; fi
step() { printf '%s==> %s%s\n' "$B" "$*" "$R" >&2; }
die() { printf 'peregrine setup: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (apt-get and BPF need it)"

APT_PKGS=(clang-19 llvm-19 libbpf-dev libbpf1 libelf-dev zlib1g-dev bpftool pkg-config make g++ python3 ${PEREGRINE_EXTRA_APT:-})
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "apt: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

command -v node >/dev/null || die "Node.js 20 or newer is required (none found on PATH)"
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || die "Node.js 20 or newer is required (found $(node --version))"

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi

step "BPF objects (make -C bpf)"
make -s -C bpf

addon=native/build/Release/peregrine_native.node
if [ ! -f "$addon" ] || [ -n "$(find native/src native/binding.gyp -newer "$addon" 2>/dev/null | head -1)" ]; then
  step "native addon (node-gyp)"
  (cd native && ./build.sh >/dev/null)
fi

step "TypeScript packages (turbo run build)"
TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 npx --no-install turbo run build --output-logs=errors-only --log-prefix=none >&2
