#!/usr/bin/env bash
# make-large-repo.sh DEST
#
# Generates, deterministically, a large git repository for benchmarking
# git-rollback-sprint at DEST (which must not exist or be empty):
#
#   * main:  FILES_DIRS x FILES_PER_DIR tracked text files (1-4 KB each) plus
#            a .gitignore ignoring `target/` and `*.log`; annotated tag
#            `baseline` on that commit.
#   * refactor/sprint-1 (HEAD): 10 commits on top of baseline that together
#            modify ~5% of the files, add ~2% (some in new directories) and
#            delete ~0.5%.
#   * a dirty work tree: ~1% of files modified but unstaged, ~0.2% with staged
#            changes (modifications, additions, deletions; some also modified
#            again after staging), ~0.5% untracked files (some in new
#            directories), an ignored target/ (~2%) and a few ignored *.log.
#   * a fresh index (stat data valid) at the end.
#
# With the defaults (FILES_DIRS=1000, FILES_PER_DIR=100) that is 100,000
# files; the sprint changes 5,000 / adds 2,000 / deletes 500, and the dirty
# tree has 1,000 unstaged, 200 staged, 500 untracked and 2,000 ignored files.
# All counts scale with FILES_DIRS*FILES_PER_DIR (never below 1).
#
# Environment knobs:
#   FILES_DIRS     number of directories          (default 1000)
#   FILES_PER_DIR  files per directory            (default 100)
#   SEED           seed for the content generator (default 20240601)
#
# Object ids are reproducible: same knobs => same commits, trees and tags.
# Git runs in a sandbox (empty global config, no system config, fixed
# identities and dates), and the repository gets a local user.name/email so
# that tools run against it later do not depend on the caller's config.
set -euo pipefail

die() { printf 'make-large-repo: %s\n' "$*" >&2; exit 1; }

if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
    sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi

DEST=$1
FILES_DIRS=${FILES_DIRS:-1000}
FILES_PER_DIR=${FILES_PER_DIR:-100}
SEED=${SEED:-20240601}

for v in FILES_DIRS FILES_PER_DIR SEED; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
(( FILES_DIRS >= 1 && FILES_PER_DIR >= 1 )) || die "FILES_DIRS and FILES_PER_DIR must be >= 1"
(( FILES_DIRS * FILES_PER_DIR >= 10 )) || die "need at least 10 files in total (FILES_DIRS*FILES_PER_DIR)"

command -v git >/dev/null || die "git not found"
command -v python3 >/dev/null || die "python3 not found"

if [[ -e $DEST ]]; then
    [[ -d $DEST ]] || die "$DEST exists and is not a directory"
    [[ -z $(ls -A -- "$DEST") ]] || die "$DEST exists and is not empty; remove it first"
fi

# --- sandbox -------------------------------------------------------------
SANDBOX=$(mktemp -d "${TMPDIR:-/tmp}/make-large-repo.XXXXXX")
trap 'rm -rf -- "$SANDBOX"' EXIT
: >"$SANDBOX/gitconfig"

# Drop anything from the caller's environment that would redirect git.
while IFS= read -r var; do
    unset "$var"
done < <(compgen -e | grep -E '^GIT_' || true)

export HOME=$SANDBOX
export XDG_CONFIG_HOME=$SANDBOX/xdg
export GIT_CONFIG_GLOBAL=$SANDBOX/gitconfig
export GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME='Bench Author'
export GIT_AUTHOR_EMAIL='bench-author@example.invalid'
export GIT_COMMITTER_NAME='Bench Committer'
export GIT_COMMITTER_EMAIL='bench-committer@example.invalid'
export GIT_AUTHOR_DATE='2024-01-01T00:00:00+0000'
export GIT_COMMITTER_DATE='2024-01-01T00:00:00+0000'
export LC_ALL=C TZ=UTC

start_ns=$(date +%s%N)

mkdir -p -- "$DEST"
DEST=$(cd -- "$DEST" && pwd -P)
git init -q -b main "$DEST"
git -C "$DEST" config user.name 'Bench User'
git -C "$DEST" config user.email 'bench-user@example.invalid'
# No background/auto gc in the middle of a timed run.
git -C "$DEST" config gc.auto 0
git -C "$DEST" config maintenance.auto false

STATS=$SANDBOX/stats.sh

# --- history + checkout + dirty work tree (python drives git) ---------------
python3 - "$DEST" "$FILES_DIRS" "$FILES_PER_DIR" "$SEED" "$STATS" <<'PY'
import os
import random
import subprocess
import sys

