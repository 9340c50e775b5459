#!/usr/bin/env bash
# bench-files.sh — time the Level 3 rollback (`files`) against
# `git checkout baseline -- <the same paths>`, on fresh copies of the
# generated 100k-file repository, twice: of 200 files the failed sprint
# changed (so each one is really written), and of 200 whole directories
# holding such files (20,000 files at the default size, with files added
# since the baseline in them, which both leave as they are).
#
#   scripts/bench-files.sh
#   FILES_DIRS=20 FILES_PER_DIR=20 RUNS=2 scripts/bench-files.sh   # smoke test
#
# See lib-bench.sh for all knobs. Results: scripts/out/results.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib-bench.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib-bench.sh"

bench_setup "bench-files"

# The paths, the directories and the commands (GIT_FILES, …) are
# lib-bench.sh's, shared with bench-scale.sh.
bench_operation_inputs

bench_pair "files: 200 paths back to the baseline" \
    "$BENCH_COPY" \
    "$TOOL_FILES" \
    "$GIT_FILES"

bench_pair "files: 200 directories back to the baseline" \
    "$BENCH_COPY" \
    "$TOOL_DIRS" \
    "$GIT_DIRS"

bench_log "results appended to $BENCH_RESULTS"
