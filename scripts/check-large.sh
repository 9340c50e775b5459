#!/usr/bin/env bash
# check-large.sh — prove the round trips exact on a 100,000-file repository.
#
# Too slow for the CI suite (2 cores, 20 minutes), so it is a script: on a
# copy of the generated benchmark repository (scripts/make-large-repo.sh, a
# failed sprint and a dirty work tree with staged, unstaged, untracked and
# ignored files), it runs
#
#   emergency --clean-ignored + undo,  sprint rollback + undo,  files + undo
#
# and after each undo compares a full capture of the repository with the one
# taken before: HEAD, every ref (not the tool's own refs/rollback/), the
# stash list with ids, `git ls-files -s` plus the skip-worktree/assume-
# unchanged flags, and a manifest of every file in the work tree (untracked
# and ignored included): type, mode, sha256 or symlink target. The reports
# folder `rollbacks/` is left out: it survives undo by design
# (docs/invariants.md, I8).
# Prints the time of each step; exits 1 at the first difference.
#
# Environment (all optional; see lib-bench.sh for the others):
#   TOOL        the binary (default target/release/git-rollback-sprint)
#   TEMPLATE    the generated repository (built when missing or stale)
#   CHECK_WORK  scratch directory for the copies (default: a new temporary
#               directory under $BENCH_DATA, removed at the end)
#   FILES_DIRS=20 FILES_PER_DIR=20 scripts/check-large.sh   # smoke test
set -euo pipefail

# shellcheck source=scripts/lib-bench.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-bench.sh"

bench_sandbox_env
require_tool
template_repo

mkdir -p -- "$BENCH_DATA"
SCRATCH=${CHECK_WORK:-$(mktemp -d "$BENCH_DATA/check-large.XXXXXX")}
mkdir -p -- "$SCRATCH"
WT=$SCRATCH/repo
cleanup() { rm -rf -- "$SCRATCH"; }
[[ -n ${CHECK_WORK:-} ]] || trap cleanup EXIT

export GIT_ROLLBACK_SPRINT_NOW=2026-11-21T10:04:05+01:00

# capture DIR OUT: the whole state of the repository at DIR, as text.
capture() {
    local dir=$1 out=$2
    {
        echo "## HEAD"
        git -C "$dir" symbolic-ref -q HEAD || echo detached
        git -C "$dir" rev-parse HEAD
        echo "## refs"
        git -C "$dir" for-each-ref --format='%(objectname) %(refname)' \
            | grep -v ' refs/rollback/' || true
        echo "## stash"
        git -C "$dir" reflog show --format='%H %gs' refs/stash 2>/dev/null || true
        echo "## index"
        git -C "$dir" ls-files -s
        git -C "$dir" ls-files -v | grep -v '^H ' || true
        echo "## files"
        (
            cd -- "$dir"
            find . \( -path ./.git -o -path ./rollbacks \) -prune -o \
                -printf '%y %m %p -> %l\n' | LC_ALL=C sort
            echo "## contents"
            find . \( -path ./.git -o -path ./rollbacks \) -prune -o -type f -print0 \
                | LC_ALL=C sort -z | xargs -0 -r sha256sum --
        )
    } >"$out"
}

# step NAME CMD...: run and time one command of the tool in the copy.
step() {
    local name=$1 start end
    shift
    start=$(date +%s.%N)
    if ! "$@" >"$SCRATCH/$name.out" 2>&1; then
        cat -- "$SCRATCH/$name.out" >&2
        bench_die "$name failed"
    fi
    end=$(date +%s.%N)
    printf '  %-28s %6.2f s\n' "$name" "$(echo "$end - $start" | bc)"
}

# round_trip LABEL ARGS...: fresh copy, capture, the command, undo, capture,
# compare.
round_trip() {
    local label=$1
    shift
    bench_log "$label"
    fresh_copy "$TEMPLATE" "$WT"
    capture "$WT" "$SCRATCH/before.txt"
    step "$label" "$TOOL" -C "$WT" --yes "$@"
    step "undo" "$TOOL" -C "$WT" --yes undo
    capture "$WT" "$SCRATCH/after.txt"
    if ! diff -u "$SCRATCH/before.txt" "$SCRATCH/after.txt" >"$SCRATCH/diff.txt"; then
        head -n 40 -- "$SCRATCH/diff.txt" >&2
        bench_die "$label + undo did not restore the repository exactly ($(grep -c '^[-+][^-+]' "$SCRATCH/diff.txt") lines differ)"
    fi
    printf '  %-28s %s lines identical\n' "state" "$(wc -l <"$SCRATCH/after.txt")"
}

round_trip "emergency --clean-ignored" emergency --clean-ignored
round_trip "sprint rollback" sprint rollback --no-tests
# The files the failed sprint changed in its first few directories.
mapfile -t FILES < <(git -C "$TEMPLATE" diff --name-only baseline HEAD | head -n 200)
round_trip "files (${#FILES[@]} paths)" files --no-tests "${FILES[@]}"
bench_discard "$WT"
bench_log "all round trips exact"
