#!/usr/bin/env bash
# Runs the CI suite (.ci/run) on a fresh clone, RUNS times in a row (default
# 3), while `stress-ng --cpu 2` keeps two CPUs busy beside it: the suite must
# not pass or fail by how fast the machine is (see docs/TESTING.md).
#
#   scripts/stress-suite.sh [RUNS]
#
# It clones the HEAD commit of the checkout it is run from into a temporary
# directory (uncommitted changes are not tested), installs stress-ng from
# Debian when it is missing, prints each run's result and duration, and
# exits non-zero when any run failed. stress-ng is stopped on every exit.
# Each run's full output is kept in the temporary directory, whose path is
# printed at the end.
set -euo pipefail

runs=${1:-3}
case $runs in
  '' | *[!0-9]* | 0) echo "usage: $0 [RUNS]  (RUNS a positive number, default 3)" >&2; exit 2 ;;
esac
src=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v stress-ng >/dev/null 2>&1; then
  echo "stress-suite: installing stress-ng from Debian" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends stress-ng >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/runplan-stress.XXXXXX")
stress_pid=""
stop_stress() {
  if [ -n "$stress_pid" ] && kill -0 "$stress_pid" 2>/dev/null; then
    # stress-ng's parent passes the signal on to its workers.
    kill -TERM "$stress_pid" 2>/dev/null || true
    wait "$stress_pid" 2>/dev/null || true
  fi
  stress_pid=""
}
trap stop_stress EXIT
trap 'stop_stress; exit 130' INT TERM

commit=$(git -C "$src" rev-parse HEAD)
git clone --quiet --no-hardlinks "$src" "$work/runplan"
git -C "$work/runplan" checkout --quiet --detach "$commit"
echo "stress-suite: $runs run(s) of .ci/run on a fresh clone of $(git -C "$src" rev-parse --short HEAD) in $work/runplan, beside stress-ng --cpu 2"

stress-ng --cpu 2 --quiet &
stress_pid=$!

failed=0
for i in $(seq 1 "$runs"); do
  log="$work/run-$i.log"
  start=$(date +%s)
  if (cd "$work/runplan" && CI=true bash .ci/run </dev/null >"$log" 2>&1); then
    result=PASS
  else
    result=FAIL
    failed=$((failed + 1))
  fi
  secs=$(($(date +%s) - start))
  printf 'run %d/%d: %s in %dm%02ds (log %s)\n' "$i" "$runs" "$result" $((secs / 60)) $((secs % 60)) "$log"
  if [ "$result" = FAIL ]; then
    grep -E '^(--- FAIL|FAIL|panic:)|_test\.go:[0-9]+:' "$log" | head -40 | sed 's/^/    /' || true
  fi
done
stop_stress

echo "stress-suite: $((runs - failed)) passed, $failed failed (logs in $work)"
[ "$failed" -eq 0 ]
