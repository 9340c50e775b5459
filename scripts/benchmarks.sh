#!/usr/bin/env bash
# benchmarks.sh — rebuild BENCHMARKS.md, docs/benchmarks.svg (and
# docs/benchmarks-scale.svg once bench-scale.sh has run) and the summary
# in README.md (between <!-- benchmarks:start --> and <!-- benchmarks:end -->)
# from the benchmark results in scripts/out/*.json; with --run, first build
# the release binary and run the bench-*.sh scripts that produce them.
#
#   scripts/benchmarks.sh                          # regenerate only
#   scripts/benchmarks.sh --run                    # run every benchmark, regenerate
#   scripts/benchmarks.sh --run --only hook files  # run bench-hook.sh and bench-files.sh
#
# The benchmarks run under `nice` (NICE, default 10): they take about half an
# hour on 2 cores and should not starve other work; other load makes them
# noisier, which is why every benchmark alternates git and the tool.
# Environment: everything lib-bench.sh reads (RUNS, BENCH_DATA, TOOL, …).
# The prose of BENCHMARKS.md is scripts/BENCHMARKS.in.md; what each result is
# and its goal are in scripts/gen-benchmarks.py.
set -euo pipefail

SCRIPTS=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(dirname -- "$SCRIPTS")
NICE=${NICE:-10}

die() { printf 'benchmarks.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf '==> %s\n' "$*" >&2; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    printf '\nbenchmarks: %s\n' "$(available | tr '\n' ' ')"
}

# The names --only accepts: bench-NAME.sh in scripts/.
available() {
    local f
    for f in "$SCRIPTS"/bench-*.sh; do
        f=${f##*/bench-}
        printf '%s\n' "${f%.sh}"
    done
}

run=0
only=()
while (($#)); do
    case $1 in
        --run) run=1 ;;
        --only)
            shift
            if (($# == 0)) || [[ $1 == --* ]]; then die "--only needs at least one benchmark name"; fi
            while (($#)) && [[ $1 != --* ]]; do
                only+=("$1")
                shift
            done
            continue
            ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
if ((${#only[@]})) && ((!run)); then
    die "--only selects benchmarks to run: use it with --run"
fi

# The tools each step needs, all named at once.
missing=()
command -v python3 >/dev/null 2>&1 || missing+=("python3 (generates BENCHMARKS.md and the chart)")
if ((run)); then
    command -v nice >/dev/null 2>&1 || missing+=("nice (coreutils)")
    if [[ -z ${TOOL:-} ]] && ! command -v cargo >/dev/null 2>&1; then
        missing+=("cargo (builds the release binary; or set TOOL=/path/to/git-rollback-sprint)")
    fi
    if ! command -v hyperfine >/dev/null 2>&1; then
        log "hyperfine is missing: the bench scripts will try to install it with apt-get"
    fi
fi
((${#missing[@]} == 0)) || die "missing: $(printf '\n  %s' "${missing[@]}")"
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    die "python3 is $(python3 --version 2>&1 | cut -d' ' -f2); gen-benchmarks.py needs 3.10 or newer"
fi

if ((run)); then
    mapfile -t names < <(available)
    if ((${#only[@]})); then
        for name in "${only[@]}"; do
            [[ -f $SCRIPTS/bench-$name.sh ]] \
                || die "no benchmark '$name' (there are: $(available | tr '\n' ' '))"
        done
        names=("${only[@]}")
    fi
    if [[ -z ${TOOL:-} ]]; then
        log "building the release binary"
        (cd -- "$ROOT" && nice -n "$NICE" cargo build --release --quiet) || die "cargo build --release failed"
    fi
    for name in "${names[@]}"; do
        log "running bench-$name.sh (nice -n $NICE)"
        nice -n "$NICE" bash "$SCRIPTS/bench-$name.sh" || die "bench-$name.sh failed; nothing regenerated"
    done
fi

log "generating BENCHMARKS.md, docs/benchmarks.svg and README.md's summary"
python3 "$SCRIPTS/gen-benchmarks.py"
for svg in "$ROOT/docs/benchmarks.svg" "$ROOT/docs/benchmarks-scale.svg"; do
    [[ -f $svg ]] || continue
    python3 -c 'import sys, xml.etree.ElementTree as ET; ET.parse(sys.argv[1])' "$svg" \
        || die "${svg#"$ROOT"/} is not well-formed XML"
done
