#!/usr/bin/env bash
# make-real-repo.sh — a benchmark template from a real repository: a clone
# sharing the source's objects (objects/info/alternates, so a copy of the
# template costs its work tree and not its history), the baseline tag on an
# older release, HEAD on refactor/sprint-1 at a newer one, and a dirty work
# tree of the shape a refactor in progress has: MODIFIED tracked files
# changed (STAGED of them staged, the rest unstaged), UNTRACKED new files,
# and IGNORED files that the project's own .gitignore ignores: *.o files
# beside the sources, or, with IGNORED_DIR set, files in that folder (for a
# project that ignores a build folder, not a suffix).
#
#   scripts/make-real-repo.sh SOURCE BASELINE HEAD DEST
#   scripts/make-real-repo.sh /path/to/git.git v2.47.0 v2.49.0 /work/bench-data/real-git
#
# Knobs: MODIFIED (150), STAGED (30), UNTRACKED (60), IGNORED (300),
# IGNORED_DIR (unset).
# The files changed are chosen by a fixed rule (every n-th tracked file),
# so two templates made from the same commits are the same.
set -euo pipefail

[[ $# -eq 4 ]] || { echo "usage: $0 SOURCE BASELINE HEAD DEST" >&2; exit 2; }
src=$1 base=$2 head=$3 dest=$4
MODIFIED=${MODIFIED:-150} STAGED=${STAGED:-30} UNTRACKED=${UNTRACKED:-60} IGNORED=${IGNORED:-300}

rm -rf -- "$dest.tmp"
git clone -q --shared --no-checkout "$src" "$dest.tmp"
cd "$dest.tmp"
git config user.name "Bench Mark"
git config user.email bench@example.com
git config gc.auto 0
git tag -f -a baseline -m "known good" "$base^{commit}" >/dev/null
git checkout -q -b refactor/sprint-1 "$head^{commit}"

files=$(git ls-files | wc -l)
step=$(( files / MODIFIED ))
git ls-files -z | tr '\0' '\n' | awk -v s="$step" -v m="$MODIFIED" 'NR % s == 0 && n++ < m' > ../modified.list
n=0
while IFS= read -r f; do
    [[ -f $f && ! -L $f ]] || continue
    printf '\n/* refactor in progress %d */\n' "$n" >> "$f"
    n=$((n + 1))
    if (( n <= STAGED )); then git add -- "$f"; fi
done < ../modified.list
rm -f ../modified.list
dirs=$(git ls-files | awk -F/ 'NF > 1 { NF--; print }' OFS=/ | sort -u | awk 'NR <= 50')
i=0
while (( i < UNTRACKED )); do
    for d in $dirs; do
        (( i < UNTRACKED )) || break
        printf 'new file %d\n' "$i" > "$d/new-$i.txt"
        i=$((i + 1))
    done
done
if [[ -n ${IGNORED_DIR:-} ]]; then
    mkdir -p "$IGNORED_DIR/bench"
    for (( i = 0; i < IGNORED; i++ )); do
        printf 'object %d\n' "$i" > "$IGNORED_DIR/bench/bench-$i.o"
    done
    probe=$IGNORED_DIR/bench/bench-0.o
else
    i=0
    while (( i < IGNORED )); do
        for d in $dirs; do
            (( i < IGNORED )) || break
            printf 'object %d\n' "$i" > "$d/bench-$i.o"
            i=$((i + 1))
        done
    done
    probe=$(echo $dirs | cut -d' ' -f1)/bench-0.o
fi
git check-ignore -q "$probe" || {
    echo "make-real-repo: $probe is not ignored by $src's .gitignore; set IGNORED_DIR" >&2
    exit 1
}
git update-index -q --refresh || true
cd ..
rm -rf -- "$dest"
mv -- "$dest.tmp" "$dest"
echo "make-real-repo: $dest: $files files, HEAD $(git -C "$dest" rev-parse --short HEAD) ($head), baseline $(git -C "$dest" rev-parse --short 'baseline^{commit}') ($base), $(git -C "$dest" diff --name-only baseline HEAD | wc -l) files differ; status: $(git -C "$dest" status --porcelain | wc -l) lines"
