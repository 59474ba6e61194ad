#!/usr/bin/env bash
# Runs runplan's whole test suite: go vet, then go test -race on every package.
# The integration tests start their own redis-server processes on free
# loopback ports; this script installs Debian's redis-server package when the
# binary is missing. It never touches a Redis already running on the machine.
set -euo pipefail
cd "$(dirname "$0")"

need_pkg() { # command package
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "test.sh: $1 not found; installing Debian package $2" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$2" >/dev/null
  fi
}
need_pkg redis-server redis-server

go vet ./...
go test -race -count=1 -timeout 9m ./...
