#!/usr/bin/env bash
# The product's main job, for a newcomer: installs, builds, then appends a demo story of one
# CPTS to the embedded log under ./data and prints it back. Run it again: the stream continues.
# (A later milestone turns this into the daemon with its HTTP API.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/bin/cpts demo --data-dir "${CPTS_DATA_DIR:-data}" "$@"
