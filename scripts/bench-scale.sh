#!/usr/bin/env bash
# bench-scale.sh — the emergency, its undo, `sprint rollback --no-tests`,
# `files` of 200 paths and `checkpoint --wip`, each against the git command
# line the other bench scripts compare it with (lib-bench.sh), on generated
# repositories of several sizes: median time and peak resident memory of
# the tool and of git, to show how each grows with the number of files.
#
# Each size is make-large-repo.sh's repository (the same history and dirty
# state as the 100,000-file benchmarks, scaled) with SIZE/100 directories of
# 100 files; its template is kept in $BENCH_DATA (template-<dirs>x100, and
# the 100,000-file one is the other benchmarks' template). Every run starts
# from a fresh copy, alternating git and the tool (lib-bench.sh's
# bench_pair); the peak memory is GNU time's (PEAK_MEMORY in lib-bench.sh).
# After the timed runs, one more run of the tool with
# GIT_ROLLBACK_SPRINT_TRACE=1 records its phases, so that BENCHMARKS.md can
# name the steps that grow faster than the number of files.
#
#   scripts/bench-scale.sh                          # 10,000, 100,000, 300,000 files
#   SIZES="400 1600" RUNS=2 BENCH_OUT_DIR=/tmp/out scripts/bench-scale.sh   # smoke test
#
# Environment: SIZES (default "10000 100000 300000"; multiples of 100),
# TRACE (1 default; 0: no traced run), and lib-bench.sh's knobs (RUNS,
# BENCH_DATA, TOOL, …; FILES_DIRS, FILES_PER_DIR and TEMPLATE are set here
# for each size). Results: scripts/out/scale-<size>/<operation>.json (with
# max_rss_kib), <operation>.meta.json, <operation>.trace.txt and results.md.
set -euo pipefail

if [[ -n ${TEMPLATE:-} ]]; then
    printf 'bench-scale.sh: error: TEMPLATE is set (%s); this script makes one template per size: unset it\n' \
        "$TEMPLATE" >&2
    exit 1
fi

# shellcheck source-path=SCRIPTDIR source=lib-bench.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib-bench.sh"

SIZES=${SIZES:-10000 100000 300000}
read -r -a sizes <<<"$SIZES"
((${#sizes[@]})) || bench_die "SIZES is empty"
for size in "${sizes[@]}"; do
    [[ $size =~ ^[1-9][0-9]*00$ ]] \
        || bench_die "each size in SIZES must be a multiple of 100 (directories of 100 files; got '$size')"
done
[[ ${TRACE:=1} == [01] ]] || bench_die "TRACE must be 0 or 1 (got '$TRACE')"

[[ -x /usr/bin/time ]] || bench_die "the peak memory needs GNU time at /usr/bin/time: apt-get install time"
export PEAK_MEMORY=1
FLOOR=0     # the floor is bench-emergency.sh's and bench-sprint.sh's
SCALE_OUT=$BENCH_OUT_DIR

# The tool as the traced run calls it: its phases (stderr) go to a file.
TRACE_TOOL=$BENCH_DATA/trace-tool
REAL_TOOL=$TOOL
export REAL_TOOL

# scale_pair NAME PREPARE TOOL_CMD GIT_CMD [GIT_PREPARE]: bench_pair, then
# one traced run of the tool (untimed) into out/scale-<size>/<slug>.trace.txt,
# then the copies are deleted: at 300,000 files each is about 1.7 GB, and
# the nine of one operation are as many as the disk should hold at once.
scale_pair() {
    local name=$1 prepare=$2 tool_cmd=$3 trace
    bench_pair "$@"
    if [[ $TRACE == 1 && $ONLY != git ]]; then
        trace=$BENCH_OUT_DIR/$(bench_slug "$name").trace.txt
        bench_log "traced run of the tool: $name"
        bash -c "$prepare" >/dev/null || bench_die "traced run of '$name': prepare command failed"
        : >"$trace"
        TOOL=$TRACE_TOOL TRACE_FILE=$trace bash -c "$tool_cmd" >/dev/null \
            || bench_die "traced run of '$name' failed (its stderr: $trace)"
    fi
    bench_empty_trash
    bench_settle
}

for size in "${sizes[@]}"; do
    bench_set_size $((size / 100)) 100
    BENCH_OUT_DIR=$SCALE_OUT/scale-$size
    BENCH_RESULTS=$BENCH_OUT_DIR/results.md
    bench_setup "bench-scale ($size files)"
    bench_operation_inputs
    if [[ $TRACE == 1 ]]; then
        mkdir -p -- "$BENCH_DATA"
        # shellcheck disable=SC2016
        printf '#!/bin/sh\nGIT_ROLLBACK_SPRINT_TRACE=1 exec "$REAL_TOOL" "$@" 2>>"$TRACE_FILE"\n' >"$TRACE_TOOL"
        chmod +x -- "$TRACE_TOOL"
    fi

    scale_pair "emergency" \
        "$BENCH_COPY" "$TOOL_EMERGENCY" "$GIT_EMERGENCY"
    scale_pair "undo of emergency" \
        "$BENCH_COPY && $TOOL_EMERGENCY >/dev/null" "$TOOL_UNDO" "$GIT_EMERGENCY_UNDO" \
        "$BENCH_COPY && ( $GIT_EMERGENCY )"
    scale_pair "sprint rollback --no-tests" \
        "$BENCH_COPY" "$TOOL_SPRINT" "$GIT_SPRINT"
    scale_pair "files: 200 paths" \
        "$BENCH_COPY" "$TOOL_FILES" "$GIT_FILES"
    scale_pair "checkpoint --wip" \
        "$BENCH_COPY" "$TOOL_CHECKPOINT" "$GIT_WIP_CHECKPOINT"
    bench_log "$size files: results in $BENCH_OUT_DIR"
done
