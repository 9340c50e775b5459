#!/usr/bin/env bash
# bench-foundation.sh — time `checkpoint --wip` and `undo` of it against the
# git command line, on fresh copies of the generated 100k-file repository.
#
#   scripts/bench-foundation.sh            # both sides, RUNS=5
#   RUNS=3 ONLY=git scripts/bench-foundation.sh   # git side only (no tool needed)
#   TOOL=/path/to/git-rollback-sprint scripts/bench-foundation.sh
#   FILES_DIRS=20 FILES_PER_DIR=20 RUNS=2 scripts/bench-foundation.sh   # smoke test
#
# See lib-bench.sh for all knobs. Results: scripts/out/results.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib-bench.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib-bench.sh"

bench_setup "bench-foundation"

# The commands (GIT_WIP_CHECKPOINT, …) are lib-bench.sh's, shared with
# bench-scale.sh.

bench_pair "checkpoint --wip" \
    "$BENCH_COPY" \
    "$TOOL_CHECKPOINT" \
    "$GIT_WIP_CHECKPOINT"

bench_pair "undo of checkpoint --wip (rough: git side is only tag -d)" \
    "$BENCH_COPY && $TOOL_CHECKPOINT >/dev/null" \
    "$TOOL_UNDO" \
    "$GIT_CHECKPOINT_UNDO" \
    "$BENCH_COPY && ( $GIT_WIP_CHECKPOINT )"

bench_log "results appended to $BENCH_RESULTS"
