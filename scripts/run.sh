#!/usr/bin/env bash
# The product's main job, for a newcomer: installs, builds, then sends a demo story of one CPTS
# as commands to the embedded log under ./data, decides them (the deciders of aggregates/),
# prints the CPTS's stream, brings the read models up to date (projections/) and prints the
# CPTS's indicators. Run it again: the same requests meet the rules.
# (A later milestone turns this into the daemon with its HTTP API.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
data="${CPTS_DATA_DIR:-data}"
build/bin/cpts demo --data-dir "$data" "$@"
build/bin/cpts project --data-dir "$data"
build/bin/cpts query indicators --cpts cpts-haut-doubs --data-dir "$data"
echo "More views: build/bin/cpts query handoff --cpts cpts-haut-doubs --data-dir $data --purpose \"first look\" (patient-level reads are traced; see README.md)"
