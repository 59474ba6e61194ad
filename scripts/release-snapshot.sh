#!/usr/bin/env bash
# A release build without a release (docs/DEPLOY.md#release-builds): checks
# .goreleaser.yaml with `goreleaser check`, then builds runplan for
# linux/darwin/windows on amd64 and arm64 with `goreleaser release --snapshot
# --clean`: the archives, checksums.txt and the six binaries land in dist/
# (git-ignored); nothing is tagged, signed or published.
#
#   scripts/release-snapshot.sh
#
# GoReleaser is run from the Go module proxy at a fixed version (no install
# needed, only Go). Not part of .ci/run: it builds six binaries, which takes
# minutes on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."

GORELEASER=github.com/goreleaser/goreleaser/v2@v2.15.1

start=$(date +%s)
go run "$GORELEASER" check
go run "$GORELEASER" release --snapshot --clean
echo "release-snapshot: built in $(( $(date +%s) - start )) s:" >&2
ls -l dist/*.tar.gz dist/*.zip dist/checksums.txt >&2
