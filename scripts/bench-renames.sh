#!/usr/bin/env bash
# Times the stat `changes.txt` holds against `git diff --stat -M` on ranges
# of git's own history (hyperfine, git and the tool in the same run).
#
#   scripts/bench-renames.sh [repository]
#
# The repository defaults to the mirror of git in $MIRRORS (default
# /work/.mirror). The stat is the `diffstat` example, built in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=${1:-${MIRRORS:-/work/.mirror}/git+git/repo}
cargo build --release --quiet --example diffstat
ours=$(realpath "${CARGO_TARGET_DIR:-target}/release/examples/diffstat")
empty_home=$(mktemp -d)
trap 'rm -rf "$empty_home"' EXIT
export HOME=$empty_home XDG_CONFIG_HOME=$empty_home GIT_CONFIG_NOSYSTEM=1
unset COLUMNS
cd "$repo"
for range in "v2.47.0 v2.49.0" "v2.40.0 v2.49.0" "v1.6.6 v1.7.2"; do
    hyperfine --warmup 1 --runs "${RUNS:-10}" --shell=none \
        "$ours . $range" "git diff --stat -M $range"
done
