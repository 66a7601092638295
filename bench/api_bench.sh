#!/usr/bin/env bash
# cptsd's HTTP API under load (bench/README.md, "api_bench"): starts build/bin/cptsd on a fresh
# data directory, fills it with realistic traffic (cpts simulate), then measures with wrk:
#   1. GET /v1/cpts/cpts-haut-doubs/handoff (a coordinator's token): a patient-level view,
#      read through PatientReads, one access trace per request;
#   2. POST /v1/cpts/cpts-haut-doubs/commands/snp.receive_request, each request with its own
#      Idempotency-Key and request_id (so each is a new command, accepted): the whole write path
#      (edge, commands topic, deciders, events topic, projector, outcome row, answer).
# Each is run --runs times for --seconds; the table shows min / median / max of the runs'
# p50 and p99 latency and requests/s. Defaults take about 2.5 minutes.
# Exit status 1, with the reason, when a step fails or a run has errors (non-2xx answers,
# socket errors).
set -euo pipefail

build=build
runs=3
seconds=10
fill=2000
connections=8
threads=2
keep=0

usage() {
  cat <<EOF
usage: bench/api_bench.sh [--build DIR] [--runs N] [--seconds S] [--fill N]
                          [--connections N] [--threads N] [--keep]
  --build DIR        where cpts and cptsd are built (DIR/bin)       default: build
  --runs N           wrk runs per measurement                        default: 3
  --seconds S        length of each wrk run                          default: 10
  --fill N           commands simulated before measuring             default: 2000
  --connections N    wrk connections                                 default: 8
  --threads N        wrk threads                                     default: 2
  --keep             keep the data directory (printed) for a look afterwards
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --fill) fill="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "api_bench: unknown flag $1" >&2; usage >&2; exit 2 ;;
  esac
done
for n in "$runs" "$seconds" "$fill" "$connections" "$threads"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "api_bench: $n is not a positive number" >&2; exit 2; }
done

