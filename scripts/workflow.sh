#!/usr/bin/env bash
# workflow.sh — run the workflow test (tests/workflow.rs) longer.
#
# CI runs 256 random sequences of commands and plain git in all, split
# over four tests. This runs more:
#
#   scripts/workflow.sh              # 2,000 cases in all
#   scripts/workflow.sh 10000        # as many as you like
#   scripts/workflow.sh 500 recover  # one test (a test-name filter)
#
# A failing case is shrunk and its seed appended to
# tests/workflow.proptest-regressions; commit that file so every later
# run (and CI) replays the case first, and turn the printed steps into a
# plain test in tests/workflow.rs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cases="${1:-2000}"
filter="${2:-}"
case "$cases" in
    '' | *[!0-9]*)
        echo "usage: scripts/workflow.sh [CASES] [TEST-NAME-FILTER]" >&2
        exit 2
        ;;
esac

start=$(date +%s)
WORKFLOW_CASES="$cases" cargo test --release --locked --test integration -- \
    "workflow::workflow_${filter}" --test-threads="$(nproc)"
echo "workflow: ${cases} cases in $(($(date +%s) - start)) s"
