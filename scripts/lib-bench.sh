# shellcheck shell=bash
# lib-bench.sh — shared functions for the bench-*.sh scripts. Source it:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib-bench.sh"
#
# Environment (all optional):
#   TOOL           tool binary   (default: <repo>/target/release/git-rollback-sprint)
#   RUNS           hyperfine runs per command (default 5)
#   ONLY           both | git | tool — which side(s) to time (default both)
#   BENCH_DATA     scratch area outside the repo (default /work/bench-data)
#   FILES_DIRS, FILES_PER_DIR
#                  size of the generated repository (defaults 1000 x 100); a
#                  non-default size gets its own template directory
#   TEMPLATE       template repository (default $BENCH_DATA/template, or
#                  $BENCH_DATA/template-<dirs>x<files> for non-default sizes)
#   WORK           the copy each run works in (default $BENCH_DATA/work)
#   PREFLIGHT      1 (default): run each side once, with its output shown and
#                  the resulting repository state recorded, before timing
#   SYNC           1 (default): `sync` after each copy so that write-back of
#                  the copy does not land in the timed run
#   INTERLEAVE     1 (default): with both sides, alternate git and tool run by
#                  run (one hyperfine call per round); 0: one hyperfine call
#   FLOOR          1 (default): where a bench script gives one, also time the
#                  floor (scripts/floor.c: only the lstat walk and the file
#                  writes and removals the operation must do), unless ONLY=git;
#                  0: leave it out
#   SETTLE         seconds to wait, after old copies were deleted, before the
#                  next timed run (default 65; 0: do not wait). On an ext4
#                  without a journal, as this machine's, a new inode skips
#                  every inode freed in the last 60 seconds (longer while
#                  their inode table is unwritten): after a 100k-file copy
#                  was deleted, whatever creates many files or folders runs
#                  slower for a minute (see BENCHMARKS.md, "The machine")
#   PEAK_MEMORY    0 (default); 1: also record each timed run's peak resident
#                  memory (GNU time's %M: the largest maximum RSS among the
#                  processes the command ran and waited for), which adds
#                  GNU time and a second bash to every timed run, alike on
#                  both sides
#
# Results: scripts/out/results.md (markdown rows), scripts/out/<name>.json
# (hyperfine export), scripts/out/<name>.meta.json (what was run, when, on
# which repository and with which tool commit and git; read by
# gen-benchmarks.py) and scripts/out/<name>.state.txt (state after preflight).

# Not `set -euo pipefail` here: the caller sets its own options; the functions
# below are also run by hyperfine's bash, where they check errors themselves.

BENCH_SCRIPTS_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
BENCH_REPO_ROOT=$(git -C "$BENCH_SCRIPTS_DIR" rev-parse --show-toplevel 2>/dev/null \
    || dirname -- "$BENCH_SCRIPTS_DIR")

export BENCH_DATA=${BENCH_DATA:-/work/bench-data}
export RUNS=${RUNS:-5}
export ONLY=${ONLY:-both}
export TOOL=${TOOL:-$BENCH_REPO_ROOT/target/release/git-rollback-sprint}
# bench_set_size DIRS PER_DIR: the generated repository's size, and its
# template (the default 1000 x 100 shares $BENCH_DATA/template).
bench_set_size() {
    export FILES_DIRS=$1 FILES_PER_DIR=$2
    if [[ $FILES_DIRS == 1000 && $FILES_PER_DIR == 100 ]]; then
        export TEMPLATE=$BENCH_DATA/template
    else
        export TEMPLATE=$BENCH_DATA/template-${FILES_DIRS}x${FILES_PER_DIR}
    fi
}
bench_given_template=${TEMPLATE:-}
bench_set_size "${FILES_DIRS:-1000}" "${FILES_PER_DIR:-100}"
if [[ -n $bench_given_template ]]; then export TEMPLATE=$bench_given_template; fi
export WORK=${WORK:-$BENCH_DATA/work}
export BENCH_TRASH=$BENCH_DATA/trash
export PREFLIGHT=${PREFLIGHT:-1}
export FLOOR=${FLOOR:-1}
export SYNC=${SYNC:-1}
export PEAK_MEMORY=${PEAK_MEMORY:-0}
BENCH_OUT_DIR=${BENCH_OUT_DIR:-$BENCH_SCRIPTS_DIR/out}
BENCH_RESULTS=$BENCH_OUT_DIR/results.md
BENCH_GENERATOR=$BENCH_SCRIPTS_DIR/make-large-repo.sh

