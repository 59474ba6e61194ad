#!/usr/bin/env bash
# Measures runplan's Redis driver against redis-benchmark on the same
# redis-server, in the same run: 50 connections sending GET of one 3-byte
# value, unpipelined and then with pipeline 16, and prints the ratios
# runplan / redis-benchmark of throughput and of p50 latency.
#
#   ./scripts/bench-redis.sh                 # 3 rounds of 5 s per measurement
#   ROUNDS=5 SECONDS_PER_RUN=10 ./scripts/bench-redis.sh
#   GOREDIS=1 ./scripts/bench-redis.sh       # also runplan with fast_path: false
#   ONEPROC=1 ./scripts/bench-redis.sh       # also runplan with GOMAXPROCS=1
#
# Each round runs the four measurements back to back (benchmark, runplan,
# benchmark -P 16, runplan pipeline 16), so that both tools see the same
# machine; the summary gives the median of the rounds. runplan's throughput
# is its step rate from the JSON report (times 16 when pipelined: commands
# per second, as redis-benchmark counts), its p50 the step's p50 (one
# round trip, as redis-benchmark times each request of a pipeline from the
# batch's send). Needs redis-server, redis-benchmark (Debian's redis-tools),
# jq and Go. It starts its own redis-server on a free loopback port and
# never touches another.
#
# A run with errors is not a benchmark figure: a runplan run whose report
# counts errors (or dropped or interrupted iterations), or a redis-benchmark
# run during which the server sent error replies or rejected connections,
# is shown as "errors:N", left out of the medians, and makes the script exit
# 1. The summary gives the medians of the absolute figures beside the
# ratios, so that prose quoting them can match the table.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
GOREDIS=${GOREDIS:-0}
ONEPROC=${ONEPROC:-0}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
CLIENTS=50
PIPELINE=16

for cmd in redis-server redis-benchmark redis-cli jq go; do
  command -v "$cmd" >/dev/null || { echo "bench-redis: $cmd not found (redis-server and redis-tools packages, jq, Go)" >&2; exit 2; }
done

work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

go build -o "$work/runplan" ./cmd/runplan

# A free port: try random ones until a server binds one.
for _ in $(seq 20); do
  port=$(( 20000 + RANDOM % 30000 ))
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
    --dir "$work" --logfile "$work/redis.log" &
  server_pid=$!
  for _ in $(seq 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
done
[ -n "$server_pid" ] || { echo "bench-redis: could not start redis-server" >&2; exit 1; }

# redis-benchmark -t get reads the key "key:__rand_int__" (no -r); runplan
# reads the same key (key_prefix "key:" + "__rand_int__", as written: the
# target is read_only), set to 3 bytes as redis-benchmark's own SET would
# (-d 3).
redis-cli -p "$port" set key:__rand_int__ xxx >/dev/null

plan() { # pipeline [fast_path]
  local step='[GET, "__rand_int__"]'
  [ "$1" -gt 1 ] && step="{command: [GET, \"__rand_int__\"], pipeline: $1}"
  cat >"$work/plan-$1${2:+-$2}.yaml" <<PLAN
version: 1
name: bench-redis-get-p$1
targets:
  cache:
    driver: redis
    url: redis://127.0.0.1:$port
    pool_size: $CLIENTS
    key_prefix: "key:"
    read_only: true
    fast_path: ${2:-true}
scenarios:
  get:
    load: {vus: $CLIENTS, duration: ${SECONDS_PER_RUN}s}
    steps:
      - name: get
        redis: $step
PLAN
}
plan 1
plan "$PIPELINE"
plan 1 false
plan "$PIPELINE" false

# server_errors prints the server's error replies plus rejected
# connections so far.
server_errors() {
  redis-cli -p "$port" info stats | tr -d '\r' |
    awk -F: '$1 == "total_error_replies" || $1 == "rejected_connections" { n += $2 } END { print n + 0 }'
}

bench() { # pipeline → "rps p50_ms", or "errors:N -"
  local n=$(( SECONDS_PER_RUN * (100000 + ($1 - 1) * 110000) ))
  local before out after
  before=$(server_errors)
  out=$(redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -t get -n "$n" -P "$1" --csv 2>/dev/null |
    awk -F'"' '$2 == "GET" { print $4, $10 }')
  after=$(server_errors)
  if [ -z "$out" ]; then echo "errors:no-output -"
  elif [ "$after" != "$before" ]; then echo "errors:$(( after - before )) -"
  else echo "$out"; fi
}

runplan() { # pipeline [fast_path] → "ops_per_s p50_ms"
  "$work/runplan" run "$work/plan-$1${2:+-$2}.yaml" --out "$work/report.json" --no-progress --color never >/dev/null 2>"$work/runplan.log" ||
    { echo "bench-redis: runplan failed:" >&2; cat "$work/runplan.log" >&2; exit 1; }
  # Errors, dropped and interrupted iterations: not a benchmark figure.
  jq -r --argjson p "$1" '.scenarios[0] as $s | (([$s.errors, $s.steps[0].errors] | max) + ($s.dropped // 0) + ($s.interrupted // 0)) as $e |
    if $e > 0 then "errors:\($e) -" else ($s.steps[0] | "\(.rate * $p) \(.latency_ms.p50)") end' "$work/report.json"
}

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(go version | cut -d' ' -f3), redis $(redis-server --version | cut -d' ' -f3 | cut -d= -f2), load average $(cut -d' ' -f1-3 /proc/loadavg)"

# The runplan variants measured besides the default one.
variants=()
[ "$GOREDIS" = 1 ] && variants+=("fast_path: false")
[ "$ONEPROC" = 1 ] && variants+=("GOMAXPROCS=1")

measure() { # pipeline variant → "ops_per_s p50_ms"
  case "$2" in
    "fast_path: false") runplan "$1" false ;;
    "GOMAXPROCS=1") GOMAXPROCS=1 runplan "$1" ;;
    *) runplan "$1" ;;
  esac
}

