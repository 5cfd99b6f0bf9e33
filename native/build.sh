#!/bin/sh
# Builds the addon against the running Node's own headers (no download: node-gyp would otherwise fetch them).
set -eu
cd "$(dirname "$0")"
prefix=$(dirname "$(dirname "$(command -v node)")")
if [ -f "$prefix/include/node/node_api.h" ]; then nodedir="--nodedir=$prefix"; else nodedir=""; fi
# configure+build, not rebuild: rebuild deletes build/ first, and any process loading the addon
# meanwhile (a concurrent test run) fails; the final copy replaces the .node by a new link instead.
exec npx --no-install node-gyp configure build $nodedir