bench_die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }
bench_log() { printf '==> %s\n' "$*" >&2; }

case $ONLY in
    both | git | tool) ;;
    *) bench_die "ONLY must be both, git or tool (got '$ONLY')" ;;
esac
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || bench_die "RUNS must be a positive integer (got '$RUNS')"
[[ $FLOOR == [01] ]] || bench_die "FLOOR must be 0 or 1 (got '$FLOOR')"
[[ $PEAK_MEMORY == [01] ]] || bench_die "PEAK_MEMORY must be 0 or 1 (got '$PEAK_MEMORY')"
if [[ $PEAK_MEMORY == 1 && ! -x /usr/bin/time ]]; then
    bench_die "PEAK_MEMORY=1 needs GNU time at /usr/bin/time: apt-get install time"
fi

# The same, empty git configuration for git and the tool (libgit2 reads
# $HOME/.gitconfig, git also honours GIT_CONFIG_GLOBAL), so that neither side
# picks up the caller's settings (fsmonitor, untracked cache, hooks path, …).
# Identity comes from the generated repository's own config.
bench_sandbox_env() {
    local home=$BENCH_DATA/home
    mkdir -p -- "$home/xdg"
    : >"$home/.gitconfig"
    export HOME=$home XDG_CONFIG_HOME=$home/xdg
    export GIT_CONFIG_GLOBAL=$home/.gitconfig GIT_CONFIG_NOSYSTEM=1
    export LC_ALL=C
    local var
    while IFS= read -r var; do
        case $var in
            GIT_CONFIG_GLOBAL | GIT_CONFIG_NOSYSTEM) ;;
            *) unset "$var" ;;
        esac
    done < <(compgen -e | grep -E '^GIT_' || true)
}

# ensure_hyperfine: install Debian's hyperfine if it is missing.
ensure_hyperfine() {
    command -v hyperfine >/dev/null 2>&1 && return 0
    bench_log "installing hyperfine (Debian package)"
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || bench_die "hyperfine is missing and we are not root: apt-get install hyperfine"
        sudo=(sudo)
    fi
    if ! { "${sudo[@]}" apt-get update -qq >/dev/null \
        && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }; then
        bench_die "could not install hyperfine with apt-get"
    fi
    command -v hyperfine >/dev/null 2>&1 || bench_die "hyperfine still not found after apt-get install"
}

