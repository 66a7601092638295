#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the benchmarks need.
# A no-op when all are there; otherwise runs apt-get update, then installs what is missing.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config
  # libraries (ARCHITECTURE.md, "Dependencies")
  librdkafka-dev librocksdb-dev nlohmann-json3-dev prometheus-cpp-dev libsodium-dev
  libcli11-dev libcpp-httplib-dev libspdlog-dev libfmt-dev libssl-dev liblz4-dev libzstd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # the binaries' allocator: read-model rebuilds allocate per event (docs/projections.md)
  libjemalloc-dev
  # independent clients the tests talk to the broker with (python3-lz4: our batches are lz4)
  kcat python3 python3-kafka python3-lz4 python3-hl7 curl
  # the real Prometheus server and promtool, for the metrics tests
  prometheus
  # the HTTP load generator of the API benchmark (bench/api_bench.sh)
  wrk
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root, or install sudo, to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
