#!/usr/bin/env bash
# fetch-kernels.sh [--refresh] [series...]   (series: 5.10 6.1 6.12; default: all three)
#
# Downloads Debian's stock amd64 kernels for the VM test matrix and extracts only what scripts/vm/vm-run.sh
# needs (the vmlinuz and the 9p / virtio / netfs / fscache modules, ~10 MB per kernel) into
#   ${PEREGRINE_VM_CACHE:-/var/cache/peregrine-vm}/<series>/   (outside the repository)
# The package names are resolved from the archive indexes: the newest linux-image-<abi>-amd64 of each series
#   5.10 -> bullseye (+ bullseye-security)      linux-image-5.10.0-N-amd64
#   6.1  -> bookworm (+ bookworm-security)      linux-image-6.1.0-N-amd64
#   6.12 -> trixie (+ trixie-security) or bookworm-backports   linux-image-6.12.P+deb13-amd64 / +bpo
# APT runs with a private configuration and state (APT_CONFIG, Dir::Etc, Dir::State, Dir::Cache under the
# cache dir): the host's apt config, lists, caches and hooks are never read or touched and nothing is
# installed. A series already in the cache is not re-fetched (fast no-op) unless --refresh is given, which
# re-reads the indexes and replaces the cached kernel when a newer one exists.
# Env: PEREGRINE_VM_CACHE (cache dir), VM_MIRROR (default: http://deb.debian.org/debian),
#      VM_SECURITY_MIRROR (default: http://deb.debian.org/debian-security).
set -euo pipefail

CACHE=${PEREGRINE_VM_CACHE:-/var/cache/peregrine-vm}
MIRROR=${VM_MIRROR:-http://deb.debian.org/debian}
SEC=${VM_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

say() { printf 'fetch-kernels: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

refresh=0
series=()
for a in "$@"; do
  case $a in
    --refresh) refresh=1 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    5.10|6.1|6.12) series+=("$a") ;;
    *) die "unknown argument '$a' (expected 5.10, 6.1, 6.12 or --refresh)" ;;
  esac
done
[ ${#series[@]} -gt 0 ] || series=(5.10 6.1 6.12)

# Package-name pattern per series (signed images only: no -unsigned, -dbg, -rt, -cloud).
pattern() {
  case $1 in
    5.10) echo '^linux-image-5\.10\.0-[0-9]+-amd64$' ;;
    6.1) echo '^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
    6.12) echo '^linux-image-6\.12\.[0-9]+(\+deb13|\+bpo|-[0-9]+)?-amd64$' ;;
  esac
}

todo=()
for s in "${series[@]}"; do
  if [ "$refresh" = 0 ] && [ -f "$CACHE/$s/.complete" ]; then
    say "$s: cached ($(cat "$CACHE/$s/.complete")) in $CACHE/$s"
  else
    todo+=("$s")
  fi
