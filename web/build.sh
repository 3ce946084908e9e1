#!/usr/bin/env bash
# Builds the dashboard into OUT_DIR (default web/dist): installs the npm
# packages pinned in package-lock.json, then copies the page, its scripts and
# the Chart.js bundle, so the server needs nothing from the network.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/dist}
cd "$here"

if ! command -v npm >/dev/null 2>&1; then
    echo "build.sh: npm not found; install Node.js 20 and npm to build the dashboard" >&2
    exit 1
fi
if [ ! -f node_modules/chart.js/dist/chart.umd.min.js ] ||
   [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
fi

rm -rf "$out"
mkdir -p "$out/assets/vendor"
cp -R src/. "$out/"
cp node_modules/chart.js/dist/chart.umd.min.js "$out/assets/vendor/chart.umd.min.js"
cp node_modules/chart.js/LICENSE.md "$out/assets/vendor/chart.js-LICENSE.md"
echo "dashboard built in $out"