dest, ndirs, nper, seed, stats_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rng = random.Random(seed)
N = ndirs * nper


def scaled(frac):
    return max(1, round(N * frac))


n_modify = scaled(0.05)
n_add = scaled(0.02)
n_delete = scaled(0.005)
n_dirty = scaled(0.01)
n_staged = scaled(0.002)
n_untracked = scaled(0.005)
n_ignored = scaled(0.02)
n_logs = scaled(0.00005)
N_COMMITS = 10

if n_modify + n_delete > N:
    n_delete = max(1, N - n_modify)
    n_modify = N - n_delete

# ---------------------------------------------------------------- content
LETTERS = "abcdefghijklmnopqrstuvwxyz"
words = ["".join(rng.choices(LETTERS, k=rng.randint(2, 9))) for _ in range(3000)]
types = [w.capitalize() for w in words[:300]]


def make_line():
    ind = " " * (4 * rng.randint(0, 3))
    w = rng.choice
    kind = rng.randrange(8)
    if kind == 0:
        return f"{ind}let {w(words)}_{w(words)} = {w(words)}({w(words)}, {w(words)});\n"
    if kind == 1:
        return f"{ind}// {' '.join(rng.choices(words, k=rng.randint(3, 9)))}\n"
    if kind == 2:
        return f"{ind}fn {w(words)}_{w(words)}(&self, {w(words)}: {w(types)}) -> {w(types)} {{\n"
    if kind == 3:
        return f"{ind}if {w(words)} > {rng.randint(0, 9999)} {{ return {w(words)}; }}\n"
    if kind == 4:
        return f"{ind}}}\n"
    if kind == 5:
        return f"{ind}{w(words)}.{w(words)}({rng.randint(0, 999)});\n"
    if kind == 6:
        return f"{ind}match {w(words)} {{ {w(types)}::{w(types)} => {w(words)}(), _ => {{}} }}\n"
    return f"{ind}self.{w(words)} = {w(types)}::new({w(words)}, {rng.randint(0, 99)});\n"


pool = [make_line() for _ in range(30000)]


def make_content(path, size=None):
    if size is None:
        size = rng.randint(1024, 4000)
    parts = [f"// {path}\n"]
    total = len(parts[0])
    while total < size:
        for line in rng.choices(pool, k=16):
            parts.append(line)
            total += len(line)
            if total >= size:
                break
    return "".join(parts).encode()


def modify(data, tag):
    lines = data.decode().splitlines(keepends=True)
    for _ in range(rng.randint(1, 4)):
        lines[rng.randrange(len(lines))] = rng.choice(pool)
    lines.insert(rng.randrange(1, len(lines) + 1), f"// {tag}\n")
    return "".join(lines).encode()


# ---------------------------------------------------------------- layout
EXTS = ["rs", "py", "ts", "go", "md"]
dirs = [f"g{i // 100:02d}/d{i:04d}" for i in range(ndirs)]
dir_ext = {d: EXTS[i % len(EXTS)] for i, d in enumerate(dirs)}
groups = sorted({d.split("/")[0] for d in dirs})
GITIGNORE = b"target/\n*.log\n"

# ---------------------------------------------------------------- fast-import
AUTHOR = "Bench Author <bench-author@example.invalid>"
COMMITTER = "Bench Committer <bench-committer@example.invalid>"
T0 = 1704067200  # 2024-01-01T00:00:00Z

fi = subprocess.Popen(["git", "-C", dest, "fast-import", "--quiet"], stdin=subprocess.PIPE)
buf = []
buf_len = 0


def out(b):
    global buf_len
    buf.append(b)
    buf_len += len(b)
    if buf_len > (8 << 20):
        flush()


def flush():
    global buf, buf_len
    fi.stdin.write(b"".join(buf))
    buf, buf_len = [], 0


def data(b):
    out(b"data %d\n" % len(b))
    out(b)
    out(b"\n")


def commit_header(ref, mark, when, msg, parent=None):
    out(f"commit {ref}\nmark :{mark}\n".encode())
    out(f"author {AUTHOR} {when} +0000\ncommitter {COMMITTER} {when} +0000\n".encode())
    data(msg.encode())
    if parent is not None:
        out(f"from :{parent}\n".encode())


def put(path, content):
    out(f"M 100644 inline {path}\n".encode())
    data(content)


out(b"feature done\n")

# baseline
cur = {}
commit_header("refs/heads/main", 1, T0,
              f"baseline: {N} files in {ndirs} directories\n")
