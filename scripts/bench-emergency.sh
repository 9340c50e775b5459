#!/usr/bin/env bash
# bench-emergency.sh — time the Level 1 rollback (`emergency --yes`) and its
# `undo` against the git command line, on fresh copies of the generated
# 100k-file repository (HEAD on refactor/sprint-1 with a dirty work tree;
# the emergency goes back to the `baseline` tag, the tool's default). Each
# also times the floor (scripts/floor.c): only the lstat of every file and
# the file writes and removals that the rollback, or its undo, must do.
#
#   scripts/bench-emergency.sh
#   RUNS=3 ONLY=git scripts/bench-emergency.sh   # git side only (no tool needed)
#   FILES_DIRS=20 FILES_PER_DIR=20 RUNS=2 scripts/bench-emergency.sh   # smoke test
#
# See lib-bench.sh for all knobs. Results: scripts/out/results.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib-bench.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib-bench.sh"

bench_setup "bench-emergency"
bench_floor_setup

# The commands (GIT_EMERGENCY, …) are lib-bench.sh's, shared with bench-scale.sh.
bench_operation_inputs

# Run by hyperfine's bash, which expands the exported variables: single
# quotes are intended.
# shellcheck disable=SC2016
{
    # the work tree's files to the baseline's, and back (floor-plan.py)
    FLOOR_EMERGENCY='"$FLOOR_DIR/floor" "$WORK" "$FLOOR_DIR/to-target.plan" "$FLOOR_DIR/to-target.data"'
    FLOOR_UNDO='"$FLOOR_DIR/floor" "$WORK" "$FLOOR_DIR/from-target.plan" "$FLOOR_DIR/from-target.data"'
}

bench_pair "emergency --yes (Level 1 rollback to baseline)" \
    "$BENCH_COPY" \
    "$TOOL_EMERGENCY" \
    "$GIT_EMERGENCY" \
    "" \
    "$FLOOR_EMERGENCY"

# The floor's undo starts, as the tool's, from the tool's emergency.
bench_pair "undo of emergency" \
    "$BENCH_COPY && $TOOL_EMERGENCY >/dev/null" \
    "$TOOL_UNDO" \
    "$GIT_EMERGENCY_UNDO" \
    "$BENCH_COPY && ( $GIT_EMERGENCY )" \
    "$FLOOR_UNDO"

bench_log "results appended to $BENCH_RESULTS"
