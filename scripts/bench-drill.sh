#!/usr/bin/env bash
# bench-drill.sh — time `drill` (all three levels, each rolled back,
# verified, undone and checked on a disposable copy) against one
# `emergency --yes` of the tool on the same repository: the drill should
# cost at most about three emergencies plus its test runs. On fresh copies
# of the generated 100k-file repository (HEAD on refactor/sprint-1 with a
# dirty work tree and an ignored target/), in a work folder of its own
# ($BENCH_DATA/work-drill), so it never shares one with another benchmark.
#
# There is no git side: the "git" column of results.md holds the tool's
# own emergency here, so the ratio is drill / emergency. The generated
# repository has no test command to detect, so the first two runs verify
# nothing; the third sets the test command `true`, so its verification
# costs what exporting each rolled-back tree to a temporary directory
# costs. GIT_ROLLBACK_SPRINT_TRACE=1 shows where a drill's time goes.
#
#   scripts/bench-drill.sh
#   FILES_DIRS=20 FILES_PER_DIR=20 RUNS=2 scripts/bench-drill.sh   # smoke test
#
# See lib-bench.sh for all knobs. Results: scripts/out/results.md.
set -euo pipefail

# A work folder of its own: the copies of the other benchmarks stay theirs.
export WORK=${WORK:-${BENCH_DATA:-/work/bench-data}/work-drill}

# shellcheck source-path=SCRIPTDIR source=lib-bench.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib-bench.sh"

bench_setup "bench-drill"

# Run by hyperfine's bash, which expands the exported variables: single
# quotes are intended.
# shellcheck disable=SC2016
{
    COPY='fresh_copy "$TEMPLATE" "$WORK"'
    COPY_TESTS='fresh_copy "$TEMPLATE" "$WORK" && git -C "$WORK" config rollback.testCommand true'
    EMERGENCY='"$TOOL" -C "$WORK" emergency --yes >/dev/null'
    DRILL='"$TOOL" -C "$WORK" drill >/dev/null'
    DRILL_EMERGENCY='"$TOOL" -C "$WORK" drill --level emergency >/dev/null'
}

bench_pair "drill, all three levels, no tests (git column: one emergency --yes of the tool)" \
    "$COPY" \
    "$DRILL" \
    "$EMERGENCY"

bench_pair "drill --level emergency, no tests (git column: one emergency --yes of the tool)" \
    "$COPY" \
    "$DRILL_EMERGENCY" \
    "$EMERGENCY"

bench_pair "drill, all three levels, test command true (git column: one emergency --yes of the tool)" \
    "$COPY_TESTS" \
    "$DRILL" \
    "$EMERGENCY" \
    "$COPY"

bench_log "results appended to $BENCH_RESULTS"
