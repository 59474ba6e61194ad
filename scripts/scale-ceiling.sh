#!/usr/bin/env bash
# Measures one runplan process's ceiling on this machine (docs/SCALE.md): the
# highest open-model arrival rate it holds with a valid measurement, for a
# Redis GET against a redis-server it starts on a free loopback port, and for
# a webhook POST to scripts/benchserver (a Go HTTP server answering 204, as
# in scripts/bench-webhook.sh). For each rate in RATES it
# runs a 10 s plan (closed to nothing: an open model, max_vus 400) and prints
# the achieved rate, late and dropped iterations, errors, the generator's lag
# p99, CPU and whether the measurement was valid. A rate counts as held when
# the run is valid with no error.
#
#   scripts/scale-ceiling.sh                  # RATES="10000 20000 40000 60000 80000"
#   RATES="5000 50000" DURATION=20s scripts/scale-ceiling.sh
#
# Needs redis-server, jq and Go. Everything it starts is stopped on exit; its
# files are in a temporary directory whose path it prints. Run it on a quiet
# machine: the generator and the servers share its CPUs.
set -euo pipefail

rates=${RATES:-10000 20000 40000 60000 80000}
duration=${DURATION:-10s}
src=$(cd "$(dirname "$0")/.." && pwd)
for cmd in redis-server jq go; do
  command -v "$cmd" >/dev/null || { echo "$0: $cmd is needed" >&2; exit 2; }
done
dir=$(mktemp -d /tmp/runplan-ceiling.XXXXXX)
echo "files in $dir" >&2
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
go build -C "$src" -o "$dir/runplan" ./cmd/runplan
go build -C "$src" -o "$dir/benchserver" ./scripts/benchserver

free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  echo "$0: no free port" >&2
  exit 1
}
wait_port() {
  for _ in $(seq 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return
    sleep 0.1
  done
  echo "$0: nothing answers on port $1" >&2
  exit 1
}

rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no >"$dir/redis.log" 2>&1 &
pids+=($!)
wait_port "$rport"
redis-cli -p "$rport" set key:k 123 >/dev/null
sport=$(free_port)
"$dir/benchserver" --listen "127.0.0.1:$sport" >"$dir/benchserver.log" 2>&1 &
pids+=($!)
wait_port "$sport"

plan() { # kind rate
  local step target
  case $1 in
  redis)
    target="  t: {driver: redis, url: \"redis://127.0.0.1:$rport/0\", read_only: true, key_prefix: \"key:\", pool_size: 400}"
    step="[{name: op, redis: [GET, k]}]" ;;
  webhook)
    target="  t: {driver: webhook, flavor: generic, url: \"http://127.0.0.1:$sport/hook\", rate_limit: ignore, retries: 0, max_conns: 400}"
    step="[{name: op, webhook: {body: '{\"n\": {{ iteration }}}'}}]" ;;
  esac
  cat <<PLAN
version: 1
name: ceiling-$1
targets:
$target
scenarios:
  load:
    load: {rate: $2/s, duration: $duration, max_vus: 400}
    steps: $step
PLAN
}

printf '%-8s %8s %10s %6s %8s %7s %10s %6s %s\n' kind rate achieved late dropped errors lag_p99_ms cpu valid
for kind in redis webhook; do
  for rate in $rates; do
    plan "$kind" "$rate" >"$dir/$kind-$rate.yaml"
    "$dir/runplan" run "$dir/$kind-$rate.yaml" --out "$dir/$kind-$rate.json" --no-progress --log-level error \
      >"$dir/$kind-$rate.log" 2>&1 || true
    jq -r --arg kind "$kind" --arg rate "$rate" '
      .scenarios[0] as $s |
      [$kind, $rate, (($s.arrival_rate // 0) | floor), .generator.late, .generator.dropped,
       $s.errors, (.generator.lag_ms.p99 // "?"), (.generator.cpu // "?"), .valid] | @tsv' \
      "$dir/$kind-$rate.json" | awk -F'\t' '{printf "%-8s %8s %10s %6s %8s %7s %10s %6s %s\n", $1,$2,$3,$4,$5,$6,$7,$8,$9}'
  done
done