# require_tool: fail clearly unless the tool binary exists (skipped for ONLY=git).
require_tool() {
    [[ $ONLY == git ]] && return 0
    if [[ ! -x $TOOL ]]; then
        bench_die "tool binary not found or not executable: $TOOL
  build it first:  cargo build --release   (in $BENCH_REPO_ROOT)
  or point TOOL=/path/to/git-rollback-sprint at one,
  or time only the git side:  ONLY=git ${0##*/}"
    fi
}

# Checksum that identifies a template: the generator's bytes plus its knobs.
bench_template_sum() {
    { cat -- "$BENCH_GENERATOR"; printf 'FILES_DIRS=%s FILES_PER_DIR=%s SEED=%s\n' \
        "$FILES_DIRS" "$FILES_PER_DIR" "${SEED:-default}"; } | sha256sum | cut -d' ' -f1
}

# template_repo: build the benchmark repository once at $TEMPLATE, unless it
# exists and its stamp ($TEMPLATE.stamp, beside it so that it is not copied
# into the work copies) matches the generator's checksum.
template_repo() {
    local sum stamp=$TEMPLATE.stamp
    # A template made by another script (make-real-repo.sh): used as it is.
    if [[ ${BENCH_TEMPLATE_READY:-0} == 1 ]]; then
        [[ -d $TEMPLATE ]] || bench_die "no template at $TEMPLATE"
        bench_log "template made elsewhere: $TEMPLATE"
        return 0
    fi
    sum=$(bench_template_sum)
    if [[ -d $TEMPLATE && -f $stamp && $(<"$stamp") == "$sum" ]]; then
        bench_log "template up to date: $TEMPLATE"
        return 0
    fi
    bench_log "building template repository $TEMPLATE (${FILES_DIRS}x${FILES_PER_DIR} files)"
    rm -f -- "$stamp"
    bench_discard "$TEMPLATE"
    bench_discard "$TEMPLATE.tmp"
    bash "$BENCH_GENERATOR" "$TEMPLATE.tmp" || bench_die "make-large-repo.sh failed"
    mv -- "$TEMPLATE.tmp" "$TEMPLATE"
    printf '%s\n' "$sum" >"$stamp"
}

# bench_discard DIR: get DIR out of the way at once. Deleting 100k files takes
# several seconds on this filesystem, so DIR is renamed into $BENCH_TRASH and
# really deleted by bench_empty_trash, outside the timed runs.
bench_discard() {
    [[ -e $1 ]] || return 0
    mkdir -p -- "$BENCH_TRASH" || return 1
    mv -- "$1" "$(mktemp -d "$BENCH_TRASH/XXXXXXXX")/" || rm -rf -- "$1"
}

bench_empty_trash() {
    [[ -d $BENCH_TRASH ]] || return 0
    # An empty trash deletes nothing: no reason for the next run to wait.
    if [[ -z $(ls -A -- "$BENCH_TRASH") ]]; then
        rmdir -- "$BENCH_TRASH" 2>/dev/null || true
        return 0
    fi
    bench_log "deleting old copies in $BENCH_TRASH"
    # Another benchmark may be emptying it at the same moment: a second
    # attempt, then a warning, never a failed run.
    rm -rf -- "$BENCH_TRASH" 2>/dev/null || rm -rf -- "$BENCH_TRASH" \
        || bench_log "warning: could not empty $BENCH_TRASH"
    touch -- "$BENCH_DATA/.deleted"
}

# bench_settle: before timing, let the inodes the last deletion freed stop
# counting as recently deleted (SETTLE above): their inode tables written
# out, then the rest of SETTLE seconds since that deletion waited.
bench_settle() {
    local settle=${SETTLE:-65} since
    [[ $settle -gt 0 && -e $BENCH_DATA/.deleted ]] || return 0
    since=$(( $(date +%s) - $(stat -c %Y -- "$BENCH_DATA/.deleted") ))
    (( since < settle )) || return 0
    sync
    bench_log "waiting $(( settle - since )) s: files deleted $since s ago still slow down new ones"
    sleep $(( settle - since ))
}

# fresh_copy SRC DST: DST becomes an identical copy of SRC, with a valid index.
# `cp -a` keeps contents and mtimes but not ctimes or inode numbers, so every
# index entry would look stat-dirty and the first command to read the index
# (git or the tool) would re-hash all files; `update-index --refresh` restores
# valid stat data, as in the user's own repository, before anything is timed.
fresh_copy() {
    local src=$1 dst=$2
    [[ -d $src ]] || { echo "fresh_copy: no such directory: $src" >&2; return 1; }
    bench_discard "$dst" || return 1
    cp -a -- "$src" "$dst" || return 1
    git -C "$dst" update-index -q --refresh >/dev/null || true
    if [[ $SYNC == 1 ]]; then sync; fi
}

# bench_state DIR: a short description of a repository's state.
bench_state() {
    local dir=$1
    git -C "$dir" --no-optional-locks -c core.quotePath=false status --porcelain=v1 \
        --untracked-files=all --no-renames 2>/dev/null \
        | cut -c1-2 | sort | uniq -c \
        | awk '{ printf "%s[%s]=%d", sep, substr($0, length($0) - 1), $1; sep = " " } END { print "" }' \
        | sed 's/^/  status: /'
    printf '  HEAD: %s %s\n' "$(git -C "$dir" symbolic-ref -q HEAD || echo detached)" \
        "$(git -C "$dir" rev-parse --short HEAD)"
    printf '  baseline: %s\n' "$(git -C "$dir" rev-parse --short 'baseline^{commit}' 2>/dev/null || echo -)"
    printf '  stash entries: %s\n' "$(git -C "$dir" stash list | wc -l)"
    printf '  refs (not main/sprint/baseline): %s\n' "$(git -C "$dir" for-each-ref \
        --format='%(refname:short)' | grep -v -x -E 'main|refactor/sprint-1|baseline' | tr '\n' ' ')"
    printf '  files in target/: %s\n' "$(find "$dir/target" -type f 2>/dev/null | wc -l)"
}

# bench_rss SIDE CMD: run CMD, appending its peak resident memory in KiB to
# $BENCH_RSS_DIR/SIDE. GNU time reports the child's maximum RSS from wait4(),
# which on Linux is the largest among the child and every descendant it
# waited for: for a sequence of git commands, that of the largest of them.
bench_rss() {
    exec /usr/bin/time -f %M -a -o "$BENCH_RSS_DIR/$1" bash -c "$2"
}

export -f bench_discard fresh_copy bench_rss

# The operations timed on the generated repository, and the git command lines
# each is compared with, shared by bench-emergency.sh, bench-sprint.sh,
# bench-files.sh, bench-foundation.sh and bench-scale.sh (which times them at
# several sizes). Run by hyperfine's bash, which expands the exported
# variables: single quotes are intended. OLD_HEAD, PATHS_FILE and DIRS_FILE
# come from bench_operation_inputs. (Used by the scripts that source this.)
# shellcheck disable=SC2016,SC2034
{
    BENCH_COPY='fresh_copy "$TEMPLATE" "$WORK"'
    # Level 1: stash everything incl. untracked, hard reset to baseline,
    # remove leftovers; its undo: back to the old HEAD, then re-apply the
    # stash with its index.
    GIT_EMERGENCY='cd "$WORK" && git stash push -u -q && git reset -q --hard baseline && git clean -fdq'
    GIT_EMERGENCY_UNDO='cd "$WORK" && git reset -q --hard "$OLD_HEAD" && git stash pop -q --index'
    TOOL_EMERGENCY='"$TOOL" -C "$WORK" emergency --yes'
    TOOL_UNDO='"$TOOL" -C "$WORK" undo'
    # Level 2: the runbook's shell sequence.
    GIT_SPRINT='cd "$WORK" && git add -A && git commit -q -m "WIP: Sprint 1 before rollback" && git branch backup/sprint-1-bench && git checkout -q baseline && git checkout -q -b refactor/sprint-1-retry'
    TOOL_SPRINT='"$TOOL" -C "$WORK" sprint rollback 1 --no-tests >/dev/null'
    # The same sequence with what the tool's failure report holds beside
    # it: the commits since the baseline and the diff stat of the whole
    # work tree against it (`changes.txt`), written outside the work tree.
    # Context for the row above, not its goal (bench-real.sh).
    GIT_SPRINT_REPORT='cd "$WORK" && git add -A && git log --oneline baseline..HEAD >"$WORK.log.txt" && git diff --cached --stat -M baseline >"$WORK.changes.txt" && git commit -q -m "WIP: Sprint 1 before rollback" && git branch backup/sprint-1-bench && git checkout -q baseline && git checkout -q -b refactor/sprint-1-retry'
    # Level 3: 200 files the failed sprint changed, and 200 directories
    # holding such files.
    GIT_FILES='cd "$WORK" && xargs -a "$PATHS_FILE" git checkout -q baseline --'
    TOOL_FILES='xargs -a "$PATHS_FILE" "$TOOL" -C "$WORK" files --no-tests >/dev/null 2>&1'
    GIT_DIRS='cd "$WORK" && xargs -a "$DIRS_FILE" git checkout -q baseline --'
    TOOL_DIRS='xargs -a "$DIRS_FILE" "$TOOL" -C "$WORK" files --no-tests >/dev/null 2>&1'
    # `checkpoint --wip`: a commit of the whole working tree, untracked files
    # included, with HEAD as parent, tagged; the work tree and the real index
    # are not touched (git add -A works on a copy of the index).
    GIT_WIP_CHECKPOINT='cd "$WORK" || exit 1
export GIT_INDEX_FILE="$(mktemp)"
cp .git/index "$GIT_INDEX_FILE" && git add -A && t=$(git write-tree) && c=$(git commit-tree "$t" -p HEAD -m wip) && git tag -a -m wip checkpoint-x "$c"
rc=$?; rm -f "$GIT_INDEX_FILE"; exit "$rc"'
    TOOL_CHECKPOINT='"$TOOL" -C "$WORK" checkpoint --wip'
    GIT_CHECKPOINT_UNDO='git -C "$WORK" tag -d checkpoint-x >/dev/null'
}

# bench_operation_inputs: what the commands above read from the template:
# OLD_HEAD (HEAD before the rollback, the same in every copy), and the 200
# paths and 200 directories of `files` (beside the template, as its stamp).
bench_operation_inputs() {
    OLD_HEAD=$(git -C "$TEMPLATE" rev-parse --verify HEAD) || bench_die "no HEAD in $TEMPLATE"
    PATHS_FILE=$TEMPLATE.files-200.txt
    DIRS_FILE=$TEMPLATE.files-200-dirs.txt
    git -C "$TEMPLATE" diff --name-only --diff-filter=M baseline HEAD >"$PATHS_FILE.all" \
        || bench_die "could not list the files the sprint changed in $TEMPLATE"
    head -n 200 "$PATHS_FILE.all" >"$PATHS_FILE"
    sed -n 's,/[^/]*$,,p' "$PATHS_FILE.all" | sort -u | sed -n '1,200p' >"$DIRS_FILE"
    export OLD_HEAD PATHS_FILE DIRS_FILE
}

bench_slug() { printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '-' | tr -s '-' | sed 's/^-//; s/-$//'; }

# bench_results_header TITLE: start a new table in results.md for this run.
bench_results_header() {
    mkdir -p -- "$BENCH_OUT_DIR"
    local tool_version=-
    if [[ $ONLY != git && -x $TOOL ]]; then
        tool_version=$(git -C "$BENCH_REPO_ROOT" describe --always --dirty 2>/dev/null || echo '?')
    fi
    {
        printf '\n### %s — %s\n\n' "$1" "$(date -u '+%Y-%m-%d %H:%M UTC')"
        printf 'RUNS=%s, ONLY=%s, repository %sx%s files, git %s, tool %s (%s), %s cores\n\n' \
            "$RUNS" "$ONLY" "$FILES_DIRS" "$FILES_PER_DIR" "$(git --version | cut -d' ' -f3)" \
            "$TOOL" "$tool_version" "$(nproc)"
        printf '| benchmark | git median | tool median | ratio tool/git |\n'
        printf '| --- | --- | --- | --- |\n'
    } >>"$BENCH_RESULTS"
}

# bench_write_meta JSON NAME TOOL_CMD GIT_CMD [FLOOR_CMD]: record beside JSON
# (as <name>.meta.json) what produced it, so that BENCHMARKS.md can say which
# run each number comes from and refuse numbers from a smaller smoke-test
# repository.
bench_write_meta() {
    local json=$1 name=$2 tool_cmd=$3 git_cmd=$4 floor_cmd=${5:-} tool_commit=-
    if [[ $ONLY != git ]]; then
        tool_commit=$(git -C "$BENCH_REPO_ROOT" describe --always --dirty 2>/dev/null || echo '?')
    fi
    python3 - "${json%.json}.meta.json" "$name" "${0##*/}" "$RUNS" "$ONLY" \
        "${FILES_DIRS}x${FILES_PER_DIR}" "$(git --version | cut -d' ' -f3)" \
        "$tool_commit" "$TOOL" "$tool_cmd" "$git_cmd" "$(nproc)" "$floor_cmd" <<'PY' \
        || bench_die "could not write the record of $json"
import json, sys, time
(out, name, script, runs, only, size, git, commit, tool, tool_cmd, git_cmd,
 cores, floor_cmd) = sys.argv[1:]
commands = {"tool": tool_cmd, "git": git_cmd}
if floor_cmd:
    commands["floor"] = floor_cmd
json.dump({
    "name": name, "script": script,
    "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    "runs": int(runs), "only": only, "repository": size, "git": git,
    "tool_commit": commit, "tool": tool, "cores": int(cores),
    "commands": commands,
}, open(out, "w"), indent=2)
PY
}

# bench_warm JSON NAME WARMUP GIT_CMD TOOL_CMD: time both commands where
# they stand (no fresh copy between runs: the warm-cache benchmarks), the
# hyperfine export in JSON (results named "git" and "tool") and its record
# beside it.
bench_warm() {
    local json=$1 name=$2 warmup=$3 git_cmd=$4 tool_cmd=$5
    rm -f -- "$json" "${json%.json}.meta.json"
    hyperfine -N --warmup "$warmup" --runs "$RUNS" --export-json "$json" \
        -n git "bash -c '$git_cmd'" -n tool "bash -c '$tool_cmd'" >&2 \
        || bench_die "hyperfine failed"
    bench_write_meta "$json" "$name" "$tool_cmd" "$git_cmd"
}

# bench_preflight NAME SIDE PREPARE CMD: run one side once, showing its output,
# and record the resulting state; a failure here stops the script with the
# command's own error message instead of hyperfine's bare exit code.
bench_preflight() {
    local name=$1 side=$2 prepare=$3 cmd=$4 state=$5
    bench_log "preflight ($side): $name"
    bash -c "$prepare" >/dev/null || bench_die "preflight ($side) of '$name': prepare command failed: $prepare"
    if ! bash -c "$cmd"; then
        bench_die "preflight ($side) of '$name': command failed: $cmd"
    fi
    { printf '%s after one run:\n' "$side"; bench_state "$WORK"; } >>"$state"
}

# bench_hyperfine_quiet LABEL ARGS...: hyperfine with its output kept in a log,
# shown only on failure; its warning about commands under 5 ms (where the
# shell start-up correction is imprecise) is reported once per benchmark.
bench_hyperfine_quiet() {
    local label=$1 log
    shift
    log=$(mktemp)
    if ! hyperfine "$@" >"$log" 2>&1; then
        cat -- "$log" >&2
        rm -f -- "$log"
        bench_die "hyperfine failed for '$label'"
    fi
    if grep -q 'less than 5 ms' "$log" && [[ $BENCH_WARNED_5MS != "${label% (round*}" ]]; then
        BENCH_WARNED_5MS=${label% (round*}
        bench_log "note: a command took < 5 ms; hyperfine's shell start-up correction is imprecise there"
    fi
    rm -f -- "$log"
}
BENCH_WARNED_5MS=

# bench_floor_setup: for a bench script that times the floor, compile
# scripts/floor.c into $BENCH_DATA/floor/ and plan there, untimed and with
# the git command line, the changes to the files that a rollback of a fresh
# copy of the template to its baseline makes, and those its undo makes
# (scripts/floor-plan.py: to-target.* and from-target.*). Exports FLOOR_DIR.
# With FLOOR=0 or ONLY=git it does nothing and sets FLOOR=0.
bench_floor_setup() {
    if [[ $FLOOR != 1 || $ONLY == git ]]; then
        FLOOR=0
        return 0
    fi
    command -v cc >/dev/null 2>&1 \
        || bench_die "no C compiler (cc) for scripts/floor.c: install one, or run FLOOR=0 ${0##*/}"
    export FLOOR_DIR=$BENCH_DATA/floor
    mkdir -p -- "$FLOOR_DIR"
    cc -O2 -pthread -o "$FLOOR_DIR/floor" "$BENCH_SCRIPTS_DIR/floor.c" \
        || bench_die "could not compile scripts/floor.c"
    bench_log "floor: planning the changes to the files on a copy of $TEMPLATE"
    fresh_copy "$TEMPLATE" "$FLOOR_DIR/plan-copy" || bench_die "could not copy $TEMPLATE"
    python3 "$BENCH_SCRIPTS_DIR/floor-plan.py" "$FLOOR_DIR/plan-copy" "$FLOOR_DIR" \
        || bench_die "scripts/floor-plan.py failed"
    bench_discard "$FLOOR_DIR/plan-copy"
}

# bench_manifest DIR: every directory, file and symlink of DIR's work tree
# with its content (scripts/floor-plan.py --manifest).
bench_manifest() {
    python3 "$BENCH_SCRIPTS_DIR/floor-plan.py" --manifest "$1"
}

# bench_pair NAME PREPARE_CMD TOOL_CMD GIT_CMD [GIT_PREPARE_CMD] [FLOOR_CMD]
#
# Times GIT_CMD and TOOL_CMD with hyperfine ($RUNS runs each, bash as the
# shell), re-creating the starting copy with a prepare command before every
# single run: PREPARE_CMD before each tool run, GIT_PREPARE_CMD (default, or
# when empty: PREPARE_CMD) before each git run. Commands can use $WORK,
# $TEMPLATE, $TOOL, $FLOOR_DIR and the exported functions
# fresh_copy/bench_discard.
#
# FLOOR_CMD (with FLOOR=1 and ONLY other than git) is timed as a third
# command, named `floor`, after the tool's PREPARE_CMD: the floor program
# doing only the file-system work the tool's command must do. Its preflight
# also checks that it leaves the work tree exactly as the tool's did.
#
# With both sides and INTERLEAVE=1 (the default) the commands really
# alternate: hyperfine is called once per round with --runs 1 for each
# command, git first in odd rounds and the tool first in even ones (with the
# floor: the three take turns at going first), so that the machine's slow
# spells (disk I/O here is noisy) hit every side alike; the rounds are
# merged into out/NAME.json. INTERLEAVE=0 makes it one hyperfine call (all
# git runs, then all tool runs, then all floor runs).
#
# With PEAK_MEMORY=1 the git and tool commands run under bench_rss, and each
# result in out/NAME.json gets `max_rss_kib`, one peak a run.
#
# Prints and appends `| NAME | git median | tool median | ratio tool/git |`
# to results.md (the tool's cell ends with the floor's median and tool ÷
# floor when the floor was timed; each cell with its peak memory when it was
# recorded). ONLY=git / ONLY=tool time one side only
# ("—" for the other).
bench_pair() {
    local name=$1 prepare=$2 tool_cmd=$3 git_cmd=$4 git_prepare=${5:-$2} floor_cmd=${6:-}
    local slug json state row
    if [[ $FLOOR != 1 || $ONLY == git ]]; then floor_cmd=; fi
    slug=$(bench_slug "$name")
    mkdir -p -- "$BENCH_OUT_DIR"
    json=$BENCH_OUT_DIR/$slug.json
    state=$BENCH_OUT_DIR/$slug.state.txt
    bench_log "benchmark: $name"

    if [[ $PREFLIGHT == 1 ]]; then
        : >"$state"
        { printf '%s\n' "$name"; printf 'template:\n'; bench_state "$TEMPLATE"; } >>"$state"
        if [[ $ONLY != tool ]]; then bench_preflight "$name" git "$git_prepare" "$git_cmd" "$state"; fi
        if [[ $ONLY != git ]]; then bench_preflight "$name" tool "$prepare" "$tool_cmd" "$state"; fi
        if [[ -n $floor_cmd ]]; then
            local tool_tree floor_tree
            tool_tree=$(bench_manifest "$WORK") || bench_die "could not list the tool's result"
            bench_preflight "$name" floor "$prepare" "$floor_cmd" "$state"
            floor_tree=$(bench_manifest "$WORK") || bench_die "could not list the floor's result"
            if [[ $floor_tree != "$tool_tree" ]]; then
                diff <(printf '%s\n' "$tool_tree") <(printf '%s\n' "$floor_tree") | head -20 >&2
                bench_die "preflight of '$name': the floor left the work tree otherwise than the tool (< tool, > floor)"
            fi
            printf 'floor: the same directories, files, contents and modes as the tool (%s entries)\n' \
                "$(printf '%s\n' "$floor_tree" | wc -l)" >>"$state"
        fi
        sed 's/^/    /' "$state" >&2
    fi

    local timed_git=$git_cmd timed_tool=$tool_cmd
    if [[ $PEAK_MEMORY == 1 ]]; then
        export BENCH_RSS_DIR=$BENCH_OUT_DIR/$slug.rss
        rm -rf -- "$BENCH_RSS_DIR"
        mkdir -p -- "$BENCH_RSS_DIR"
        printf -v timed_git 'bench_rss git %q' "$git_cmd"
        printf -v timed_tool 'bench_rss tool %q' "$tool_cmd"
    fi
    local -a git_args=(--prepare "$git_prepare" -n git "$timed_git")
    local -a tool_args=(--prepare "$prepare" -n tool "$timed_tool")
    local -a floor_args=()
    if [[ -n $floor_cmd ]]; then floor_args=(--prepare "$prepare" -n floor "$floor_cmd"); fi
    local -a common=(--shell=bash --warmup 0)
    rm -f -- "$json" "${json%.json}.meta.json" "$BENCH_OUT_DIR/$slug".round*.json
    if [[ $ONLY == both && ${INTERLEAVE:-1} == 1 ]]; then
        local i round
        local -a rounds=() order=()
        for (( i = 1; i <= RUNS; i++ )); do
            round=$BENCH_OUT_DIR/$slug.round$i.json
            rounds+=("$round")
            if [[ -n $floor_cmd ]]; then
                case $(( i % 3 )) in
                    1) order=("${git_args[@]}" "${tool_args[@]}" "${floor_args[@]}") ;;
                    2) order=("${tool_args[@]}" "${floor_args[@]}" "${git_args[@]}") ;;
                    0) order=("${floor_args[@]}" "${git_args[@]}" "${tool_args[@]}") ;;
                esac
            elif (( i % 2 )); then
                order=("${git_args[@]}" "${tool_args[@]}")
            else
                order=("${tool_args[@]}" "${git_args[@]}")
            fi
            bench_hyperfine_quiet "$name (round $i)" "${common[@]}" --style basic --runs 1 \
                --export-json "$round" "${order[@]}"
            python3 - "$round" "$i" "$RUNS" >&2 <<'PY'
