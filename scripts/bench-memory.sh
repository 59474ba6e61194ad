#!/usr/bin/env bash
# Memory flat in run length (issue 11): a run with `interval: 10ms` (one
# time-series point per 10 ms per series) for 40 s against the same run for
# 5 s, measured twice:
#   1. the peak retained heap (after a full GC, every 100 ms of the run) of
#      the engine on the in-process probe driver under synctest's virtual
#      clock, where the machine's speed changes nothing (go test -tags
#      memmeasure; it fails above 1.15);
#   2. the peak RSS (VmHWM) of the runplan binary, which also depends on the
#      GC's pacing and the machine's load. Old intervals are coarsened so that a series
# keeps a bounded number of points (engine/metrics: MaxPoints); without it the
# 40 s run keeps 8 times the points of the 5 s one.
# Prints the machine, both runs and the ratio; record them in docs/BENCHMARKS.md.
# RATE (default 1000/s) and the durations (SHORT=5, LONG=40) can be set.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-1000}
SHORT=${SHORT:-5}
LONG=${LONG:-40}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== machine"
echo "cpus: $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
go version

echo "== 1. peak retained heap, engine under synctest, interval: 10ms, 1000/s: 5 s versus 40 s"
go test -tags memmeasure -run TestMemoryFlatInRunLength -count=1 -v ./engine/ | grep -E 'memory_test|^(ok|FAIL|---)' || true

echo "== 2. peak RSS with interval: 10ms, ${RATE}/s: ${SHORT} s versus ${LONG} s"
go build -o "$tmp/runplan" ./cmd/runplan
for d in "$SHORT" "$LONG"; do
  cat > "$tmp/mem-$d.yaml" <<PLAN
version: 1
name: mem-${d}s
interval: 10ms
scenarios:
  noop:
    load: {rate: ${RATE}/s, duration: ${d}s, max_vus: 100}
    steps:
      - sleep: 1us
      - sleep: 1us
checks:
  - {name: worst, expr: "worst(noop, s(1)).rate > 0"}
PLAN
  "$tmp/runplan" run "$tmp/mem-$d.yaml" --out "$tmp/mem-$d.json" --no-progress --log-level warn >/dev/null || true
  python3 - "$tmp/mem-$d.json" "$d" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["scenarios"][0]
widths = sorted({p.get("width") for p in s["series"]})
print(f"{sys.argv[2]:>3} s: peak RSS {r['generator']['peak_rss_bytes']/2**20:.1f} MiB, "
      f"{s['count']} iterations, {len(s['series'])} points per series (widths {widths} s), valid {r['valid']}")
PY
done
python3 - "$tmp/mem-$SHORT.json" "$tmp/mem-$LONG.json" "$SHORT" "$LONG" <<'PY'
import json, sys
a, b = (json.load(open(p))["generator"]["peak_rss_bytes"] for p in sys.argv[1:3])
print(f"ratio {sys.argv[4]} s / {sys.argv[3]} s peak RSS: {b/a:.3f} (target: within 1.15)")
PY
