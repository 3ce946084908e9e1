#!/usr/bin/env bash
# Installs the build prerequisites, builds visionbench in build/ and runs
# `visionbench demo`: the bundled models on generated road scenes. Extra
# arguments go to `visionbench demo` (for example --count 20 or --no-db).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${VB_BUILD_DIR:-$root/build}

"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release ${VB_CMAKE_ARGS:-}
cmake --build "$build" -j"$(nproc)" --target visionbench
exec "$build/visionbench" demo --models "$root/models" "$@"
