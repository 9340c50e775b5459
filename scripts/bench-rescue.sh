#!/usr/bin/env bash
# bench-rescue.sh — time `rescue` (the listing of lost work) against
# `git fsck --unreachable --no-reflogs` on the generated 100k-file repository
# holding 5,000 unreachable objects. Both only read, so one prepared copy
# serves every run; the two still alternate round by round.
#
# The template for this benchmark is derived once from the main one, with
# work lost the ways plain git loses it:
#   * a `git reset --hard` over LOST_STAGED staged changes (default 2,000,
#     at most a fifth of the files), which also drops the template's own
#     staged and unstaged work;
#   * a deleted branch `lost` of LOST_COMMITS commits (default 300), each
#     changing one file (written by fast-import, so packed, as after a gc);
#   * STASHES dropped stash entries (default 5);
#   * then unrelated blobs (`git hash-object -w`) until `git fsck
#     --unreachable --no-reflogs` counts UNREACHABLE objects (default 5,000).
#
#   scripts/bench-rescue.sh
#   FILES_DIRS=20 FILES_PER_DIR=20 RUNS=3 scripts/bench-rescue.sh   # smoke test
#
# See lib-bench.sh for all knobs. Results: scripts/out/results.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib-bench.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib-bench.sh"

RUNS=${RESCUE_RUNS:-$RUNS}
bench_setup "bench-rescue"

UNREACHABLE=${UNREACHABLE:-5000}
LOST_COMMITS=${LOST_COMMITS:-300}
STASHES=${STASHES:-5}
files=$((FILES_DIRS * FILES_PER_DIR))
LOST_STAGED=${LOST_STAGED:-$((files / 5 < 2000 ? files / 5 : 2000))}

BASE_TEMPLATE=$TEMPLATE
TEMPLATE=$BASE_TEMPLATE-rescue
STAMP="$(bench_template_sum) unreachable=$UNREACHABLE commits=$LOST_COMMITS staged=$LOST_STAGED stashes=$STASHES v1"

# unreachable DIR: what git fsck counts as unreachable, reflogs not roots.
unreachable() {
    git -C "$1" fsck --unreachable --no-reflogs --no-progress 2>/dev/null | grep -c '^unreachable ' || true
}

if [[ -d $TEMPLATE && -f $TEMPLATE.stamp && $(<"$TEMPLATE.stamp") == "$STAMP" ]]; then
    bench_log "rescue template up to date: $TEMPLATE"
else
    bench_log "building $TEMPLATE ($UNREACHABLE unreachable objects)"
    bench_discard "$TEMPLATE"
    cp -a -- "$BASE_TEMPLATE" "$TEMPLATE"
    (
        cd "$TEMPLATE"
        export GIT_AUTHOR_DATE='2024-02-01T00:00:00+0000' GIT_COMMITTER_DATE='2024-02-01T00:00:00+0000'
        mapfile -t tracked < <(git ls-files | awk 'NR % 7 == 3')
        n=${#tracked[@]}
        # 1. Staged changes, reset away (with the template's own dirty work).
        for ((i = 0; i < LOST_STAGED && i < n; i++)); do
            printf '// staged and lost %d\n' "$i" >>"${tracked[$((n - 1 - i))]}"
        done
        git add -A
        git reset -q --hard
        # 2. A branch of LOST_COMMITS commits, checked out once (HEAD's reflog
        #    names them), then deleted.
        head=$(git rev-parse HEAD)
        python3 - "$head" "$LOST_COMMITS" "${tracked[@]:0:$LOST_COMMITS}" <<'PY' | git fast-import --quiet
import sys
head, count, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
out = sys.stdout.buffer
for i in range(count):
    path = paths[i % len(paths)]
    body = f"// {path}\n// lost change {i}\nfn lost_{i}() {{}}\n".encode()
    out.write(b"commit refs/heads/lost\n")
    out.write(f"committer Bench <bench@example.invalid> {1706745600 + i * 60} +0000\n".encode())
    msg = f"lost change {i}\n".encode()
    out.write(b"data %d\n%s" % (len(msg), msg))
    if i == 0:
        out.write(f"from {head}\n".encode())
    out.write(f"M 100644 inline {path}\n".encode())
    out.write(b"data %d\n%s\n" % (len(body), body))
PY
        git checkout -q lost
        git checkout -q -
        git branch -q -D lost
        # 3. Stash entries, dropped.
        for ((i = 0; i < STASHES; i++)); do
            printf '// stashed %d\n' "$i" >>"${tracked[$((i * 13 % n))]}"
            git stash push -q -m "bench stash $i"
            git stash drop -q
        done
        # 4. Unrelated blobs up to the count.
        have=$(unreachable .)
        more=$((UNREACHABLE - have))
        if ((more > 0)); then
            blobs=$(mktemp -d)
            python3 - "$more" "$blobs" <<'PY' | git hash-object -w --stdin-paths >/dev/null
import os, sys
for i in range(int(sys.argv[1])):
    p = os.path.join(sys.argv[2], f"b{i}")
    with open(p, "w") as f:
        f.write(f"unrelated object {i}\nnothing any file holds\n")
    print(p)
PY
            rm -rf -- "$blobs"
        fi
        git update-index -q --refresh || true
    )
    got=$(unreachable "$TEMPLATE")
    bench_log "git fsck --unreachable --no-reflogs counts $got unreachable objects"
    printf '%s\n' "$STAMP" >"$TEMPLATE.stamp"
fi
export TEMPLATE

RESCUE_WORK=$BENCH_DATA/work-rescue
fresh_copy "$TEMPLATE" "$RESCUE_WORK"
export RESCUE_WORK

# Run by hyperfine's bash, which expands the exported variables: single
# quotes are intended.
# shellcheck disable=SC2016
{
    GIT_LIST='git -C "$RESCUE_WORK" fsck --unreachable --no-reflogs --no-progress >/dev/null 2>&1'
    TOOL_LIST='"$TOOL" -C "$RESCUE_WORK" rescue >/dev/null'
    WORK=$RESCUE_WORK
}

bench_pair "rescue: list 5000 unreachable objects" \
    "true" \
    "$TOOL_LIST" \
    "$GIT_LIST"

bench_log "results appended to $BENCH_RESULTS"