import json, sys
r = {x["command"]: x["times"][0] for x in json.load(open(sys.argv[1]))["results"]}
floor = f", floor {r['floor']:.3f} s" if "floor" in r else ""
print(f"  round {sys.argv[2]}/{sys.argv[3]}: git {r['git']:.3f} s, tool {r['tool']:.3f} s{floor}")
PY
        done
        python3 - "$json" "${rounds[@]}" <<'PY' || bench_die "could not merge the rounds of '$name'"
import json, statistics, sys
out, paths = sys.argv[1], sys.argv[2:]
runs = {}
for p in paths:
    for r in json.load(open(p))["results"]:
        d = runs.setdefault(r["command"], {"times": [], "user": [], "system": [], "exit_codes": []})
        d["times"] += r["times"]
        d["user"].append(r["user"])
        d["system"].append(r["system"])
        d["exit_codes"] += r.get("exit_codes", [])
results = []
for cmd in ("git", "tool", "floor"):
    if cmd not in runs:
        continue
    d = runs[cmd]
    t = d["times"]
    results.append({
        "command": cmd, "mean": statistics.fmean(t),
        "stddev": statistics.stdev(t) if len(t) > 1 else None,
        "median": statistics.median(t), "user": statistics.fmean(d["user"]),
        "system": statistics.fmean(d["system"]), "min": min(t), "max": max(t),
        "times": t, "exit_codes": d["exit_codes"],
    })
