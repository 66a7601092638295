#!/usr/bin/env bash
# The product's main job, for a newcomer: installs what is missing, builds cptsd and cpts, then
# runs cptsd on the embedded log under ./data in demo mode: it fills itself with a simulated life
# of the seeds' five territories, sent through its own HTTP API, and prints the URLs and one demo
# token per role. Ctrl-C stops it; run it again to continue where it stopped.
#   CPTS_DATA_DIR=dir   another data directory (default ./data)
#   CPTSD_PORT=port     another port (default 8080)
# Extra arguments go to cptsd (build/bin/cptsd --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target cptsd cpts
exec build/bin/cptsd --demo --data-dir "${CPTS_DATA_DIR:-data}" --port "${CPTSD_PORT:-8080}" "$@"