put(".gitignore", GITIGNORE)
for d in dirs:
    ext = dir_ext[d]
    for j in range(nper):
        p = f"{d}/file{j:03d}.{ext}"
        c = make_content(p)
        cur[p] = c
        put(p, c)
out(b"\n")
out(f"tag baseline\nfrom :1\ntagger {COMMITTER} {T0 + 60} +0000\n".encode())
data(b"baseline: last known-good state before sprint 1\n")

# the failed sprint
base_paths = list(cur)
chosen = rng.sample(base_paths, n_modify + n_delete)
to_modify, to_delete = chosen[:n_modify], chosen[n_modify:]
n_add_newdirs = (n_add * 30) // 100
n_feature_dirs = -(-n_add_newdirs // 20) if n_add_newdirs else 0
adds = []
for k in range(n_add_newdirs):
    fd = k % n_feature_dirs
    p = f"{groups[fd % len(groups)]}/sprint_feature{fd:03d}/new{k:05d}.rs"
    adds.append(p)
for k in range(n_add - n_add_newdirs):
    d = rng.choice(dirs)
    adds.append(f"{d}/added{k:05d}.{dir_ext[d]}")
rng.shuffle(adds)

plan = [([], [], []) for _ in range(N_COMMITS)]
for i, p in enumerate(to_modify):
    plan[i % N_COMMITS][0].append(p)
for i, p in enumerate(adds):
    plan[i % N_COMMITS][1].append(p)
for i, p in enumerate(to_delete):
    plan[(i * 7 + 3) % N_COMMITS][2].append(p)

parent = 1
for c, (mods, news, dels) in enumerate(plan):
    mark = 2 + c
    step = c + 1
    commit_header("refs/heads/refactor/sprint-1", mark, T0 + 3600 * step,
                  f"sprint-1 step {step}/{N_COMMITS}: refactor "
                  f"({len(mods)} changed, {len(news)} added, {len(dels)} removed)\n",
                  parent)
    for p in mods:
        cur[p] = modify(cur[p], f"sprint-1 step {step}")
        put(p, cur[p])
    for p in news:
        cur[p] = make_content(p)
        put(p, cur[p])
    for p in dels:
        del cur[p]
        out(f"D {p}\n".encode())
    out(b"\n")
    parent = mark

out(b"done\n")
flush()
fi.stdin.close()
if fi.wait() != 0:
    sys.exit("git fast-import failed")

# ---------------------------------------------------------------- checkout
subprocess.run(["git", "-C", dest, "checkout", "-q", "-f", "refactor/sprint-1"], check=True)


def write(path, content):
    full = os.path.join(dest, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(content)


# ---------------------------------------------------------------- dirty tree
tracked = sorted(cur)
n_staged_add = (n_staged * 25) // 200
n_staged_del = (n_staged * 15) // 200
n_staged_mod = n_staged - n_staged_add - n_staged_del
n_mm = n_staged_mod // 8
picked = rng.sample(tracked, n_dirty + n_staged_mod + n_staged_del)
dirty = picked[:n_dirty]
staged_mod = picked[n_dirty:n_dirty + n_staged_mod]
staged_del = picked[n_dirty + n_staged_mod:]

# 1. staged changes
staged_paths = []
for p in staged_mod:
    cur[p] = modify(cur[p], "wip: staged")
    write(p, cur[p])
    staged_paths.append(p)
for k in range(n_staged_add):
    d = rng.choice(dirs)
    p = f"{d}/wip_staged{k:04d}.{dir_ext[d]}"
    write(p, make_content(p))
    staged_paths.append(p)
for p in staged_del:
    os.remove(os.path.join(dest, p))
    staged_paths.append(p)
subprocess.run(["git", "-C", dest, "update-index", "--add", "--remove", "-z", "--stdin"],
               input=b"".join(p.encode() + b"\0" for p in staged_paths), check=True)

# 2. some staged files are edited again (status MM)
for p in staged_mod[:n_mm]:
    write(p, modify(cur[p], "wip: edited after staging"))

# 3. unstaged modifications
for p in dirty:
    write(p, modify(cur[p], "wip: unstaged"))

# 4. untracked files, some in new directories
n_untracked_newdirs_files = (n_untracked * 30) // 100
if n_untracked >= 2:
    n_untracked_newdirs_files = max(1, n_untracked_newdirs_files)
n_untracked_dirs = -(-n_untracked_newdirs_files // 10) if n_untracked_newdirs_files else 0
for k in range(n_untracked_newdirs_files):
    sd = k % n_untracked_dirs
    parent_dir = dirs[(sd * 7919) % len(dirs)]
    sub = "deep/" if k % 3 == 0 else ""
    p = f"{parent_dir}/scratch{sd:03d}/{sub}note{k:04d}.md"
    write(p, make_content(p, rng.randint(200, 2000)))
for k in range(n_untracked - n_untracked_newdirs_files):
    d = rng.choice(dirs)
    p = f"{d}/untracked{k:04d}.{dir_ext[d]}"
    write(p, make_content(p))

# 5. ignored files: target/ and *.log
for k in range(n_ignored):
    profile = "debug" if k % 3 else "release"
    p = f"target/{profile}/build/unit{k // 100:03d}/obj{k:05d}.o"
    write(p, rng.randbytes(rng.randint(512, 8192)))
for k in range(n_logs):
    p = "build.log" if k == 0 else f"{rng.choice(dirs)}/run{k:03d}.log"
    write(p, make_content(p, 800))

with open(stats_path, "w") as f:
    f.write(f"""\
N_FILES={N}
N_COMMITS={N_COMMITS}
N_MODIFY={n_modify}
N_ADD={n_add}
N_ADD_NEWDIRS={n_feature_dirs}
N_DELETE={n_delete}
N_DIRTY={n_dirty}
N_STAGED={n_staged}
N_STAGED_MOD={n_staged_mod}
N_STAGED_ADD={n_staged_add}
N_STAGED_DEL={n_staged_del}
N_MM={n_mm}
N_UNTRACKED={n_untracked}
N_UNTRACKED_NEWDIRS={n_untracked_dirs}
N_IGNORED={n_ignored}
N_LOGS={n_logs}
N_TRACKED_HEAD={len(tracked)}
""")
PY

# --- fresh index ---------------------------------------------------------------
# Wait until the clock has moved past every file write, so that no index
# entry is "racily clean", then rewrite the index with valid stat data.
sleep 1.1
git -C "$DEST" update-index -q --refresh --force-write-index || true

# --- verification ----------------------------------------------------------------
# shellcheck source=/dev/null
source "$STATS"
declare -A got=()
while IFS= read -r -d '' entry; do
    code=${entry:0:2}
    got[$code]=$(( ${got[$code]:-0} + 1 ))
done < <(git -C "$DEST" status --porcelain=v1 -z --untracked-files=all --no-renames)

check() {  # check LABEL EXPECTED ACTUAL
    [[ $2 -eq $3 ]] || die "verification failed: $1: expected $2, got $3"
}
check "unstaged modified ( M)" "$N_DIRTY" "${got[' M']:-0}"
check "staged modified (M )" "$(( N_STAGED_MOD - N_MM ))" "${got['M ']:-0}"
check "staged+unstaged (MM)" "$N_MM" "${got['MM']:-0}"
check "staged added (A )" "$N_STAGED_ADD" "${got['A ']:-0}"
check "staged deleted (D )" "$N_STAGED_DEL" "${got['D ']:-0}"
check "untracked (??)" "$N_UNTRACKED" "${got['??']:-0}"
total=0
for code in "${!got[@]}"; do total=$(( total + got[$code] )); done
check "total status entries" "$(( N_DIRTY + N_STAGED + N_UNTRACKED ))" "$total"
porcelain_lines=$(git -C "$DEST" status --porcelain | wc -l)
n_ignored_found=$(find "$DEST/target" -type f | wc -l)
check "ignored files under target/" "$N_IGNORED" "$n_ignored_found"

# The status above may have touched the index; make sure it is fresh again.
git -C "$DEST" update-index -q --refresh || true

elapsed_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
head=$(git -C "$DEST" rev-parse --short HEAD)
base=$(git -C "$DEST" rev-parse --short 'baseline^{commit}')
printf 'make-large-repo: %s: %d files in %d dirs on main (tag baseline=%s); refactor/sprint-1=%s (HEAD): %d commits, %d modified, %d added, %d deleted; dirty: %d unstaged, %d staged (%d also unstaged), %d untracked, %d ignored in target/ + %d *.log; status --porcelain: %d lines; %d.%03d s\n' \
    "$DEST" "$N_FILES" "$FILES_DIRS" "$base" "$head" "$N_COMMITS" "$N_MODIFY" "$N_ADD" "$N_DELETE" \
    "$N_DIRTY" "$N_STAGED" "$N_MM" "$N_UNTRACKED" "$N_IGNORED" "$N_LOGS" "$porcelain_lines" \
    $(( elapsed_ms / 1000 )) $(( elapsed_ms % 1000 ))
