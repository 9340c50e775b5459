#!/usr/bin/env bash
# bench-hook.sh — time the pre-commit check (`check --hook`, no tests) against
# `git diff --cached --quiet` on the generated 100k-file repository: with 50
# staged files in a clean tree, and with 200 staged files and 5,000 modified
# unstaged ones. Both only read, so one prepared copy serves every run.
#
#   scripts/bench-hook.sh
#   FILES_DIRS=20 FILES_PER_DIR=20 RUNS=20 scripts/bench-hook.sh   # smoke test
#
# See lib-bench.sh for all knobs. Results: scripts/out/results.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib-bench.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib-bench.sh"

RUNS=${HOOK_RUNS:-30}
# The branch whose clean tree the staged changes are made on.
HOOK_BRANCH=${HOOK_BRANCH:-main}

# The tracked regular files, one a line: not symlinks, not submodules (git's
# own repository has one), which the changes below cannot append to, and not
# the files git reads rules from (.gitmodules, .gitattributes, .gitignore).
regular_files() {
    git -c core.quotePath=false ls-files -s \
        | awk -F '\t' '$1 ~ /^100/ && $2 !~ /(^|\/)\.git[a-z]*$/ { print $2 }'
}
bench_setup "bench-hook"

# hook_row JSON LABEL: the results.md row of a warm-cache timing.
hook_row() {
    python3 - "$1" "$BENCH_RESULTS" "$2" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
g, t = r["git"], r["tool"]
ms = lambda x: f"{x * 1000:.1f} ms"
row = (f"| {sys.argv[3]} | {ms(g['median'])} (min {ms(g['min'])}, n={len(g['times'])}) "
       f"| {ms(t['median'])} (min {ms(t['min'])}, n={len(t['times'])}) | {t['median'] / g['median']:.2f} |")
print(row)
open(sys.argv[2], "a").write(row + "\n")
PY
}

HOOK_WORK=$BENCH_DATA/work-hook
fresh_copy "$TEMPLATE" "$HOOK_WORK"
(
    cd "$HOOK_WORK"
    git checkout -q -f "$HOOK_BRANCH"
    git clean -q -fdx
    # 50 files spread over the whole tree, whatever its size.
    total=$(regular_files | wc -l)
    step=$(( total / 50 > 0 ? total / 50 : 1 ))
    regular_files | awk -v step="$step" 'NR % step == 0 && ++n <= 50' | while IFS= read -r f; do
        printf 'staged change\n' >>"$f"
        git add -- "$f"
    done
    git diff --cached --name-only | wc -l | sed 's/^/staged files: /'
)
export HOOK_WORK

# Run by hyperfine's bash, which expands the exported variables: single
# quotes are intended.
# shellcheck disable=SC2016
{
    GIT_HOOK='git -C "$HOOK_WORK" diff --cached --quiet; test $? -eq 1'
    TOOL_HOOK='"$TOOL" -C "$HOOK_WORK" check --hook >/dev/null'
}

bench_log "timing (warm cache, $RUNS runs each)"
bench_warm "$BENCH_OUT_DIR/check-hook.json" "check --hook, 50 staged files (no tests)" \
    3 "$GIT_HOOK" "$TOOL_HOOK"
hook_row "$BENCH_OUT_DIR/check-hook.json" "check --hook, 50 staged files (no tests)"

# The second copy: 200 staged files and 5,000 modified but not staged (the
# pre-commit check looks at what is staged; the unstaged changes must not
# cost it).
HOOK_DIRTY=$BENCH_DATA/work-hook-dirty
fresh_copy "$TEMPLATE" "$HOOK_DIRTY"
(
    cd "$HOOK_DIRTY"
    git checkout -q -f "$HOOK_BRANCH"
    git clean -q -fdx
    total=$(regular_files | wc -l)
    step=$(( total / 5200 > 0 ? total / 5200 : 1 ))
    regular_files | awk -v step="$step" 'NR % step == 0 && ++n <= 5200' > ../hook-dirty-files.txt
    head -n 200 ../hook-dirty-files.txt | while IFS= read -r f; do
        printf 'staged change\n' >>"$f"
    done
    head -n 200 ../hook-dirty-files.txt | tr '\n' '\0' | xargs -0 git add --
    tail -n +201 ../hook-dirty-files.txt | while IFS= read -r f; do
        printf 'unstaged change\n' >>"$f"
    done
    git update-index -q --refresh >/dev/null || true
    git diff --cached --name-only | wc -l | sed 's/^/staged files: /'
    git diff --name-only | wc -l | sed 's/^/modified, not staged: /'
)
export HOOK_DIRTY

# shellcheck disable=SC2016
{
    GIT_DIRTY='git -C "$HOOK_DIRTY" diff --cached --quiet; test $? -eq 1'
    TOOL_DIRTY='"$TOOL" -C "$HOOK_DIRTY" check --hook >/dev/null'
}

bench_warm "$BENCH_OUT_DIR/check-hook-dirty.json" \
    "check --hook, 200 staged files, 5,000 modified not staged (no tests)" \
    3 "$GIT_DIRTY" "$TOOL_DIRTY"
hook_row "$BENCH_OUT_DIR/check-hook-dirty.json" "check --hook, 200 staged, 5,000 modified not staged (no tests)"
