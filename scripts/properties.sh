#!/usr/bin/env bash
# properties.sh — run the property tests (tests/properties.rs) longer.
#
# CI runs 256 random repositories per command. This runs more:
#
#   scripts/properties.sh            # 2,000 cases per command
#   scripts/properties.sh 10000      # as many as you like
#   scripts/properties.sh 500 files  # one property (a test-name filter)
#
# A failing case is shrunk to a small one and its seed appended to
# tests/properties.proptest-regressions; commit that file so every later
# run (and CI) replays the case first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cases="${1:-2000}"
filter="${2:-}"
case "$cases" in
    '' | *[!0-9]*)
        echo "usage: scripts/properties.sh [CASES] [TEST-NAME-FILTER]" >&2
        exit 2
        ;;
esac

start=$(date +%s)
PROPTEST_CASES="$cases" cargo test --release --locked --test integration -- \
    "properties::${filter}" --test-threads="$(nproc)"
echo "properties: ${cases} cases per property in $(($(date +%s) - start)) s"
