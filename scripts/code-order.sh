#!/usr/bin/env bash
# code-order.sh — remake link/code-order.txt: the functions of the release
# binary that `files`, `checkpoint --wip`, `emergency`, its `undo` and
# `check --hook` run on a generated repository of 10,000 files, in the
# order they are first found, which build.rs hands to the linker so that
# they sit next to each other (docs/design.md, Performance: Memory).
#
#   scripts/code-order.sh            # needs valgrind, git, cargo
#
# Symbol names carry a hash of the compiler and the package's build
# settings: after a compiler update or a change to Cargo.toml, names of
# the old list no longer match and the linker leaves them out; run this
# again then (a few minutes) and commit the list.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$here")
command -v valgrind >/dev/null || { echo "code-order: valgrind is needed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

(cd "$root" && cargo build --release --locked --quiet)
bin=${CARGO_TARGET_DIR:-$root/target}/release/git-rollback-sprint
FILES_DIRS=100 FILES_PER_DIR=100 bash "$here/make-large-repo.sh" "$work/template" >/dev/null

run() {
    rm -rf -- "$work/repo"
    cp -a -- "$work/template" "$work/repo"
    git -C "$work/repo" update-index -q --refresh >/dev/null || true
    local name=$1
    shift
    valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/cg.$name" \
        "$bin" -C "$work/repo" "$@" >/dev/null 2>&1 || true
}

paths=$(git -C "$work/template" diff --name-only --diff-filter=M baseline HEAD | head -n 200)
# shellcheck disable=SC2086 # one argument a path
run files files --no-tests $paths
run checkpoint checkpoint --wip -m order
run emergency emergency --yes
valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/cg.undo" \
    "$bin" -C "$work/repo" undo --yes >/dev/null 2>&1 || true
run hook check --hook

python3 - "$work" "$root/link/code-order.txt" <<'PY'
import glob, re, sys
work, out = sys.argv[1], sys.argv[2]
names, seen = [], set()
for f in ["files", "checkpoint", "emergency", "undo", "hook"]:
    objects, functions, current = {}, {}, None
    for line in open(f"{work}/cg.{f}", errors="replace"):
        line = line.rstrip("\n")
        m = re.match(r"^(c?ob)=\((\d+)\)(?: (.*))?$", line)
        if m:
            if m.group(3):
                objects[m.group(2)] = m.group(3)
            if m.group(1) == "ob":
                current = objects.get(m.group(2))
            continue
        m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line)
        if m:
            if m.group(3):
                functions[m.group(2)] = m.group(3)
            name = functions.get(m.group(2))
            if (m.group(1) == "fn" and current and current.endswith("/git-rollback-sprint")
                    and name and name not in seen):
                seen.add(name)
                names.append(name)
open(out, "w").write("".join(n + "\n" for n in names))
print(f"code-order: {len(names)} functions in {out}")
PY
