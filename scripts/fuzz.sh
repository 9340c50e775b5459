#!/usr/bin/env bash
# fuzz.sh — fuzz the journal reader and the metrics.json reader.
#
#   scripts/fuzz.sh            # each target for 300 seconds
#   scripts/fuzz.sh 60         # each target for 60 seconds
#   FUZZ_TARGETS=metrics_reader scripts/fuzz.sh 30
#
# Installs cargo-fuzz when it is missing. Runs on a stable toolchain: the
# targets are built without a sanitizer (`--sanitizer none`, which needs no
# unstable flag) and still get libFuzzer's coverage guidance, debug
# assertions and overflow checks. With a nightly toolchain, or
# RUSTC_BOOTSTRAP=1, FUZZ_SANITIZER=address adds AddressSanitizer. Without
# a sanitizer, a stack overflow kills the target with SIGSEGV before
# libFuzzer can save the input: re-run with AddressSanitizer to get it.
#
# New inputs that reach new code are added to fuzz/corpus/<target>/ (only
# the seed-* files there are kept in git); a crash is saved under
# fuzz/artifacts/<target>/ and makes the script exit non-zero, printing the
# command that replays it.
set -euo pipefail

seconds=${1:-300}
sanitizer=${FUZZ_SANITIZER:-none}
targets=${FUZZ_TARGETS:-"journal_reader metrics_reader"}

cd "$(dirname -- "${BASH_SOURCE[0]}")/../fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

status=0
for target in $targets; do
    echo "== $target for ${seconds}s (sanitizer: $sanitizer)"
    mkdir -p "corpus/$target"
    if ! nice -n 10 cargo fuzz run --sanitizer "$sanitizer" "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1; then
        echo "!! $target found a crash: see fuzz/artifacts/$target/" >&2
        echo "   replay: cd fuzz && cargo fuzz run --sanitizer $sanitizer $target <artifact>" >&2
        status=1
    fi
done
exit "$status"
