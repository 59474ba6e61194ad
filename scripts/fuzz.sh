#!/usr/bin/env bash
# Runs every fuzz target of the module (each `func FuzzXxx` in a _test.go
# file), one after the other, for DURATION each, and exits 1 if any of them
# fails. A failing input is written by `go test` to the package's
# testdata/fuzz/FuzzXxx/ directory: check it in with the fix, and it runs as
# a seed in the normal suite from then on.
#
#   scripts/fuzz.sh                    # 30s per target
#   scripts/fuzz.sh 5m                 # any go test -fuzztime value (10m, 100000x)
#   scripts/fuzz.sh 1m FuzzRESPReader  # only the targets named (regexps)
#   FUZZ_PARALLEL=1 scripts/fuzz.sh    # fuzzing workers per target (default: GOMAXPROCS)
#
# Needs Go only: the targets that talk to a server (FuzzRESPReader's go-redis
# leg) start their own on loopback.
set -uo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-30s}
shift $(( $# > 0 ? 1 : 0 ))
only=("$@")
parallel=()
[ -n "${FUZZ_PARALLEL:-}" ] && parallel=(-parallel "$FUZZ_PARALLEL")

# package directory and target name, one pair a line
targets=$(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . |
  sed -E 's#^\./(.*)/[^/]*_test\.go:func (Fuzz.*)$#\1 \2#' | sort -u)
if [ -z "$targets" ]; then
  echo "fuzz: no fuzz targets found" >&2
  exit 1
fi

failed=()
ran=0
while read -r dir name; do
  if [ ${#only[@]} -gt 0 ]; then
    match=0
    for o in "${only[@]}"; do [[ $name =~ ^($o)$ ]] && match=1; done
    [ $match -eq 1 ] || continue
  fi
  ran=$((ran + 1))
  echo "== $name (./$dir) for $DURATION"
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$DURATION" "${parallel[@]}" "./$dir"; then
    failed+=("$name (./$dir)")
  fi
done <<<"$targets"

if [ $ran -eq 0 ]; then
  echo "fuzz: no target matches ${only[*]}" >&2
  exit 1
fi
echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} of $ran targets failed:"
  printf '  %s\n' "${failed[@]}"
  exit 1
fi
echo "fuzz: $ran targets ran for $DURATION each, no failure"
