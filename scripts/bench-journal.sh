#!/usr/bin/env bash
# bench-journal.sh — whether a long journal costs the everyday commands
# anything: `status` and `emergency --yes` timed in a small repository whose
# journal holds a handful of operations, and in the same repository with
# 10,000 operations in its journal (docs/design.md, One transaction for every
# change: the journal's cost does not grow with its length).
#
#   scripts/bench-journal.sh                 # RUNS=20
#   OPS=100000 RUNS=10 scripts/bench-journal.sh
#
# The long journal is the short one's records repeated under fresh ids
# (python3), then one real operation, which leaves `journal.checked` as
# any command would. Results: scripts/out/journal-length.md (a table) and
# scripts/out/journal-length.json (hyperfine's export).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib-bench.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib-bench.sh"

OPS=${OPS:-10000}
RUNS=${RUNS:-20}
bench_sandbox_env
ensure_hyperfine
require_tool
mkdir -p -- "$BENCH_OUT_DIR"

base=$(mktemp -d)
trap 'rm -rf -- "$base"' EXIT

# A repository with a baseline and a few real operations of each kind.
make_repo() {
    local dir=$1
    git init -q "$dir"
    git -C "$dir" config user.name 'Bench User'
    git -C "$dir" config user.email 'bench-user@example.invalid'
    printf 'one\n' >"$dir/f1"
    printf 'two\n' >"$dir/f2"
    git -C "$dir" add -A
    git -C "$dir" commit -q -m init
    git -C "$dir" tag -a -m 'known good' baseline
    printf 'sprint\n' >"$dir/f1"
    git -C "$dir" commit -q -am sprint
    "$TOOL" -C "$dir" checkpoint -m one >/dev/null
    printf 'dirty\n' >>"$dir/f2"
    "$TOOL" -C "$dir" emergency --yes >/dev/null
    "$TOOL" -C "$dir" undo >/dev/null
    "$TOOL" -C "$dir" files f1 --yes --no-tests >/dev/null
}

short=$base/short
long=$base/long
make_repo "$short"
cp -a -- "$short" "$long"
python3 - "$long/.git/rollback/journal.jsonl" "$OPS" <<'EOF'
import json, random, sys
path, want = sys.argv[1], int(sys.argv[2])
lines = open(path).read().splitlines()
records = [json.loads(l) for l in lines]
ops = {}
for r in records:
    ops.setdefault(r["id"], []).append(r)
originals = [rs for rs in ops.values() if rs[0].get("undoes") is None]
rng = random.Random(7)
out = []
for n in range(want - len(ops)):
    fresh = "%012x" % rng.getrandbits(48)
    for r in originals[n % len(originals)]:
        out.append(json.dumps(dict(r, id=fresh), separators=(",", ":")))
# The copies first, the repository's own operations last.
with open(path, "w") as f:
    f.write("\n".join(out + lines) + "\n")
EOF
# One real operation on each: it leaves journal.checked as any command does.
for dir in "$short" "$long"; do
    "$TOOL" -C "$dir" checkpoint -m ready >/dev/null
done
count() { "$TOOL" -C "$1" --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["operations"])'; }
n_short=$(count "$short")
n_long=$(count "$long")
bench_log "journal: $n_short operations ($(stat -c %s "$short/.git/rollback/journal.jsonl") bytes) vs $n_long ($(stat -c %s "$long/.git/rollback/journal.jsonl") bytes)"

export TOOL short long
# shellcheck disable=SC2016
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$BENCH_OUT_DIR/journal-length.json" \
    -n "status, $n_short operations" "$TOOL -C $short status" \
    -n "status, $n_long operations" "$TOOL -C $long status"
# shellcheck disable=SC2016
hyperfine --warmup 2 --runs "$RUNS" --export-json "$BENCH_OUT_DIR/journal-length-emergency.json" \
    --prepare "echo x >> $short/f2" -n "emergency --yes, $n_short operations" "$TOOL -C $short emergency --yes" \
    --prepare "echo x >> $long/f2" -n "emergency --yes, $n_long operations" "$TOOL -C $long emergency --yes"

python3 - "$BENCH_OUT_DIR" "$(git -C "$BENCH_REPO_ROOT" rev-parse --short HEAD)" <<'EOF'
import json, statistics, sys, time
out, rev = sys.argv[1], sys.argv[2]
rows = []
for name in ("journal-length.json", "journal-length-emergency.json"):
    for r in json.load(open(f"{out}/{name}"))["results"]:
        rows.append((r["command"], statistics.median(r["times"]) * 1000, min(r["times"]) * 1000, max(r["times"]) * 1000, len(r["times"])))
with open(f"{out}/journal-length.md", "w") as f:
    f.write("| command | median | min | max | runs |\n| --- | --- | --- | --- | --- |\n")
    for c, med, lo, hi, n in rows:
        f.write(f"| {c} | {med:.1f} ms | {lo:.1f} ms | {hi:.1f} ms | {n} |\n")
    f.write(f"\n`scripts/bench-journal.sh`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, tool at {rev}.\n")
print(open(f"{out}/journal-length.md").read())
EOF