printf '%-6s %-9s %-17s %12s %10s %12s %10s %8s %8s\n' round pipeline runplan "bench ops/s" "bench p50" "rp ops/s" "rp p50" "tput x" "p50 x"
declare -A tput_ratios p50_ratios b_rps_all b_p50_all r_rps_all r_p50_all
failed=()
for round in $(seq "$ROUNDS"); do
  for p in 1 "$PIPELINE"; do
    read -r b_rps b_p50 < <(bench "$p")
    if [[ $b_rps == errors:* ]]; then
      failed+=("round $round pipeline $p redis-benchmark: $b_rps")
    else
      b_rps_all["$p"]+="$b_rps "
      b_p50_all["$p"]+="$b_p50 "
    fi
    for v in default "${variants[@]}"; do
      read -r r_rps r_p50 < <(measure "$p" "$v")
      if [[ $r_rps == errors:* ]]; then
        failed+=("round $round pipeline $p runplan $v: $r_rps")
      else
        r_rps_all["$p/$v"]+="$r_rps "
        r_p50_all["$p/$v"]+="$r_p50 "
      fi
      if [[ $b_rps == errors:* || $r_rps == errors:* ]]; then
        printf '%-6s %-9s %-17s %12s %10s %12s %10s %8s %8s\n' "$round" "$p" "$v" "$b_rps" "$b_p50" "$r_rps" "$r_p50" - -
        continue
      fi
      t=$(awk -v a="$r_rps" -v b="$b_rps" 'BEGIN { printf "%.3f", a / b }')
      l=$(awk -v a="$r_p50" -v b="$b_p50" 'BEGIN { printf "%.3f", a / b }')
      tput_ratios["$p/$v"]+="$t "
      p50_ratios["$p/$v"]+="$l "
      printf '%-6s %-9s %-17s %12.0f %8.3fms %12.0f %8.3fms %8s %8s\n' "$round" "$p" "$v" "$b_rps" "$b_p50" "$r_rps" "$r_p50" "$t" "$l"
    done
  done
done
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
echo
echo "runplan / redis-benchmark, median of the rounds without errors (throughput: higher is better; p50: lower is better)"
echo "with the medians of the absolute figures: runplan vs redis-benchmark"
for p in 1 "$PIPELINE"; do
  label="unpipelined"
  [ "$p" -gt 1 ] && label="pipeline $p"
  for v in default "${variants[@]}"; do
    if [ -z "${tput_ratios["$p/$v"]:-}" ]; then
      printf '  %-12s %-17s no round without errors\n' "$label" "$v"
      continue
    fi
    printf '  %-12s %-17s throughput %sx (%.0f vs %.0f ops/s)   p50 latency %sx (%.3f vs %.3f ms)\n' "$label" "$v" \
      "$(med "${tput_ratios["$p/$v"]}")" "$(med "${r_rps_all["$p/$v"]}")" "$(med "${b_rps_all["$p"]}")" \
      "$(med "${p50_ratios["$p/$v"]}")" "$(med "${r_p50_all["$p/$v"]}")" "$(med "${b_p50_all["$p"]}")"
  done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${#failed[@]}" -gt 0 ]; then
  echo
  echo "bench-redis: ${#failed[@]} run(s) had errors and are not benchmark figures:" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
