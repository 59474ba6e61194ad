#!/usr/bin/env bash
# Proves segments on one machine (docs/SCALE.md): starts one redis-server on a
# free loopback port, runs PLAN as N segment processes with a common
# --start-at against it, merges their reports, runs the same plan as a single
# process against the same server, and compares:
#
#   - every open-model scenario: the merged report's due iterations equal the
#     single run's (the schedule, to the iteration);
#   - every scenario of the merged report: each due iteration has exactly one
#     outcome (ok + failed + dropped + interrupted + late = due);
#   - every scenario: the merged max latency equals the largest segment max.
#
#   scripts/scale-local.sh N PLAN
#
# The plan reads its Redis URL from ${REDIS_URL} (as plans/*.yaml do). Exit 0
# when every comparison holds, 1 when one does not, 2 on a usage error.
# Percentiles are not compared with the single run (another run, other
# samples); that merged percentiles equal those of one histogram of every
# sample is tested in engine/report (merge_test.go). Needs redis-server, jq
# and Go. Everything it starts is stopped on exit; its files are in a
# temporary directory whose path it prints.
set -euo pipefail

if [ $# -ne 2 ] || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 N PLAN  (N segments, a positive number)" >&2
  exit 2
fi
n=$1
plan=$(realpath "$2")
src=$(cd "$(dirname "$0")/.." && pwd)
for cmd in redis-server jq go; do
  command -v "$cmd" >/dev/null || { echo "$0: $cmd is needed" >&2; exit 2; }
done

dir=$(mktemp -d /tmp/runplan-scale.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

go build -C "$src" -o "$dir/runplan" ./cmd/runplan

# A free loopback port: nothing answers on it.
for _ in $(seq 50); do
  port=$((20000 + RANDOM % 20000))
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >"$dir/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
export REDIS_URL=redis://127.0.0.1:$port/0

run_id=scale-$$
# A common start a few seconds ahead: every segment opens its targets first.
start_at=$(date -u -d '+5 seconds' +%Y-%m-%dT%H:%M:%SZ)
seg_pids=()
for ((i = 0; i < n; i++)); do
  "$dir/runplan" run "$plan" --segment "$i/$n" --run-id "$run_id" --start-at "$start_at" \
    --out "$dir/segment-$i.json" --no-progress >"$dir/segment-$i.log" 2>&1 &
  seg_pids+=($!)
done
for ((i = 0; i < n; i++)); do
  code=0
  wait "${seg_pids[$i]}" || code=$?
  echo "segment $i/$n: exit $code"
  # 1: checks failed, 4: invalid measurement; both wrote a report.
  if [ "$code" -ne 0 ] && [ "$code" -ne 1 ] && [ "$code" -ne 4 ]; then
    echo "$0: segment $i failed (log $dir/segment-$i.log)" >&2
    exit 1
  fi
done
reports=()
for ((i = 0; i < n; i++)); do reports+=("$dir/segment-$i.json"); done
code=0
"$dir/runplan" merge "${reports[@]}" --out "$dir/merged.json" >"$dir/merge.log" 2>&1 || code=$?
echo "merge: exit $code"
[ -s "$dir/merged.json" ] || { echo "$0: merge wrote no report (log $dir/merge.log)" >&2; exit 1; }

code=0
"$dir/runplan" run "$plan" --out "$dir/single.json" --no-progress >"$dir/single.log" 2>&1 || code=$?
echo "single process: exit $code"
[ -s "$dir/single.json" ] || { echo "$0: the single run wrote no report (log $dir/single.log)" >&2; exit 1; }

fail=0
printf '%-24s %-7s %10s %10s %10s %12s %12s\n' scenario model "due(1)" "due(N)" outcomes "max ms(N)" "max segs"
for name in $(jq -r '.scenarios[].name' "$dir/merged.json"); do
  q=".scenarios[] | select(.name == \"$name\")"
  model=$(jq -r "$q.model" "$dir/merged.json")
  due1=$(jq -r "$q.outcomes.due" "$dir/single.json")
  dueN=$(jq -r "$q.outcomes.due" "$dir/merged.json")
  sum=$(jq -r "$q.outcomes | .ok + .failed + .dropped + .interrupted + .late" "$dir/merged.json")
  maxN=$(jq -r "$q.latency_ms.max // \"none\"" "$dir/merged.json")
  maxS=$(jq -rs "[.[] | $q.latency_ms.max // empty] | max // \"none\"" "${reports[@]}")
  printf '%-24s %-7s %10s %10s %10s %12s %12s\n' "$name" "$model" "$due1" "$dueN" "$sum" "$maxN" "$maxS"
  if [ "$model" = open ] && [ "$due1" != "$dueN" ]; then
    echo "  MISMATCH: the merged schedule has $dueN due iterations, the single run $due1" >&2
    fail=1
  fi
  if [ "$sum" != "$dueN" ]; then
    echo "  MISMATCH: $dueN due iterations but $sum outcomes" >&2
    fail=1
  fi
  if [ "$maxN" != "$maxS" ]; then
    echo "  MISMATCH: merged max $maxN, largest segment max $maxS" >&2
    fail=1
  fi
done
echo "files: $dir"
if [ "$fail" -ne 0 ]; then
  echo "scale-local: FAILED" >&2
  exit 1
fi
echo "scale-local: the $n segments merged give the plan's schedule"