done
[ ${#todo[@]} -gt 0 ] || exit 0

for t in apt-get apt-cache dpkg-deb tar; do command -v $t >/dev/null || die "$t not found"; done
[ -r "$KEYRING" ] || die "$KEYRING missing (apt-get install debian-archive-keyring)"
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

# --- private apt -------------------------------------------------------------------------------------
A=$CACHE/.apt
mkdir -p "$A/etc/apt.conf.d" "$A/etc/preferences.d" "$A/etc/sources.list.d" "$A/etc/trusted.gpg.d" \
  "$A/state/lists/partial" "$A/cache/archives/partial" "$A/debs"   # lists and cache are removed at the end
: > "$A/state/status"
cat > "$A/apt.conf" <<CONF
Dir::Etc "$A/etc";
Dir::Etc::main "$A/apt.conf";
Dir::Etc::parts "$A/etc/apt.conf.d";
Dir::Etc::sourcelist "$A/etc/sources.list";
Dir::Etc::sourceparts "$A/etc/sources.list.d";
Dir::Etc::preferences "$A/etc/preferences";
Dir::Etc::preferencesparts "$A/etc/preferences.d";
Dir::Etc::trusted "$A/etc/trusted.gpg";
Dir::Etc::trustedparts "$A/etc/trusted.gpg.d";
Dir::State "$A/state";
Dir::State::status "$A/state/status";
Dir::Cache "$A/cache";
Dir::Log "$A/log";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
Acquire::CompressionTypes::Order { "gz"; };
Dir::Cache::srcpkgcache "";
Acquire::Check-Valid-Until "false";
Acquire::Retries "3";
Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled "false";
CONF
{
  for suite in bullseye bookworm bookworm-backports trixie; do
    echo "deb [signed-by=$KEYRING] $MIRROR $suite main"
  done
  for suite in bullseye-security bookworm-security trixie-security; do
    echo "deb [signed-by=$KEYRING] $SEC $suite main"
  done
} > "$A/etc/sources.list"
export APT_CONFIG=$A/apt.conf   # read instead of /etc/apt/apt.conf; its Dir::Etc::parts hides apt.conf.d

t0=$(date +%s)
say "updating private package indexes ($MIRROR, $SEC)"
apt-get -q -o Dpkg::Use-Pty=0 update >"$A/update.log" 2>&1 || { cat "$A/update.log" >&2; die "apt-get update failed"; }
grep -E '^(Err|W:|E:)' "$A/update.log" >&2 || true
say "indexes ready in $(( $(date +%s) - t0 )) s"

newest() {   # newest (by candidate version) package matching the series pattern -> "name version"
  local best= bestv= n v
  for n in $(apt-cache pkgnames linux-image- | grep -E "$(pattern "$1")" || true); do
    v=$(apt-cache show --no-all-versions "$n" 2>/dev/null | sed -n 's/^Version: //p' | head -1)
    [ -n "$v" ] || continue
    if [ -z "$bestv" ] || dpkg --compare-versions "$v" gt "$bestv"; then best=$n; bestv=$v; fi
  done
  [ -n "$best" ] && echo "$best $bestv"
}

for s in "${todo[@]}"; do
  read -r pkg ver < <(newest "$s") || die "$s: no package matching $(pattern "$s") in the indexes"
  id="${pkg}_${ver}"
  if [ -f "$CACHE/$s/.complete" ] && [ "$(cat "$CACHE/$s/.complete")" = "$id" ]; then
    say "$s: $pkg $ver is the newest and already cached"
    continue
  fi
  say "$s: downloading $pkg $ver"
  t1=$(date +%s)
  rm -f "$A"/debs/*.deb
  (cd "$A/debs" && apt-get -q -o Dpkg::Use-Pty=0 download "$pkg=$ver" >&2) || die "$s: apt-get download $pkg failed"
  deb=$(ls "$A"/debs/*.deb)
  say "$s: $(du -m "$deb" | cut -f1) MB in $(( $(date +%s) - t1 )) s; extracting the slim set"
  tmp=$CACHE/.tmp-$s
  rm -rf "$tmp"; mkdir -p "$tmp"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards \
    './boot/vmlinuz-*' '*/kernel/fs/9p/*' '*/kernel/net/9p/*' '*/kernel/drivers/virtio/*' '*/kernel/fs/netfs/*' '*/kernel/fs/fscache/*' \
    '*/modules.builtin' 2>/dev/null || true   # a pattern that matches nothing (5.10: no netfs) is not an error
  ls "$tmp"/boot/vmlinuz-* >/dev/null 2>&1 || die "$s: no vmlinuz in $deb"
  echo "$id" > "$tmp/.complete"
  rm -rf "$CACHE/$s"; mv "$tmp" "$CACHE/$s"
  rm -f "$deb"
  say "$s: $id -> $CACHE/$s ($(du -sm "$CACHE/$s" | cut -f1) MB, $(( $(date +%s) - t1 )) s)"
done
rm -rf "$A/state/lists" "$A/cache"   # ~140 MB of indexes, only needed again with --refresh
say "done in $(( $(date +%s) - t0 )) s"
