#!/usr/bin/env bash
# The product's main job, for a newcomer: installs, builds, then sends a demo story of one CPTS
# as commands to the embedded log under ./data, decides them (the deciders of aggregates/) and
# prints the CPTS's stream. Run it again: the same requests meet the rules.
# (A later milestone turns this into the daemon with its HTTP API.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/bin/cpts demo --data-dir "${CPTS_DATA_DIR:-data}" "$@"