json.dump({"mode": "interleaved", "results": results}, open(out, "w"), indent=2)
PY
        rm -f -- "${rounds[@]}"
    else
        local -a sides=()
        case $ONLY in
            git) sides=("${git_args[@]}") ;;
            tool) sides=("${tool_args[@]}") ;;
            both) sides=("${git_args[@]}" "${tool_args[@]}") ;;
        esac
        hyperfine "${common[@]}" --runs "$RUNS" --export-json "$json" "${sides[@]}" "${floor_args[@]}" \
            || bench_die "hyperfine failed for '$name'"
    fi
    if [[ $PEAK_MEMORY == 1 ]]; then
        python3 - "$json" "$BENCH_RSS_DIR" <<'PY' || bench_die "could not record the peak memory of '$name'"
import json, os, sys
path, rss_dir = sys.argv[1], sys.argv[2]
data = json.load(open(path))
for r in data["results"]:
    f = os.path.join(rss_dir, r["command"])
    if not os.path.exists(f):
        continue
    # GNU time writes "Command exited with non-zero status N" before %M on a failure
    kib = [int(line) for line in open(f).read().split("\n") if line.strip().isdigit()]
    if len(kib) != len(r["times"]):
        sys.exit(f"{f}: {len(kib)} peaks for {len(r['times'])} runs")
    r["max_rss_kib"] = kib
