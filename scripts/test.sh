#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds with warnings as errors,
# runs every test (unit, integration against RocksDB on disk and the Kafka test broker, the
# independent clients kcat and python3-kafka).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DCPTS_WERROR=ON
cd build
# Two at a time: the machines have two cores, and the broker tests are mostly waiting.
ctest -j 2 --output-on-failure --timeout 900
