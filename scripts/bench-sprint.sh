#!/usr/bin/env bash
# bench-sprint.sh — time the Level 2 rollback (`sprint rollback --no-tests`)
# against the runbook's shell sequence, on fresh copies of the generated
# 100k-file repository (HEAD on refactor/sprint-1 with a dirty work tree):
#
#   git add -A && git commit -m WIP && git branch backup/… &&
#   git checkout baseline && git checkout -b refactor/sprint-1-retry
#
# Neither side runs the tests (they would dominate both). The floor
# (scripts/floor.c) is timed beside them: only the lstat of every file and
# the file writes and removals that moving the work tree to the baseline
# must do (the WIP commit takes the untracked files, so they go too).
#
#   scripts/bench-sprint.sh
#   FILES_DIRS=20 FILES_PER_DIR=20 RUNS=2 scripts/bench-sprint.sh   # smoke test
#
# See lib-bench.sh for all knobs. Results: scripts/out/results.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib-bench.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib-bench.sh"

bench_setup "bench-sprint"
bench_floor_setup

# GIT_SPRINT and TOOL_SPRINT are lib-bench.sh's, shared with bench-scale.sh.
# Run by hyperfine's bash, which expands the exported variables: single
# quotes are intended.
# shellcheck disable=SC2016
{
    FLOOR_SPRINT='"$FLOOR_DIR/floor" "$WORK" "$FLOOR_DIR/to-target.plan" "$FLOOR_DIR/to-target.data"'
}

bench_pair "sprint rollback (Level 2: WIP commit, backup branch, retry branch at the baseline)" \
    "$BENCH_COPY" \
    "$TOOL_SPRINT" \
    "$GIT_SPRINT" \
    "" \
    "$FLOOR_SPRINT"

# With SPRINT_REPORT=1 (bench-real.sh): the tool against git's sequence
# plus the report's log and diff stat, which the row above leaves out.
if [[ ${SPRINT_REPORT:-0} == 1 ]]; then
    bench_pair "sprint rollback with its report (git column: the sequence plus git log and git diff --stat -M)" \
        "$BENCH_COPY" \
        "$TOOL_SPRINT" \
        "$GIT_SPRINT_REPORT"
fi

bench_log "results appended to $BENCH_RESULTS"
