#!/usr/bin/env bash
# bench-test.sh — what `test` adds to a test run, on the generated 100k-file
# repository (HEAD on refactor/sprint-1 with a dirty work tree), with the
# test command `true` so that only the tool's own work is timed:
#
#   1. a passing run on a tree unchanged since the last green state, against
#      the test command alone (`sh -c true`, as the tool runs it);
#   2. a passing run that makes a new green state, against `checkpoint --wip`
#      on the same tree (the issue's bound: a green snapshot costs no more).
#
#   scripts/bench-test.sh
#   FILES_DIRS=20 FILES_PER_DIR=20 RUNS=3 scripts/bench-test.sh   # smoke test
#
# See lib-bench.sh for all knobs. Results: scripts/out/results.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib-bench.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib-bench.sh"

bench_setup "bench-test"

TEST_WORK=$BENCH_DATA/work-test
fresh_copy "$TEMPLATE" "$TEST_WORK"
git -C "$TEST_WORK" config rollback.testCommand true
"$TOOL" -C "$TEST_WORK" test >/dev/null 2>&1
export TEST_WORK

# Run by hyperfine's bash, which expands the exported variables: single
# quotes are intended.
# shellcheck disable=SC2016
{
    ALONE='sh -c true'
    TOOL_UNCHANGED='"$TOOL" -C "$TEST_WORK" test >/dev/null 2>&1'
}

bench_log "timing the unchanged tree (warm cache, $RUNS runs each)"
out=$BENCH_OUT_DIR/test-unchanged.json
bench_warm "$out" "test, tree unchanged since the last green state (vs the test command alone)" \
    2 "$ALONE" "$TOOL_UNCHANGED"
python3 - "$out" "$BENCH_RESULTS" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
g, t = r["git"], r["tool"]
ms = lambda x: f"{x * 1000:.1f} ms"
row = (f"| test, tree unchanged since the last green state (vs `sh -c true`) | {ms(g['median'])} "
       f"| {ms(t['median'])} | adds {ms(t['median'] - g['median'])} |")
print(row)
open(sys.argv[2], "a").write(row + "\n")
PY

# shellcheck disable=SC2016
{
    COPY='fresh_copy "$TEMPLATE" "$WORK" && git -C "$WORK" config rollback.testCommand true'
    TOOL_GREEN='"$TOOL" -C "$WORK" test >/dev/null 2>&1'
    TOOL_WIP='"$TOOL" -C "$WORK" checkpoint --wip -m bench >/dev/null'
}

# The "git" column holds `checkpoint --wip`: the bound a green snapshot is
# held to.
bench_pair "test making a green state (git column: checkpoint --wip)" \
    "$COPY" \
    "$TOOL_GREEN" \
    "$TOOL_WIP"

bench_log "results appended to $BENCH_RESULTS"
