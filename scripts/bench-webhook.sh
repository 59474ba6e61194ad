#!/usr/bin/env bash
# Webhook driver throughput against wrk and hey (issue 5): one fast local HTTP
# server answering 204 (scripts/benchserver), 50 connections, the same small
# JSON POST, rate limiting off. wrk, hey and runplan's generic webhook driver
# (a closed-model plan: 50 VUs, every request recorded in the run's HDR
# histograms) take turns for ROUNDS rounds of DURATION each, so that a
# machine busy with something else disturbs all three alike; the medians and
# the ratios are printed. Record them in docs/BENCHMARKS.md.
#
# Installs Debian's wrk and hey packages when they are missing.
# Usage: scripts/bench-webhook.sh   (ROUNDS=3 DURATION=10 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNS=50

if ! command -v wrk >/dev/null 2>&1 || ! command -v hey >/dev/null 2>&1; then
  echo "bench-webhook: installing wrk and hey from Debian" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk hey >/dev/null
fi

tmp=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/runplan" ./cmd/runplan
go build -o "$tmp/benchserver" ./scripts/benchserver
"$tmp/benchserver" >"$tmp/addr" &
server_pid=$!
for _ in $(seq 50); do [ -s "$tmp/addr" ] && break; sleep 0.1; done
addr=$(head -1 "$tmp/addr")
url="http://$addr/hook"

body='{"content":"signal 42: BUY BTC @ 61234"}'
cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
cat >"$tmp/plan.yaml" <<PLAN
version: 1
name: bench-webhook
targets:
  hook:
    driver: webhook
    flavor: generic
    url: $url
    max_conns: $CONNS
    rate_limit: ignore
    retries: 0
scenarios:
  post:
    load: {vus: $CONNS, duration: ${DURATION}s}
    steps:
      - name: deliver
        webhook: {json: {content: "signal {{ iteration % 100 }}: BUY BTC @ 61234"}}
        expect: {status: 204}
PLAN

echo "== machine"
echo "cpus: $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
go version
echo "wrk: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), hey: Debian $(dpkg-query -W -f='${Version}' hey 2>/dev/null || echo '?')"
echo "server: scripts/benchserver at $url; $CONNS connections; POST $body"
echo

: >"$tmp/res-wrk"; : >"$tmp/res-hey"; : >"$tmp/res-runplan"
for r in $(seq "$ROUNDS"); do
  w=$(wrk -t2 -c$CONNS -d${DURATION}s -s "$tmp/post.lua" "$url" | awk '/Requests\/sec/ {print $2}')
  h=$(hey -c $CONNS -z ${DURATION}s -m POST -T application/json -d "$body" "$url" | awk '/Requests\/sec/ {print $2}')
  "$tmp/runplan" run "$tmp/plan.yaml" --out "$tmp/report.json" --no-progress --log-level error >"$tmp/runplan.out" 2>&1 || { echo "bench-webhook: runplan failed:" >&2; cat "$tmp/runplan.out" >&2; }
  p=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); s=r["scenarios"][0]; print(round(s["rate"],1) if s["errors"]==0 else "errors:%d" % s["errors"])' "$tmp/report.json")
  echo "round $r: wrk $w/s, hey $h/s, runplan $p/s"
  echo "$w" >>"$tmp/res-wrk"; echo "$h" >>"$tmp/res-hey"; echo "$p" >>"$tmp/res-runplan"
done
echo
python3 - "$tmp/res-wrk" "$tmp/res-hey" "$tmp/res-runplan" <<'PY'
import statistics, sys
med = [statistics.median(float(x) for x in open(p).read().split()) for p in sys.argv[1:]]
w, h, p = med
print(f"median requests/s: wrk {w:,.0f}   hey {h:,.0f}   runplan {p:,.0f}")
print(f"ratios: runplan/wrk {p/w:.2f}   runplan/hey {p/h:.2f}   hey/wrk {h/w:.2f}")
print("target: runplan >= 0.80 x wrk:", "met" if p >= 0.8 * w else "NOT met")
PY