json.dump(data, open(path, "w"), indent=2)
PY
        rm -rf -- "$BENCH_RSS_DIR"
    fi
    bench_write_meta "$json" "$name" "$tool_cmd" "$git_cmd" "$floor_cmd"

    row=$(python3 - "$json" "$name" <<'PY'
import json, sys
path, name = sys.argv[1], sys.argv[2]
res = {r["command"]: r for r in json.load(open(path))["results"]}

def fmt(sec):
    ms = sec * 1000
    if ms < 10:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.1f} ms"
    return f"{sec:.3f} s"

def cell(side):
    r = res.get(side)
    if r is None:
        return "—", None
    m = r["median"]
    peak = f", peak {max(r['max_rss_kib']) / 1024:.1f} MiB" if r.get("max_rss_kib") else ""
    return f"{fmt(m)} (min {fmt(r['min'])}, max {fmt(r['max'])}, n={len(r['times'])}{peak})", m

g, gm = cell("git")
t, tm = cell("tool")
ratio = f"{tm / gm:.2f}" if gm and tm is not None else "—"
if "floor" in res and tm is not None:
    f = res["floor"]["median"]
    t += f"; floor {fmt(f)}, tool ÷ floor {tm / f:.2f}"
print(f"| {name} | {g} | {t} | {ratio} |")
PY
    ) || bench_die "could not read $json"
    printf '%s\n' "$row" >>"$BENCH_RESULTS"
    printf '%s\n' "$row"
}

# bench_setup TITLE: common start of a bench script.
bench_setup() {
    bench_sandbox_env
    ensure_hyperfine
    require_tool
    mkdir -p -- "$BENCH_OUT_DIR" "$BENCH_DATA"
    if ! grep -qsx 'out/' "$BENCH_SCRIPTS_DIR/.gitignore"; then
        bench_log "warning: scripts/.gitignore should list out/"
    fi
    bench_empty_trash
    template_repo
    bench_settle
    trap bench_empty_trash EXIT
    bench_results_header "$1"
}
