#!/usr/bin/env bash
# bench-recover.sh — time `recover --all` of 200 commits onto the baseline
# against `git cherry-pick baseline..failed-200`, on fresh copies of the
# generated 100k-file repository.
#
# The template for this benchmark is derived once from the main one: the
# dirty work tree is dropped, HEAD is `main` (the baseline), and the branch
# `failed-200` holds 200 commits on top of the baseline — each changes 5
# files; every 10th also renames one, every 15th deletes one, every 20th adds
# a binary file — so that every pick touches the 100,000-entry index.
#
#   scripts/bench-recover.sh
#   FILES_DIRS=20 FILES_PER_DIR=20 RUNS=2 scripts/bench-recover.sh   # smoke test
#
# See lib-bench.sh for all knobs. Results: scripts/out/results.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib-bench.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib-bench.sh"

bench_setup "bench-recover"

BASE_TEMPLATE=$TEMPLATE
TEMPLATE=$BASE_TEMPLATE-recover
COMMITS=${COMMITS:-200}
STAMP="$(bench_template_sum) commits=$COMMITS v1"
if [[ -d $TEMPLATE && -f $TEMPLATE.stamp && $(<"$TEMPLATE.stamp") == "$STAMP" ]]; then
    bench_log "recover template up to date: $TEMPLATE"
else
    bench_log "building $TEMPLATE ($COMMITS commits on failed-200)"
    bench_discard "$TEMPLATE"
    cp -a -- "$BASE_TEMPLATE" "$TEMPLATE"
    (
        cd "$TEMPLATE"
        git checkout -q -f main
        git clean -q -fdx
        git checkout -q -b failed-200 baseline
        mapfile -t files < <(git ls-files | awk 'NR % 97 == 0')
        n=${#files[@]}
        for ((i = 1; i <= COMMITS; i++)); do
            for ((k = 0; k < 5; k++)); do
                f=${files[$(((i * 7 + k * 131) % n))]}
                [[ -f $f ]] && printf 'recovered change %d/%d\n' "$i" "$k" >>"$f"
            done
            if ((i % 10 == 0)); then
                f=${files[$(((i * 13) % n))]}
                [[ -f $f ]] && git mv -- "$f" "$f.renamed$i"
            fi
            if ((i % 15 == 0)); then
                f=${files[$(((i * 17 + 5) % n))]}
                [[ -f $f ]] && git rm -q -- "$f"
            fi
            if ((i % 20 == 0)); then
                head -c 4096 /dev/urandom >"binary-$i.bin"
            fi
            git add -A
            GIT_AUTHOR_DATE="@$((1790000000 + i * 60)) +0000" \
                GIT_COMMITTER_DATE="@$((1790000000 + i * 60)) +0000" \
                git commit -q -m "recoverable change $i"
        done
        git checkout -q main
    )
    printf '%s\n' "$STAMP" >"$TEMPLATE.stamp"
fi
export TEMPLATE

# Run by hyperfine's bash, which expands the exported variables: single
# quotes are intended.
# shellcheck disable=SC2016
{
    COPY='fresh_copy "$TEMPLATE" "$WORK"'
    GIT_RECOVER='cd "$WORK" && git checkout -q -b recovery/bench && git cherry-pick baseline..failed-200 >/dev/null'
    TOOL_RECOVER='"$TOOL" -C "$WORK" recover failed-200 --all --no-tests >/dev/null'
}

bench_pair "recover --all: $COMMITS commits onto the baseline" \
    "$COPY" \
    "$TOOL_RECOVER" \
    "$GIT_RECOVER"

bench_log "results appended to $BENCH_RESULTS"
