#!/usr/bin/env bash
# Compares the stat `changes.txt` would hold with `git diff --stat -M` for
# ranges of real histories, byte for byte, and says how many match.
#
#   scripts/renames-truth.sh [ranges-file]
#
# Each line of the ranges file: <repository> <from> <to> (blank lines and
# `#` comments skipped). Without one, the ranges below, over the mirrors
# of git and cargo in $MIRRORS (default /work/.mirror). The stat is the
# `diffstat` example, built in release mode. RENAME_LIMIT=n sets
# diff.renameLimit for both sides (0: no limit).
set -euo pipefail
cd "$(dirname "$0")/.."
MIRRORS=${MIRRORS:-/work/.mirror}
GIT_REPO=$MIRRORS/git+git/repo
CARGO_REPO=$MIRRORS/rust-lang+cargo/repo

default_ranges() {
    cat <<RANGES
$GIT_REPO v2.47.0 v2.49.0
$GIT_REPO v2.40.0 v2.49.0
$GIT_REPO v2.45.0 v2.47.0
$GIT_REPO v2.30.0 v2.35.0
$GIT_REPO v2.20.0 v2.30.0
$GIT_REPO v1.7.0 v1.7.1
$GIT_REPO v1.6.6 v1.7.2
$GIT_REPO 81b50f3ce4^ 81b50f3ce4
$GIT_REPO v1.5.0 v1.7.0
$GIT_REPO v2.10.0 v2.20.0
$GIT_REPO v2.49.0 v2.47.0
$GIT_REPO v2.0.0 v2.49.0
$GIT_REPO v1.0.0 v2.0.0
$GIT_REPO v2.25.0 v2.26.0
$CARGO_REPO 0.90.0 0.99.0
$CARGO_REPO 0.80.0 0.90.0
$CARGO_REPO 0.60.0 0.70.0
$CARGO_REPO 0.40.0 0.60.0
$CARGO_REPO 0.20.0 0.40.0
$CARGO_REPO 0.50.0 0.99.0
RANGES
}

cargo build --release --quiet --example diffstat
target=${CARGO_TARGET_DIR:-target}
ours_bin=$target/release/examples/diffstat

# Neither side sees the user's settings.
empty_home=$(mktemp -d)
trap 'rm -rf "$empty_home"' EXIT
export HOME=$empty_home XDG_CONFIG_HOME=$empty_home GIT_CONFIG_NOSYSTEM=1
if [[ -n "${RENAME_LIMIT:-}" ]]; then
    git config --file "$empty_home/.gitconfig" diff.renameLimit "$RENAME_LIMIT"
fi
unset COLUMNS

total=0
same=0
while read -r repo from to; do
    [[ -z "${repo:-}" || "$repo" == \#* ]] && continue
    total=$((total + 1))
    ours=$("$ours_bin" "$repo" "$from" "$to")
    theirs=$(git -C "$repo" diff --stat -M "$from" "$to")
    renames=$(grep -c ' => ' <<<"$theirs" || true)
    if [[ "$ours" == "$theirs" ]]; then
        same=$((same + 1))
        echo "same     $(basename "$(dirname "$repo")") $from..$to ($renames renames)"
    else
        echo "DIFFERS  $(basename "$(dirname "$repo")") $from..$to ($renames renames)"
        diff <(echo "$theirs") <(echo "$ours") | head -20 || true
    fi
done < <(if [[ $# -gt 0 ]]; then cat "$1"; else default_ranges; fi)
echo "$same of $total ranges match git exactly"
[[ $same -eq $total ]]
