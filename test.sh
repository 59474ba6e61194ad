#!/usr/bin/env bash
# Runs runplan's whole test suite: go vet; go build and go vet for macOS and
# Windows (the module builds there, its tests compile); then go test -race on
# every package.
# The integration tests start their own redis-server processes on free
# loopback ports (never the Redis that may already run on the machine), render
# the HTML report in headless Chromium, validate JUnit output with xmllint and
# check the JSON Schemas with Ajv (Node.js; npm ci in schema/testdata/ajv) and
# export live metrics to a real Prometheus.
# This script installs the Debian packages they need when they are missing.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
need() { # command debian-package
  command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}
need redis-server redis-server       # integration tests spawn real servers
need redis-cli redis-tools           # cluster formation
need xmllint libxml2-utils           # JUnit output against its XSDs
need npm npm                         # Ant's JUnit.xsd, discord.js's REST client and Ajv, from npm
need chromium chromium               # the HTML report, rendered headless
need node nodejs                     # Ajv checks the JSON Schemas (schema/ajv_test.go)
need prometheus prometheus           # --export prometheus-rw against a real receiver; promtool checks the rules
need promtool prometheus
need systemd-analyze systemd         # docs/deploy's units, verified offline
need shellcheck shellcheck           # docs/deploy's workflow scripts (through actionlint)
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || missing+=(fonts-dejavu-core)
# discord.py drives the embedded Discord sink (scenarios/webhook/sink/discordpy_test.go)
dpkg -s python3-discord python3-requests >/dev/null 2>&1 || missing+=(python3-discord python3-requests)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing Debian packages: ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Ajv and ajv-formats, pinned by schema/testdata/ajv/package-lock.json, for
# schema/ajv_test.go: an independent validator of the JSON Schemas.
if [ ! -d schema/testdata/ajv/node_modules ]; then
  (cd schema/testdata/ajv && npm ci --no-audit --no-fund --silent)
fi

go vet ./...
# OS-specific code lives in build-tagged files (engine/cputime_*.go,
# engine/host_*.go, ...): a Linux-only call elsewhere breaks these builds.
for goos in darwin windows; do
  GOOS=$goos go build ./...
  GOOS=$goos go vet ./...
done
go test -race -count=1 -timeout 9m ./...
