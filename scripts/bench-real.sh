#!/usr/bin/env bash
# bench-real.sh — the emergency, its undo, `sprint rollback`, `files` (200
# paths, 200 folders), `checkpoint --wip` and `check --hook` benchmarks on
# real repositories instead of the generated one, whose uniform small
# files flatter the tool: fixed costs and costs per changed path decide a
# mid-size repository. (`recover --all` is not among them: its benchmark
# replays a branch of 200 generated commits onto the baseline, which a
# real history with merges does not give.) `check --hook` stages its
# changes on the clean tree of refactor/sprint-1 (HOOK_BRANCH), and its
# second case modifies every tracked file when there are fewer than 5,200.
# `sprint rollback` is also timed
# against the sequence with what its failure report holds (`git log
# baseline..HEAD` and `git diff --cached --stat -M baseline`): a row of
# context beside the goal's.
#
# Each repository is a template made by make-real-repo.sh from a public
# repository (a clone sharing its objects), the baseline on an older
# commit, HEAD on a newer one, and the same dirty state (150 modified
# files, 30 of them staged, 60 untracked, 300 ignored). The sources are
# local mirrors:
#
#   GIT_SRC=/path/to/git.git CARGO_SRC=/path/to/cargo.git scripts/bench-real.sh
#
# Results: scripts/out/real-<name>/ (hyperfine's JSON, as the other
# benchmarks write it), and scripts/out/real-repositories.md, the table
# BENCHMARKS.md includes. RUNS and the other knobs are lib-bench.sh's.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
if [[ -z ${GIT_SRC:-} || -z ${CARGO_SRC:-} ]]; then
    echo "bench-real: skipped: set GIT_SRC and CARGO_SRC to clones of https://github.com/git/git and https://github.com/rust-lang/cargo" >&2
    exit 0
fi
data=${BENCH_DATA:-/work/bench-data}
out=$here/out
mkdir -p -- "$out"
table=$out/real-repositories.md
rows=$out/real-repositories.rows
: > "$rows"

# name, source, baseline, head, folder of ignored files ("" for *.o beside sources)
REPOS=(
    "git|$GIT_SRC|v2.47.0|v2.49.0|"
    "cargo|$CARGO_SRC|af373f761~400|af373f761|target"
)

for spec in "${REPOS[@]}"; do
    IFS='|' read -r name src base head ignored <<<"$spec"
    template=$data/real-$name
    IGNORED_DIR=$ignored "$here/make-real-repo.sh" "$src" "$base" "$head" "$template"
    describe="$(git -C "$template" ls-files | wc -l) files; baseline $(git -C "$template" rev-parse --short=10 'baseline^{commit}') ($base), HEAD $(git -C "$template" rev-parse --short=10 HEAD) ($head), $(git -C "$template" diff --name-only baseline HEAD | wc -l) files differ; 150 modified (30 staged), 60 untracked, 300 ignored"
    for bench in bench-emergency.sh bench-sprint.sh bench-files.sh bench-foundation.sh bench-hook.sh; do
        TEMPLATE=$template BENCH_TEMPLATE_READY=1 BENCH_OUT_DIR=$out/real-$name \
            WORK=$data/work-real SPRINT_REPORT=1 HOOK_BRANCH=refactor/sprint-1 "$here/$bench"
    done
    python3 - "$out/real-$name" "$name" "$describe" >>"$rows" <<'PY'
import json, pathlib, sys
d, name, describe = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
rows = [
    ("`emergency`", "emergency-yes-Level-1-rollback-to-baseline", 0.5),
    ("undo of the emergency", "undo-of-emergency", 0.8),
    ("`sprint rollback --no-tests`", "sprint-rollback-Level-2-WIP-commit-backup-branch-retry-branch-at-the-baseline", 0.6),
    ("`files`, 200 paths", "files-200-paths-back-to-the-baseline", 1.0),
    ("`files`, 200 directories", "files-200-directories-back-to-the-baseline", 1.0),
    ("`checkpoint --wip`", "checkpoint-wip", 1.0),
    ("`check --hook`, 50 staged, clean tree", "check-hook", 1.0),
    ("`check --hook`, 200 staged, every other file modified", "check-hook-dirty", 1.0),
    ("`sprint rollback --no-tests` against the sequence with its report's `git log` and `git diff --stat -M` (context)",
     "sprint-rollback-with-its-report-git-column-the-sequence-plus-git-log-and-git-diff-stat-M", None),
]
print(f"| **{name}** ({describe}) | | | | |")
for label, stem, goal in rows:
    f = d / f"{stem}.json"
    if not f.exists():
        print(f"| {label} | — | — | — | not run |")
        continue
    r = {x["command"]: x for x in json.load(open(f))["results"]}
    g, t = r["git"]["median"], r["tool"]["median"]
    ratio = t / g
    verdict = "—" if goal is None else f"≤ {goal}: {'met' if ratio <= goal else 'not met'}"
    print(f"| {label} | {g * 1000:.0f} ms | {t * 1000:.0f} ms | {ratio:.2f} | {verdict} |")
PY
done

{
    echo "| operation | git | tool | tool ÷ git | goal |"
    echo "| --- | --- | --- | --- | --- |"
    cat "$rows"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') at $(git -C "$here/.." rev-parse --short HEAD)$(git -C "$here/.." diff --quiet || echo -dirty), RUNS=${RUNS:-5}, git $(git --version | cut -d' ' -f3), $(nproc) cores."
} >"$table"
rm -f -- "$rows"
echo "bench-real: $table"
