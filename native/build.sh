#!/bin/sh
# Builds the addon against the running Node's own headers (no download: node-gyp would otherwise fetch them).
set -eu
cd "$(dirname "$0")"
prefix=$(dirname "$(dirname "$(command -v node)")")
if [ -f "$prefix/include/node/node_api.h" ]; then nodedir="--nodedir=$prefix"; else nodedir=""; fi
exec npx --no-install node-gyp rebuild $nodedir
