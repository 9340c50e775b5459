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

# The commands below are run by hyperfine's bash, which expands $WORK, $TOOL
# and $TEMPLATE from the (exported) environment: single quotes are intended.
# shellcheck disable=SC2016
{
    # git equivalent of `checkpoint --wip`: a commit of the whole working tree,
    # untracked files included, with HEAD as parent, tagged; the work tree and
    # the real index are not touched (git add -A works on a copy of the index).
    GIT_WIP_CHECKPOINT='cd "$WORK" || exit 1
export GIT_INDEX_FILE="$(mktemp)"
cp .git/index "$GIT_INDEX_FILE" && git add -A && t=$(git write-tree) && c=$(git commit-tree "$t" -p HEAD -m wip) && git tag -a -m wip checkpoint-x "$c"
rc=$?; rm -f "$GIT_INDEX_FILE"; exit "$rc"'

    COPY='fresh_copy "$TEMPLATE" "$WORK"'
    TOOL_CHECKPOINT='"$TOOL" -C "$WORK" checkpoint --wip'
    TOOL_UNDO='"$TOOL" -C "$WORK" undo'
    GIT_UNDO='git -C "$WORK" tag -d checkpoint-x >/dev/null'
}

bench_pair "checkpoint --wip" \
    "$COPY" \
    "$TOOL_CHECKPOINT" \
    "$GIT_WIP_CHECKPOINT"

bench_pair "undo of checkpoint --wip (rough: git side is only tag -d)" \
    "$COPY && $TOOL_CHECKPOINT >/dev/null" \
    "$TOOL_UNDO" \
    "$GIT_UNDO" \
    "$COPY && ( $GIT_WIP_CHECKPOINT )"

bench_log "results appended to $BENCH_RESULTS"
