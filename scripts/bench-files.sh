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

PATHS_FILE=$BENCH_DATA/files-200.txt
git -C "$TEMPLATE" diff --name-only --diff-filter=M baseline HEAD > "$PATHS_FILE.all"
head -n 200 "$PATHS_FILE.all" > "$PATHS_FILE"
DIRS_FILE=$BENCH_DATA/files-200-dirs.txt
sed -n 's,/[^/]*$,,p' "$PATHS_FILE.all" | sort -u | head -n 200 > "$DIRS_FILE"
export PATHS_FILE DIRS_FILE

# Run by hyperfine's bash, which expands the exported variables: single
# quotes are intended.
# shellcheck disable=SC2016
{
    COPY='fresh_copy "$TEMPLATE" "$WORK"'
    TOOL_FILES='xargs -a "$PATHS_FILE" "$TOOL" -C "$WORK" files --no-tests >/dev/null 2>&1'
    GIT_FILES='cd "$WORK" && xargs -a "$PATHS_FILE" git checkout -q baseline --'
    TOOL_DIRS='xargs -a "$DIRS_FILE" "$TOOL" -C "$WORK" files --no-tests >/dev/null 2>&1'
    GIT_DIRS='cd "$WORK" && xargs -a "$DIRS_FILE" git checkout -q baseline --'
}

bench_pair "files: 200 paths back to the baseline" \
    "$COPY" \
    "$TOOL_FILES" \
    "$GIT_FILES"

bench_pair "files: 200 directories back to the baseline" \
    "$COPY" \
    "$TOOL_DIRS" \
    "$GIT_DIRS"

bench_log "results appended to $BENCH_RESULTS"
