#!/usr/bin/env bash
# Engine benchmarks (issue: load models and honest measurement):
#   1. engine overhead per iteration of a no-op step (go test -bench);
#   2. open-model rate accuracy at 5,000/s for 10 s — the arrival rate achieved,
#      from the generator's actual send times — and scheduling lag p99;
#   3. peak RSS of a 60 s run at 10,000 iterations/s against a 10 s run.
# Prints the figures; record them in docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== machine"
echo "cpus: $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
go version

echo "== 1. iteration overhead (no-op step, closed model, 1 VU)"
go test -run '^$' -bench IterationOverhead -benchtime 2000000x -count 3 ./engine/ | grep Benchmark

echo "== 2. open-model rate accuracy, 5,000/s for 10 s"
go test -run '^$' -bench OpenRateAccuracy -benchtime 1x ./engine/ | grep Benchmark

echo "== 3. peak RSS at 10,000 iterations/s: 10 s versus 60 s"
go build -o "$tmp/runplan" ./cmd/runplan
for d in 10 60; do
  cat > "$tmp/rss-$d.yaml" <<PLAN
version: 1
name: rss-${d}s
scenarios:
  noop:
    load: {rate: 10000/s, duration: ${d}s, max_vus: 100}
    steps:
      - sleep: 1us
PLAN
  "$tmp/runplan" run "$tmp/rss-$d.yaml" --out "$tmp/rss-$d.json" --no-progress --log-level warn >/dev/null || true
  python3 - "$tmp/rss-$d.json" "$d" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["scenarios"][0]
print(f"{sys.argv[2]:>3} s: peak RSS {r['generator']['peak_rss_bytes']/2**20:.1f} MiB, "
      f"{s['count']} iterations (arrival {s['arrival_rate']:.1f}/s of {s['planned_rate']:.0f}/s planned), "
      f"lag p99 {r['generator']['lag_ms']['p99']:.3f} ms, "
      f"late {s.get('late', 0)}, dropped {s['dropped']}, valid {r['valid']}")
PY
done
python3 - "$tmp/rss-10.json" "$tmp/rss-60.json" <<'PY'
import json, sys
a, b = (json.load(open(p))["generator"]["peak_rss_bytes"] for p in sys.argv[1:])
print(f"ratio 60 s / 10 s peak RSS: {b/a:.3f} (target: within 1.10)")
PY