cpts="$build/bin/cpts"
cptsd="$build/bin/cptsd"
for b in "$cpts" "$cptsd"; do
  [[ -x "$b" ]] || { echo "api_bench: $b is not built (cmake --build $build --target cpts cptsd)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "api_bench: wrk is not installed (scripts/install-deps.sh)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/cpts-api-bench-XXXXXX")
daemon_pid=
cleanup() {
  if [[ -n "$daemon_pid" ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  if [[ $keep == 1 ]]; then echo "api_bench: data kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "== setup: provisioning tokens, starting cptsd on $work" >&2
"$cpts" secrets init "$work/secrets.json" >/dev/null
# Tokens for more commands than the fill (it costs a fraction of a second): every coordinator
# is among them, whatever --fill.
"$cpts" simulate provision --tokens "$work/tokens.json" --credentials "$work/credentials.json" \
  --commands $((fill > 20000 ? fill : 20000)) >&2
# A free port (cptsd's --port takes 1-65535, not 0): the kernel's choice, released just before.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$cptsd" --data-dir "$work/data" --port "$port" --tokens-file "$work/tokens.json" \
  --secrets-file "$work/secrets.json" >"$work/cptsd.out" 2>"$work/cptsd.err" &
daemon_pid=$!
url=
for _ in $(seq 1 600); do
  url=$(sed -n 's/^listening \(http:[^ ]*\).*/\1/p' "$work/cptsd.out" | head -n1)
  [[ -n "$url" ]] && break
  kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/cptsd.err" >&2; echo "api_bench: cptsd exited" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$url" ]] || { echo "api_bench: cptsd did not say it listens within 60 s" >&2; exit 1; }
echo "== cptsd listens on $url; filling it with $fill simulated commands" >&2

fill_start=$(date +%s.%N)
"$cpts" simulate --url "$url" --credentials "$work/credentials.json" --commands "$fill" \
  --rate 0 --connections 5 2>"$work/simulate.err" | tee "$work/simulate.out" >&2 || {
  tail -n 5 "$work/simulate.err" >&2; echo "api_bench: the fill had errors" >&2; exit 1; }
fill_end=$(date +%s.%N)

# The tokens: Haut-Doubs's first coordinator, for reads and writes of that CPTS.
coordinator=$(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
print(next(v for k, v in sorted(c.items()) if k.startswith("coordinator:cpts-haut-doubs:")))
' "$work/credentials.json")

cat >"$work/post.lua" <<'EOF'
-- Each request a new command: its own Idempotency-Key and request_id (thread id + counter).
local counter = 0
local thread_id = 0
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
function init(args)
  thread_id = id
  run = args[1]
end
function request()
  counter = counter + 1
  local key = string.format("bench-%s-%d-%d", run, thread_id, counter)
  local body = string.format(
    '{"request_id":"%s","received_at":"2026-11-22T10:00:00Z","motive":"Douleur abdominale",' ..
    '"commune":"25462"}', key)
  wrk.headers["Idempotency-Key"] = key
  return wrk.format("POST", nil, nil, body)
end
EOF

# One wrk run: prints "p50_ms p99_ms requests_per_s errors".
measure() {
  local out
  out=$(wrk "$@")
  echo "$out" >>"$work/wrk.log"
  python3 - "$out" <<'PY'
import re, sys
text = sys.argv[1]
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    n, unit = float(m.group(1)), m.group(2)
    return n / 1000 if unit == "us" else n if unit == "ms" else n * 1000 if unit == "s" else n * 60000
lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
rps = re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)
errors = 0
m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if m: errors += int(m.group(1))
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
if m: errors += sum(int(x) for x in m.groups())
print(f"{ms(lat['50']):.3f} {ms(lat['99']):.3f} {float(rps):.1f} {errors}")
PY
}

results="$work/results"
: >"$results"
base="$url/v1/cpts/cpts-haut-doubs"
for run in $(seq 1 "$runs"); do
  echo "== run $run/$runs: GET handoff, ${seconds}s" >&2
  echo "get $(measure -t"$threads" -c"$connections" -d"${seconds}s" --latency \
    -H "Authorization: Bearer $coordinator" "$base/handoff")" >>"$results"
  echo "== run $run/$runs: POST snp.receive_request, ${seconds}s" >&2
  echo "post $(measure -t"$threads" -c"$connections" -d"${seconds}s" --latency \
    -H "Authorization: Bearer $coordinator" -H "Content-Type: application/json" \
    -s "$work/post.lua" "$base/commands/snp.receive_request" -- "$run")" >>"$results"
done

python3 - "$results" "$fill" "$fill_start" "$fill_end" "$runs" "$seconds" "$connections" "$threads" <<'PY'
import statistics, sys
path, fill, t0, t1, runs, seconds, conns, threads = sys.argv[1:]
rows = {}
for line in open(path):
    name, p50, p99, rps, errors = line.split()
    rows.setdefault(name, []).append((float(p50), float(p99), float(rps), int(errors)))
print(f"cptsd API: {runs} runs of {seconds}s, wrk -t{threads} -c{conns}; "
      f"filled with {fill} simulated commands in {float(t1) - float(t0):.1f}s")
print(f"{'measurement':<34} {'p50 ms (min/med/max)':>24} {'p99 ms (min/med/max)':>24} "
      f"{'requests/s (min/med/max)':>28}")
label = {"get": "GET handoff (coordinator)", "post": "POST snp.receive_request"}
failed = False
for name in ("get", "post"):
    r = rows.get(name, [])
    if not r:
        continue
    def col(i, fmt):
        v = sorted(x[i] for x in r)
        return "/".join(fmt.format(x) for x in (v[0], statistics.median(v), v[-1]))
    errors = sum(x[3] for x in r)
    failed |= errors > 0
    print(f"{label[name]:<34} {col(0, '{:.2f}'):>24} {col(1, '{:.2f}'):>24} {col(2, '{:.0f}'):>28}"
          + (f"  ERRORS {errors}" if errors else ""))
sys.exit(1 if failed else 0)
PY
