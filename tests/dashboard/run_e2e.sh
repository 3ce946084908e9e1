#!/usr/bin/env bash
# Runs the dashboard's browser test (e2e.mjs) against a real `visionbench serve`:
# builds the dashboard into the build tree, installs Debian's chromium with
# apt-get when it is missing and this user may, then drives it headless with
# playwright-core. Exits 77 (skipped) when the shared data, Node.js or
# chromium is unavailable. Needs VB_SOURCE_DIR, VB_BINARY_DIR, VB_CLI and
# VB_SHARED_DIR, which CTest sets.
set -euo pipefail
: "${VB_SOURCE_DIR:?set by CTest}" "${VB_BINARY_DIR:?set by CTest}" "${VB_CLI:?set by CTest}"
shared=${VB_SHARED_DIR:-}

skip() {
    echo "SKIP: $*"
    exit 77
}

for f in models/yolox_nano.onnx models/yolov8n.onnx datasets/kaggle-car-video/gt.csv; do
    [ -n "$shared" ] && [ -f "$shared/$f" ] || skip "shared file $f not found under '${shared}'"
done
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || skip "node and npm are not installed"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || skip "Node.js $node_major is too old; the test needs 18 or later"

# Debian's chromium, never a browser download.
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing chromium with apt-get"
        # A fresh machine may have no package lists yet: update once on failure.
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null ||
            { apt-get update >/dev/null &&
              DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null; } ||
            skip "apt-get install chromium failed"
    fi
    [ -x /usr/bin/chromium ] || skip "/usr/bin/chromium is missing; install Debian's chromium package"
fi

# The dashboard and playwright-core (a devDependency in web/package.json,
# which e2e.mjs loads from web/node_modules).
# The build only runs npm ci and copies files, so a failure means npm could
# not reach the registry or its cache.
web_dir="$VB_BINARY_DIR/web"
"$VB_SOURCE_DIR/web/build.sh" "$web_dir" || skip "the dashboard build failed (npm ci needs the npm registry or a filled cache)"
export VB_WEB_DIR="$web_dir"
exec node "$VB_SOURCE_DIR/tests/dashboard/e2e.mjs" "$@"
