#!/usr/bin/env python3
"""gen-benchmarks.py — build BENCHMARKS.md, its chart and README's summary
from the hyperfine results in scripts/out/.

Run by scripts/benchmarks.sh; python3's standard library only.

Where a bench script also timed the floor (a command named `floor`:
scripts/floor.c, only the file-system work the operation must do), the
results table shows it and tool ÷ floor, held to FLOOR_GOAL.

Why it is shaped so: the numbers must never be copied by hand. Every timing
comes from a hyperfine export (scripts/out/<name>.json, whose commands are
named `git` and `tool` by the bench scripts); what the operation is, which
git command line it is compared with and its goal come from OPERATIONS below;
which run produced a result comes from the <name>.meta.json the bench
scripts write beside it (or, for results older than those records, from the
matching row of scripts/out/results.md). The prose lives in
scripts/BENCHMARKS.in.md, whose placeholders this script fills:

  {{chart}} {{results}} {{goals}} {{machine}} {{runs}} {{scale}}
  {{ratio:KEY}} {{tool:KEY}} {{git:KEY}} {{goal:KEY}}
  {{include:FILE}}                          scripts/out/FILE as it is
  <!-- if missed: KEY --> … <!-- end -->   kept only while KEY misses its goal
  <!-- if any missed --> … <!-- end -->    kept only while some goal is missed

The machine section is read when the file is generated, on the machine the
bench scripts run on.

The scale section ({{scale}}, and its chart docs/benchmarks-scale.svg) comes
from scripts/out/scale-<files>/, written by scripts/bench-scale.sh: for each
size, the median time and peak resident memory of each operation and of its
git command line, and one traced run of the tool (its phases).
"""

import argparse
import html
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# The repository every result must come from (make-large-repo.sh defaults);
# results of a smoke test on a smaller one are left out.
FULL_REPOSITORY = "1000x100"

# The goal behind the goals: the tool within this factor of the floor.
FLOOR_GOAL = 1.5


@dataclass
class Operation:
    key: str            # used by the template's placeholders
    stem: str           # scripts/out/<stem>.json
    label: str          # BENCHMARKS.md
    chart: str          # the chart's row label
    readme: str         # README's row label
    git: str            # the git command line it is compared with
    readme_git: str     # the same, short
    goal_ratio: float | None = None       # tool ÷ git must be ≤ this
    goal_seconds: float | None = None     # and the tool's median < this
    comparable: bool = True               # False: no ratio, not charted
    note: str = ""


OPERATIONS = [
    Operation(
        "emergency", "emergency-yes-Level-1-rollback-to-baseline",
        "Level 1 rollback (`emergency`)", "emergency (Level 1)", "`emergency`",
        "`git stash push -u && git reset --hard baseline && git clean -fd`",
        "`git stash push -u && git reset --hard baseline && git clean -fd`",
        goal_ratio=0.5),
    Operation(
        "emergency-undo", "undo-of-emergency",
        "undo of the rollback", "undo of emergency", "its `undo`",
        "`git reset --hard <old HEAD> && git stash pop --index`",
        "`git reset --hard <old> && git stash pop --index`",
        goal_ratio=0.8),
    Operation(
        "sprint",
        "sprint-rollback-Level-2-WIP-commit-backup-branch-retry-branch-at-the-baseline",
        "Level 2 rollback (`sprint rollback --no-tests`)", "sprint rollback (Level 2)",
        "`sprint rollback`",
        "`git add -A && git commit && git branch backup/… && git checkout baseline"
        " && git checkout -b refactor/sprint-1-retry`",
        "`git add -A && git commit && git branch … && git checkout baseline && git checkout -b …`",
        goal_ratio=0.6),
    Operation(
        "files", "files-200-paths-back-to-the-baseline",
        "Level 3: 200 paths back to the baseline (`files`)", "files: 200 paths (Level 3)",
        "`files`, 200 paths",
        "`git checkout baseline -- <200 paths>`", "`git checkout baseline -- <paths>`",
        goal_ratio=1.0),
    Operation(
        "files-dirs", "files-200-directories-back-to-the-baseline",
        "Level 3: 200 directories back to the baseline (`files`)", "files: 200 directories",
        "`files`, 200 directories",
        "`git checkout baseline -- <200 directories>`",
        "`git checkout baseline -- <directories>`",
        goal_ratio=1.0),
    Operation(
        "recover", "recover-all-200-commits-onto-the-baseline",
        "recover 200 commits onto the baseline (`recover --all`)", "recover: 200 commits",
        "`recover --all`, 200 commits",
        "`git checkout -b … && git cherry-pick baseline..failed-200`",
        "`git cherry-pick baseline..failed`",
        goal_ratio=0.2),
    Operation(
        "hook", "check-hook",
        "pre-commit check, 50 staged files (`check --hook`)", "check --hook: 50 staged",
        "`check --hook`, 50 staged files",
        "`git diff --cached --quiet`", "`git diff --cached --quiet`",
        goal_ratio=1.0, goal_seconds=0.020),
    Operation(
        "hook-dirty", "check-hook-dirty",
        "pre-commit check, 200 staged and 5,000 modified files (`check --hook`)",
        "check --hook: 200 staged, 5,000 modified",
        "`check --hook`, 200 staged, 5,000 modified",
        "`git diff --cached --quiet`", "`git diff --cached --quiet`",
        goal_ratio=1.0),
    Operation(
        "checkpoint", "checkpoint-wip",
        "checkpoint of the working tree (`checkpoint --wip`)", "checkpoint --wip",
        "`checkpoint --wip`",
        "`GIT_INDEX_FILE=tmp git add -A && git write-tree && git commit-tree && git tag -a`",
        "`git add -A` to a temporary index, `write-tree`, `commit-tree`, `tag -a`",
        goal_ratio=1.0),
    Operation(
        "checkpoint-undo", "undo-of-checkpoint-wip-rough-git-side-is-only-tag-d",
        "undo of that checkpoint", "undo of checkpoint", "its `undo`",
        "`git tag -d` (rough: git's side does no journal work)", "`git tag -d`",
        comparable=False,
        note="The undo of the checkpoint has no ratio: git's side only deletes the tag "
             "and does none of the tool's journal work"),
    Operation(
        "test-unchanged", "test-unchanged",
        "`test` (command `true`) on a tree unchanged since the last green state",
        "test, unchanged tree", "`test`, unchanged tree",
        "the test command alone (`sh -c true`)", "`sh -c true`",
        comparable=False,
        note="`test` on an unchanged tree has no ratio: the other side is the test "
             "command alone, so the difference is what `test` adds (goal: under 50 ms)"),
    Operation(
        "test-green", "test-making-a-green-state-git-column-checkpoint-wip",
        "`test` making a new green state, against `checkpoint --wip`",
        "test: new green state", "`test`, new green state",
        "`checkpoint --wip` (the tool's own, the bound a green snapshot is held to)",
        "`checkpoint --wip`",
        goal_ratio=1.0),
    Operation(
        "rescue", "rescue-list-5000-unreachable-objects",
        "list lost work among 5,000 unreachable objects (`rescue`)",
        "rescue: 5,000 unreachable", "`rescue`, 5,000 unreachable objects",
        "`git fsck --unreachable --no-reflogs`", "`git fsck --unreachable --no-reflogs`",
        goal_ratio=1.0),
    Operation(
        "drill", "drill-all-three-levels-no-tests-git-column-one-emergency-yes-of-the-tool",
        "`drill`, all three levels, no tests, against one `emergency` of the tool",
        "drill: three levels", "`drill`, three levels",
        "one `emergency --yes` of the tool (the goal: a drill within three of them)",
        "one `emergency` of the tool",
        goal_ratio=3.0),
]


@dataclass
class Result:
    op: Operation
    git: dict | None = None       # hyperfine's result for the command named `git`
    tool: dict | None = None
    floor: dict | None = None     # the floor program, where it was timed
    run: dict = field(default_factory=dict)   # measured, script, runs, tool_commit, git, source
    problem: str = ""             # why the result is left out

    @property
    def ok(self):
        return not self.problem and self.git is not None and self.tool is not None

    @property
    def ratio(self):
        if not self.ok or not self.op.comparable:
            return None
        return self.tool["median"] / self.git["median"]

    @property
    def floor_ratio(self):
        if not self.ok or self.floor is None:
            return None
        return self.tool["median"] / self.floor["median"]

    def goal_met(self):
        """True/False for an operation with a goal, None otherwise."""
        op = self.op
        if op.goal_ratio is None and op.goal_seconds is None:
            return None
        if not self.ok:
            return None
        met = True
        if op.goal_ratio is not None:
            met &= self.ratio <= op.goal_ratio
        if op.goal_seconds is not None:
            met &= self.tool["median"] < op.goal_seconds
        return met


# ---------------------------------------------------------------- reading

def slug(text):
    s = re.sub(r"[^A-Za-z0-9._-]", "-", text)
    return re.sub(r"-+", "-", s).strip("-")


def lib_bench_format(sec):
    """The two ways the bench scripts print a median into results.md."""
    ms = sec * 1000
    if ms < 10:
        a = f"{ms:.2f} ms"
    elif ms < 1000:
        a = f"{ms:.1f} ms"
    else:
        a = f"{sec:.3f} s"
    return {a, f"{ms:.1f} ms"}


def parse_results_md(path):
    """Rows of results.md with the header of the run they belong to."""
    rows = []
    if not path.exists():
        return rows
    head = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^### (\S+) — (.+)$", line)
        if m:
            head = {"script": m.group(1) + ".sh", "measured": m.group(2)}
            continue
        m = re.match(r"^RUNS=(\d+), ONLY=(\w+), repository (\S+) files, git (\S+), "
                     r"tool .* \(([^()]*)\), (\d+) cores$", line)
        if m and head:
            head.update(runs=int(m.group(1)), only=m.group(2), repository=m.group(3),
                        git=m.group(4), tool_commit=m.group(5), cores=int(m.group(6)))
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 4 and cells[0] not in ("benchmark", "---"):
            rows.append({"name": cells[0], "git": cells[1], "tool": cells[2], **head})
    return rows


def run_from_results_md(rows, stem, tool_median):
    """The last results.md row that printed this very result."""
    printed = lib_bench_format(tool_median)
    for row in reversed(rows):
        s = slug(row["name"])
        if (s == stem or s.startswith(stem + "-")) and \
                any(row["tool"].startswith(p) for p in printed):
            return {k: row[k] for k in ("script", "measured", "runs", "repository",
                                        "git", "tool_commit") if k in row} | {
                "source": "results.md"}
    return None


def load_results(out_dir):
    md_rows = parse_results_md(out_dir / "results.md")
    results = []
    for op in OPERATIONS:
        r = Result(op)
        results.append(r)
        path = out_dir / f"{op.stem}.json"
        if not path.exists():
            r.problem = f"not measured: {path.name} is missing"
            continue
        try:
            data = json.loads(path.read_text())
            by_cmd = {x["command"]: x for x in data["results"]}
        except (ValueError, KeyError) as e:
            r.problem = f"unreadable {path.name}: {e}"
            continue
        r.git, r.tool, r.floor = by_cmd.get("git"), by_cmd.get("tool"), by_cmd.get("floor")
        meta_path = out_dir / f"{op.stem}.meta.json"
        if meta_path.exists():
            r.run = json.loads(meta_path.read_text()) | {"source": meta_path.name}
        elif r.tool is not None:
            r.run = run_from_results_md(md_rows, op.stem, r.tool["median"]) or {}
        if not r.run:
            r.problem = f"{path.name}: no record of the run that produced it"
        elif r.run.get("repository") != FULL_REPOSITORY:
            r.problem = (f"{path.name} was measured on a {r.run.get('repository')} "
                         f"repository, not {FULL_REPOSITORY}")
        elif r.git is None or r.tool is None:
            r.problem = f"{path.name} times only one side (ONLY={r.run.get('only')})"
    return results


def command_output(*args):
    try:
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine(root, bench_data, outputs):
    """The machine, read now; `outputs` are the files this script writes."""
    info = {}
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["cores"] = f"{os.cpu_count()}" + (f" ({cpu})" if cpu else "")
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1))
        info["memory"] = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        info["memory"] = "?"
    target = bench_data if Path(bench_data).exists() else root
    fs = command_output("findmnt", "-n", "-o", "FSTYPE", "-T", str(target)) \
        or command_output("stat", "-f", "-c", "%T", str(target)) or "?"
    info["filesystem"] = f"{fs} (`{target}`)"
    info["kernel"] = f"{platform.system()} {platform.release()}"
    info["git"] = command_output("git", "--version").removeprefix("git version ") or "?"
    lock = (root / "Cargo.lock").read_text() if (root / "Cargo.lock").exists() else ""

    def locked(name):
        m = re.search(r'name = "' + re.escape(name) + r'"\nversion = "([^"]+)"', lock)
        return m.group(1) if m else "?"
    sys_version = locked("libgit2-sys")
    vendored = "vendored-libgit2" in (root / "Cargo.toml").read_text()
    info["libgit2"] = (f"{sys_version.split('+')[-1]} (git2 {locked('git2')}, libgit2-sys "
                       f"{sys_version.split('+')[0]}{', vendored' if vendored else ''})")
    version = re.search(r'^version = "([^"]+)"', (root / "Cargo.toml").read_text(), re.M)
    commit = command_output("git", "-C", str(root), "rev-parse", "--short", "HEAD")
    if commit and command_output("git", "-C", str(root), "status", "--porcelain",
                                 "--untracked-files=no", "--", ".", *(f":!{p}" for p in outputs)):
        commit += "-dirty"      # changed sources; the files written here do not count
    info["tool"] = (f"{version.group(1) if version else '?'}, source tree at {commit or '?'} "
                    "when this file was generated")
    return info


# ---------------------------------------------------------------- formatting

def fmt(sec):
    if sec < 0.1:
        return f"{sec * 1000:.1f} ms"
    if sec < 1:
        return f"{sec:.3f} s"
    return f"{sec:.2f} s"


def fmt_goal(op):
    parts = []
    if op.goal_seconds is not None:
        parts.append(f"< {op.goal_seconds * 1000:.0f} ms")
    if op.goal_ratio is not None:
        parts.append(f"≤ {op.goal_ratio:.1f}")
    return ", ".join(parts) or "—"


def results_table(results):
    lines = ["| operation | git command line | git | git-rollback-sprint | ratio | goal "
             "| floor | tool ÷ floor | runs |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    notes = []
    for r in results:
        op = r.op
        if not r.ok:
            lines.append(f"| {op.label} | {op.git} | — | — | — | {fmt_goal(op)} | — | — | — |")
            notes.append(f"{op.label}: {r.problem}.")
            continue
        ratio = r.ratio
        if ratio is None:
            ratio_cell = "—"
            notes.append(f"{op.note}.")
        else:
            ratio_cell = f"**{ratio:.2f}**" if ratio < 1 else f"{ratio:.2f}"
        met = r.goal_met()
        goal = fmt_goal(op) + ("" if met is None else (": met" if met else ": not met"))
        n = len(r.tool["times"])
        floor_cell, floor_ratio = "—", "—"
        if r.floor_ratio is not None:
            floor_cell = fmt(r.floor["median"])
            floor_ratio = f"{r.floor_ratio:.2f}"
            if r.floor_ratio <= FLOOR_GOAL:
                floor_ratio = f"**{floor_ratio}**"
        lines.append(f"| {op.label} | {op.git} | {fmt(r.git['median'])} | "
                     f"{fmt(r.tool['median'])} | {ratio_cell} | {goal} | {floor_cell} | "
                     f"{floor_ratio} | {n} |")
    out = "\n".join(lines)
    if notes:
        out += "\n\n" + "\n".join(f"* {n}" for n in notes)
    return out


def goals_list(results):
    lines = []
    for r in results:
        met = r.goal_met()
        if r.op.goal_ratio is None and r.op.goal_seconds is None:
            continue
        if met is None:
            lines.append(f"* {r.op.label}: goal {fmt_goal(r.op)}; not measured.")
            continue
        measured = f"{r.ratio:.2f}"
        if r.op.goal_seconds is not None:
            measured = f"{fmt(r.tool['median'])}, {measured}"
        lines.append(f"* {r.op.label}: goal {fmt_goal(r.op)}, measured {measured} — "
                     + ("**met**." if met else "not met yet."))
    for r in results:
        if r.floor_ratio is not None:
            met = r.floor_ratio <= FLOOR_GOAL
            lines.append(f"* {r.op.label}: within {FLOOR_GOAL:.1f}× of the floor, measured "
                         f"{r.floor_ratio:.2f} — " + ("**met**." if met else "not met yet."))
    return "\n".join(lines)


def machine_list(info):
    names = [("cores", "cores"), ("memory", "memory"), ("filesystem", "filesystem of the benchmark copies"),
             ("kernel", "kernel"), ("git", "git"), ("libgit2", "libgit2"), ("tool", "git-rollback-sprint")]
    return "\n".join(f"* {label}: {info[key]}" for key, label in names)


def runs_table(results):
    lines = ["| operation | measured | script | tool commit | git | record |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        if not r.run:
            lines.append(f"| {r.op.label} | — | — | — | — | — |")
            continue
        run = r.run
        lines.append(f"| {r.op.label} | {run.get('measured', '?')} | `{run.get('script', '?')}` | "
                     f"{run.get('tool_commit', '?')} | {run.get('git', '?')} | "
                     f"`scripts/out/{run['source']}` |")
    return "\n".join(lines)


def readme_block(results, info, svg_rel):
    cores = info["cores"].split()[0]
    lines = [f"![git-rollback-sprint ÷ git per operation, median time]({svg_rel})", "",
             "On a generated 100,000-file repository with a failed sprint and a dirty work",
             f"tree ({cores} cores, medians, tool ÷ git; below 1.00 the tool is faster):", "",
             "| operation | against | tool | git | ratio |", "| --- | --- | --- | --- | --- |"]
    for r in results:
        if r.ratio is None:
            continue
        lines.append(f"| {r.op.readme} | {r.op.readme_git} | {fmt(r.tool['median'])} | "
                     f"{fmt(r.git['median'])} | {r.ratio:.2f} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- the chart

FONT = "DejaVu Sans, Verdana, Helvetica, Arial, sans-serif"
FASTER, SLOWER, GOAL = "#2b6cb0", "#dd6b20", "#9b2c2c"


def text_width(s, size):
    return len(s) * size * 0.6      # DejaVu Sans is wide; err on the wide side


def esc(s):
    return html.escape(s, quote=True)


def svg_chart(results, info):
    rows = [r for r in results if r.ratio is not None]
    label_size, value_size = 14, 13
    left = 24 + max(text_width(r.op.chart, label_size) for r in rows)
    plot_w = 440
    times = [f"tool {fmt(r.tool['median'])} · git {fmt(r.git['median'])}" for r in rows]
    right = 32 + max(text_width(t, value_size) for t in times + ["median times"])
    top, row_h, bar_h = 118, 46, 22
    width = int(left + plot_w + right + 24)
    height = int(top + row_h * len(rows) + 108)
    top_ratio = max([1.0] + [r.ratio for r in rows] + [r.op.goal_ratio or 0 for r in rows])
    limit = 0.5 * int((top_ratio + 0.2) / 0.5 + 1)   # room for the largest value's label

    def x(ratio):
        return left + plot_w * min(ratio, limit) / limit

    plot_bottom = top + row_h * len(rows)
    subtitle = (f"100,000-file repository · {info['cores'].split()[0]} cores · "
                f"{info['filesystem'].split()[0]} · git {info['git']} · "
                f"libgit2 {info['libgit2'].split()[0]}")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="{FONT}" role="img">',
           f'<title>git-rollback-sprint ÷ git, median time per operation</title>',
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           f'<text x="24" y="34" font-size="20" font-weight="bold" fill="#1a202c">'
           f'git-rollback-sprint ÷ git, median time per operation</text>',
           f'<text x="24" y="58" font-size="13" fill="#4a5568">'
           f'{esc(subtitle)}</text>']
    one = x(1.0)
    # the two halves of the plot
    out.append(f'<rect x="{left}" y="{top - 12}" width="{one - left}" '
               f'height="{plot_bottom - top + 12}" fill="#ebf4ff"/>')
    out.append(f'<rect x="{one}" y="{top - 12}" width="{x(limit) - one}" '
               f'height="{plot_bottom - top + 12}" fill="#fffaf0"/>')
    out.append(f'<text x="{one - 8}" y="{top - 20}" font-size="13" fill="{FASTER}" '
               f'text-anchor="end">← tool faster</text>')
    out.append(f'<text x="{one + 8}" y="{top - 20}" font-size="13" fill="{SLOWER}">'
               f'git faster →</text>')
    # grid and axis
    step = 0.25 if limit <= 2 else 0.5
    tick = 0.0
    while tick <= limit + 1e-9:
        tx = x(tick)
        if abs(tick - 1.0) > 1e-9:
            out.append(f'<line x1="{tx}" y1="{top - 12}" x2="{tx}" y2="{plot_bottom}" '
                       f'stroke="#cbd5e0" stroke-width="1"/>')
        out.append(f'<text x="{tx}" y="{plot_bottom + 20}" font-size="12" fill="#4a5568" '
                   f'text-anchor="middle">{tick:g}</text>')
        tick += step
    out.append(f'<text x="{left + plot_w / 2}" y="{plot_bottom + 42}" font-size="13" '
               f'fill="#2d3748" text-anchor="middle">tool time ÷ git time (median)</text>')
    column = x(limit) + 16          # the times, in a column right of the plot
    out.append(f'<text x="{column}" y="{top - 20}" font-size="13" fill="#4a5568">'
               f'median times</text>')
    for i, (r, times_text) in enumerate(zip(rows, times)):
        y = top + row_h * i + (row_h - bar_h) / 2
        mid = y + bar_h / 2
        colour = FASTER if r.ratio < 1 else SLOWER
        out.append(f'<text x="{left - 12}" y="{mid + 5}" font-size="{label_size}" '
                   f'fill="#1a202c" text-anchor="end">{esc(r.op.chart)}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{x(r.ratio) - left}" height="{bar_h}" '
                   f'fill="{colour}"/>')
        end = x(r.ratio)
        if r.op.goal_ratio is not None:
            gx = x(r.op.goal_ratio)
            out.append(f'<line x1="{gx}" y1="{y - 5}" x2="{gx}" y2="{y + bar_h + 5}" '
                       f'stroke="{GOAL}" stroke-width="3"/>')
            if gx >= end - 2:
                end = gx
        ratio_text = f"{r.ratio:.2f}"
        label_x = end + 8
        if label_x < one + 4 and label_x + text_width(ratio_text, value_size) > one - 4:
            label_x = one + 8       # never across the git line
        out.append(f'<text x="{label_x}" y="{mid + 5}" font-size="{value_size}" '
                   f'font-weight="bold" fill="#1a202c">{ratio_text}</text>')
        out.append(f'<text x="{column}" y="{mid + 5}" font-size="{value_size}" '
                   f'fill="#4a5568">{esc(times_text)}</text>')
    # the git reference, drawn over the bars
    out.append(f'<line x1="{one}" y1="{top - 12}" x2="{one}" y2="{plot_bottom}" '
               f'stroke="#1a202c" stroke-width="2" stroke-dasharray="6 4"/>')
    out.append(f'<text x="{one}" y="{top - 40}" font-size="13" font-weight="bold" '
               f'fill="#1a202c" text-anchor="middle">git = 1.0</text>')
    # legend
    ly = plot_bottom + 72
    out.append(f'<rect x="24" y="{ly - 11}" width="14" height="14" fill="{FASTER}"/>')
    out.append(f'<text x="44" y="{ly}" font-size="13" fill="#2d3748">tool faster</text>')
    out.append(f'<rect x="144" y="{ly - 11}" width="14" height="14" fill="{SLOWER}"/>')
    out.append(f'<text x="164" y="{ly}" font-size="13" fill="#2d3748">git faster</text>')
    out.append(f'<line x1="262" y1="{ly - 13}" x2="262" y2="{ly + 4}" stroke="{GOAL}" '
               f'stroke-width="3"/>')
    out.append(f'<text x="272" y="{ly}" font-size="13" fill="#2d3748">goal (ratio)</text>')
    measured = sorted({r.run.get("measured", "?")[:10] for r in rows})
    out.append(f'<text x="24" y="{ly + 24}" font-size="12" fill="#718096">'
               f'{esc("measured " + ", ".join(measured) + " · see BENCHMARKS.md for each run")}'
               f'</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- scale

# The sizes BENCHMARKS.md shows (scripts/bench-scale.sh's default SIZES);
# others (a smoke test's) are left out unless --scale-sizes names them.
SCALE_SIZES = (10_000, 100_000, 300_000)

# Peak memory: the tool's at most this many times git's for the same operation.
SCALE_MEMORY_GOAL = 1.5


@dataclass
class ScaleOperation:
    stem: str           # scripts/out/scale-<files>/<stem>.json (bench-scale.sh's slug)
    label: str
    key: str            # the Operation whose git command line it is compared with
    colour: str


SCALE_OPERATIONS = [
    ScaleOperation("emergency", "`emergency`", "emergency", "#2b6cb0"),
    ScaleOperation("undo-of-emergency", "undo of the emergency", "emergency-undo", "#2f855a"),
    ScaleOperation("sprint-rollback-no-tests", "`sprint rollback --no-tests`", "sprint", "#c05621"),
    ScaleOperation("files-200-paths", "`files`, 200 paths", "files", "#6b46c1"),
    ScaleOperation("checkpoint-wip", "`checkpoint --wip`", "checkpoint", "#b83280"),
]


@dataclass
class ScaleResult:
    op: ScaleOperation
    size: int
    git: dict
    tool: dict
    run: dict
    phases: dict        # the tool's traced run: phase name -> milliseconds

    def median(self, side):
        return getattr(self, side)["median"]

    def peak_mib(self, side):
        return max(getattr(self, side)["max_rss_kib"]) / 1024


def parse_trace(path):
    """Phase name -> ms from a GIT_ROLLBACK_SPRINT_TRACE=1 stderr: each phase
    lasts until the next line (the last one, the end, counts nothing);
    repeated names add up."""
    marks = []
    if path.exists():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            m = re.match(r"^\[trace\s+([0-9.]+) ms\] (.*)$", line)
            if m:
                marks.append((float(m.group(1)), m.group(2)))
    phases = {}
    for (t, name), (t_next, _) in zip(marks, marks[1:]):
        phases[name] = phases.get(name, 0.0) + (t_next - t)
    return phases


def load_scale(out_dir, sizes):
    """ScaleResults by (stem, size), and warnings about what is left out."""
    results, problems = {}, []
    for size in sizes:
        d = out_dir / f"scale-{size}"
        if not d.is_dir():
            problems.append(f"scale-{size}/ is missing")
            continue
        for op in SCALE_OPERATIONS:
            path = d / f"{op.stem}.json"
            where = f"scale-{size}/{path.name}"
            if not path.exists():
                problems.append(f"{where} is missing")
                continue
            try:
                by_cmd = {x["command"]: x for x in json.loads(path.read_text())["results"]}
                meta = json.loads((d / f"{op.stem}.meta.json").read_text())
            except (OSError, ValueError, KeyError) as e:
                problems.append(f"{where}: unreadable: {e}")
                continue
            if meta.get("repository") != f"{size // 100}x100":
                problems.append(f"{where} was measured on a {meta.get('repository')} repository")
                continue
            git, tool = by_cmd.get("git"), by_cmd.get("tool")
            if git is None or tool is None or "max_rss_kib" not in git \
                    or "max_rss_kib" not in tool:
                problems.append(f"{where} lacks a side or its peak memory")
                continue
            results[op.stem, size] = ScaleResult(
                op, size, git, tool, meta | {"source": f"scale-{size}/{op.stem}.meta.json"},
                parse_trace(d / f"{op.stem}.trace.txt"))
    return results, problems


def fmt_mib(mib):
    return f"{mib:.0f} MiB" if mib >= 10 else f"{mib:.1f} MiB"


def scale_growth(results, sizes):
    """Per operation: (op, tool time growth, git time growth, tool memory
    growth, git memory growth) from the smallest to the largest size."""
    lo, hi = sizes[0], sizes[-1]
    rows = []
    for op in SCALE_OPERATIONS:
        a, b = results.get((op.stem, lo)), results.get((op.stem, hi))
        if a is None or b is None:
            continue
        rows.append((op, b.median("tool") / a.median("tool"), b.median("git") / a.median("git"),
                     b.peak_mib("tool") / a.peak_mib("tool"), b.peak_mib("git") / a.peak_mib("git")))
    return rows


def scale_steps(results, sizes):
    """The tool's phases, in the traced runs, whose time grows faster than the
    number of files and that take at least 5% of the operation, and 10 ms,
    at the largest size: (op, phase, ms at the smallest, ms at the largest)."""
    lo, hi = sizes[0], sizes[-1]
    factor = hi / lo
    steps = []
    for op in SCALE_OPERATIONS:
        a, b = results.get((op.stem, lo)), results.get((op.stem, hi))
        if a is None or b is None or not b.phases:
            continue
        total = sum(b.phases.values())
        for name, ms in sorted(b.phases.items(), key=lambda kv: -kv[1]):
            small = a.phases.get(name)
            if small is None or ms < max(0.05 * total, 10.0):
                continue
            if ms > factor * max(small, 0.1):
                steps.append((op, name, small, ms))
    return steps


def scale_section(results, problems, sizes, svg_rel):
    if not results:
        return ("(not measured yet: run `scripts/benchmarks.sh --run --only scale`; "
                "results go to `scripts/out/scale-<files>/`)")
    present = sorted({size for _, size in results})
    lines = [f"![median time and peak memory against the number of files]({svg_rel})", "",
             "| files | operation | tool | git | tool ÷ git | tool peak | git peak "
             f"| peak tool ÷ git (goal ≤ {SCALE_MEMORY_GOAL:.1f}) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for size in present:
        for op in SCALE_OPERATIONS:
            r = results.get((op.stem, size))
            if r is None:
                lines.append(f"| {size:,} | {op.label} | — | — | — | — | — | — |")
                continue
            ratio = r.median("tool") / r.median("git")
            mem = r.peak_mib("tool") / r.peak_mib("git")
            ratio_cell = f"**{ratio:.2f}**" if ratio < 1 else f"{ratio:.2f}"
            mem_cell = f"{mem:.2f}" + (": met" if mem <= SCALE_MEMORY_GOAL else ": **not met**")
            lines.append(f"| {size:,} | {op.label} | {fmt(r.median('tool'))} | "
                         f"{fmt(r.median('git'))} | {ratio_cell} | {fmt_mib(r.peak_mib('tool'))} | "
                         f"{fmt_mib(r.peak_mib('git'))} | {mem_cell} |")
    growth = scale_growth(results, present)
    if len(present) >= 2 and growth:
        lo, hi = present[0], present[-1]
        factor = hi / lo
        lines += ["", f"Growth from {lo:,} to {hi:,} files ({factor:g}× the files): "
                  "the time (and the peak memory) at the largest size ÷ at the smallest.", "",
                  "| operation | tool time | git time | tool grows | tool peak | git peak |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for op, tg, gg, tm, gm in growth:
            verdict = ("no faster than git's" if tg <= gg else "**faster than git's**")
            if tg > factor:
                verdict += ", **faster than the files**"
            lines.append(f"| {op.label} | {tg:.1f}× | {gg:.1f}× | {verdict} | {tm:.1f}× | {gm:.1f}× |")
        steps = scale_steps(results, present)
        lines.append("")
        if steps:
            lines.append(f"Steps of the tool whose time grows faster than the number of files "
                         f"(one traced run each, `GIT_ROLLBACK_SPRINT_TRACE=1`; at least 5% of "
                         f"the operation, and 10 ms, at {hi:,} files):")
            lines.append("")
            for op, name, small, big in steps:
                lines.append(f"* {op.label}: “{name}”: {small:.1f} ms at {lo:,} files, "
                             f"{big:.1f} ms at {hi:,} ({big / max(small, 0.1):.0f}×)")
        else:
            lines.append(f"No step of the tool that takes at least 5% of an operation, and "
                         f"10 ms, at {hi:,} files grows faster than the number of files (one traced "
                         f"run each, `GIT_ROLLBACK_SPRINT_TRACE=1`).")
    missing = [s for s in sizes if s not in present]
    notes = [f"not measured at {s:,} files" for s in missing] + \
        [p for p in problems if not any(p.startswith(f"scale-{s}/") for s in missing)]
    measured = sorted({r.run.get("measured", "?") for r in results.values()})
    commits = sorted({r.run.get("tool_commit", "?") for r in results.values()})
    runs = sorted({r.run.get("runs", "?") for r in results.values()}, key=str)
    when = measured[0] if len(measured) == 1 else f"from {measured[0]} to {measured[-1]}"
    lines += ["", f"Measured {when} by `scripts/bench-scale.sh`, tool {', '.join(commits)}, "
              f"{', '.join(map(str, runs))} runs a side."]
    if notes:
        lines += [""] + [f"* {n}." for n in notes]
    return "\n".join(lines)


def svg_scale_chart(results, info):
    """Two panels, time and peak memory against the number of files, both on
    log scales; the tool solid, git dashed, one colour an operation."""
    sizes = sorted({size for _, size in results})
    panel_w, panel_h, gap = 400, 300, 110
    left, top = 80, 96
    width = left + 2 * panel_w + gap + 40
    legend_y = top + panel_h + 70
    height = legend_y + 24 * ((len(SCALE_OPERATIONS) + 1) // 2) + 60
    subtitle = (f"generated repositories · {info['cores'].split()[0]} cores · "
                f"{info['filesystem'].split()[0]} · git {info['git']} · "
                f"libgit2 {info['libgit2'].split()[0]} · medians, peaks of every run")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="{FONT}" role="img">',
           '<title>git-rollback-sprint and git against the number of files</title>',
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           '<text x="24" y="34" font-size="20" font-weight="bold" fill="#1a202c">'
           'git-rollback-sprint and git against the number of files</text>',
           f'<text x="24" y="58" font-size="13" fill="#4a5568">{esc(subtitle)}</text>']

    def log_ticks(lo, hi):
        ticks, p = [], 10 ** math.floor(math.log10(lo))
        while p <= hi * 1.0001:
            for m in (1, 2, 5):
                if lo / 1.0001 <= m * p <= hi * 1.0001:
                    ticks.append(m * p)
            p *= 10
        return ticks

    def panel(x0, title, value, unit_fmt):
        values = [value(r, side) for r in results.values() for side in ("tool", "git")]
        lo, hi = min(values), max(values)
        lo_t, hi_t = 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi))
        if hi_t / lo_t < 10:
            hi_t = lo_t * 10
        xs_lo, xs_hi = sizes[0], sizes[-1]
        if xs_hi == xs_lo:
            xs_lo, xs_hi = xs_lo / 2, xs_hi * 2
        pad = (math.log(xs_hi) - math.log(xs_lo)) * 0.06

        def px(files):
            f = (math.log(files) - math.log(xs_lo) + pad) / (math.log(xs_hi) - math.log(xs_lo) + 2 * pad)
            return x0 + panel_w * f

        def py(v):
            f = (math.log(v) - math.log(lo_t)) / (math.log(hi_t) - math.log(lo_t))
            return top + panel_h * (1 - f)

        o = [f'<text x="{x0}" y="{top - 16}" font-size="15" font-weight="bold" '
             f'fill="#1a202c">{esc(title)}</text>',
             f'<rect x="{x0}" y="{top}" width="{panel_w}" height="{panel_h}" fill="#f7fafc" '
             f'stroke="#cbd5e0"/>']
        for t in log_ticks(lo_t, hi_t):
            y = py(t)
            o.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + panel_w}" y2="{y:.1f}" '
                     f'stroke="#e2e8f0"/>')
            o.append(f'<text x="{x0 - 8}" y="{y + 4:.1f}" font-size="12" fill="#4a5568" '
                     f'text-anchor="end">{esc(unit_fmt(t))}</text>')
        for s in sizes:
            x = px(s)
            o.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + panel_h}" '
                     f'stroke="#e2e8f0"/>')
            o.append(f'<text x="{x:.1f}" y="{top + panel_h + 18}" font-size="12" fill="#4a5568" '
                     f'text-anchor="middle">{s:,}</text>')
        o.append(f'<text x="{x0 + panel_w / 2}" y="{top + panel_h + 40}" font-size="13" '
                 f'fill="#2d3748" text-anchor="middle">files (log scale)</text>')
        for op in SCALE_OPERATIONS:
            for side, dash in (("git", ' stroke-dasharray="6 4"'), ("tool", "")):
                pts = [(px(s), py(value(results[op.stem, s], side))) for s in sizes
                       if (op.stem, s) in results]
                if not pts:
                    continue
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
                o.append(f'<polyline points="{path}" fill="none" stroke="{op.colour}" '
                         f'stroke-width="2.5"{dash}/>')
                for x, y in pts:
                    shape = (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{op.colour}"/>'
                             if side == "tool" else
                             f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#ffffff" '
                             f'stroke="{op.colour}" stroke-width="2"/>')
                    o.append(shape)
        return o

    def seconds(v):
        return f"{v * 1000:g} ms" if v < 1 else f"{v:g} s"

    out += panel(left, "median time", lambda r, side: r.median(side), seconds)
    out += panel(left + panel_w + gap, "peak resident memory",
                 lambda r, side: r.peak_mib(side), lambda v: f"{v:g} MiB")
    for i, op in enumerate(SCALE_OPERATIONS):
        x = 24 + (i % 2) * 360
        y = legend_y + 24 * (i // 2)
        out.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 28}" y2="{y - 4}" '
                   f'stroke="{op.colour}" stroke-width="3"/>')
        out.append(f'<text x="{x + 36}" y="{y}" font-size="13" fill="#2d3748">'
                   f'{esc(op.label.replace("`", ""))}</text>')
    ky = legend_y + 24 * ((len(SCALE_OPERATIONS) + 1) // 2)
    out.append(f'<line x1="24" y1="{ky - 4}" x2="52" y2="{ky - 4}" stroke="#1a202c" '
               f'stroke-width="2.5"/><circle cx="38" cy="{ky - 4}" r="3.5" fill="#1a202c"/>')
    out.append(f'<text x="60" y="{ky}" font-size="13" fill="#2d3748">git-rollback-sprint</text>')
    out.append(f'<line x1="224" y1="{ky - 4}" x2="252" y2="{ky - 4}" stroke="#1a202c" '
               f'stroke-width="2.5" stroke-dasharray="6 4"/><circle cx="238" cy="{ky - 4}" '
               f'r="3.5" fill="#ffffff" stroke="#1a202c" stroke-width="2"/>')
    out.append(f'<text x="260" y="{ky}" font-size="13" fill="#2d3748">git</text>')
    measured = sorted({r.run.get("measured", "?")[:10] for r in results.values()})
    out.append(f'<text x="24" y="{ky + 28}" font-size="12" fill="#718096">'
               f'{esc("measured " + ", ".join(measured) + " by scripts/bench-scale.sh · see BENCHMARKS.md, Scale")}'
               f'</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- filling in

def fill(template, results, blocks, out_dir):
    by_key = {r.op.key: r for r in results}

    def missed(key):
        if key not in by_key:
            sys.exit(f"gen-benchmarks.py: the template names an unknown operation '{key}'")
        return by_key[key].goal_met() is False

    def condition(m):
        cond, body = m.group(1).strip(), m.group(2)
        if cond == "any missed":
            keep = any(r.goal_met() is False for r in results)
        elif cond.startswith("missed:"):
            keep = missed(cond.split(":", 1)[1].strip())
        else:
            sys.exit(f"gen-benchmarks.py: unknown condition '<!-- if {cond} -->' in the template")
        return body if keep else ""

    text = re.sub(r"<!-- if ([^>]*?) -->\n?(.*?)<!-- end -->\n?", condition, template, flags=re.S)

    def include(m):
        path = out_dir / m.group(1)
        if not path.is_file():
            return f"(not measured yet: see `{m.group(1)}` in scripts/out/)\n"
        return path.read_text()

    text = re.sub(r"\{\{include:([A-Za-z0-9_.-]+)\}\}", include, text)

    def value(m):
        kind, key = m.group(1), m.group(2)
        if kind is None:
            return blocks[key]
        r = by_key.get(key)
        if r is None:
            sys.exit(f"gen-benchmarks.py: the template names an unknown operation '{key}'")
        if kind == "goal":
            return fmt_goal(r.op)
        if not r.ok:
            return "(not measured)"
        if kind == "ratio":
            return f"{r.ratio:.2f}"
        return fmt(r.tool["median"] if kind == "tool" else r.git["median"])

    text = re.sub(r"\{\{(?:(ratio|tool|git|goal):)?([a-z-]+)\}\}", value, text)
    left = re.findall(r"\{\{[^}]*\}\}", text)
    if left:
        sys.exit(f"gen-benchmarks.py: unknown placeholders in the template: {', '.join(left)}")
    return text


def replace_between_markers(path, start, end, body):
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        sys.exit(f"gen-benchmarks.py: {path} has no {start} … {end} block")
    new = pattern.sub(lambda _: f"{start}\n{body}\n{end}", text, count=1)
    path.write_text(new, encoding="utf-8")


def main():
    root = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", type=Path, default=root / "scripts/out")
    ap.add_argument("--template", type=Path, default=root / "scripts/BENCHMARKS.in.md")
    ap.add_argument("--output", type=Path, default=root / "BENCHMARKS.md")
    ap.add_argument("--svg", type=Path, default=root / "docs/benchmarks.svg")
    ap.add_argument("--readme", type=Path, default=root / "README.md")
    ap.add_argument("--scale-svg", type=Path, default=root / "docs/benchmarks-scale.svg")
    ap.add_argument("--scale-sizes", default=",".join(map(str, SCALE_SIZES)),
                    help="the sizes (files, comma-separated) of the scale section")
    ap.add_argument("--bench-data", default=os.environ.get("BENCH_DATA", "/work/bench-data"))
    args = ap.parse_args()
    try:
        scale_sizes = sorted(int(s) for s in args.scale_sizes.split(","))
    except ValueError:
        sys.exit(f"gen-benchmarks.py: --scale-sizes takes numbers of files separated by "
                 f"commas (got '{args.scale_sizes}')")

    results = load_results(args.out_dir)
    for r in results:
        if r.problem:
            print(f"gen-benchmarks.py: warning: {r.op.label}: {r.problem}", file=sys.stderr)
    if not any(r.ratio is not None for r in results):
        sys.exit(f"gen-benchmarks.py: no usable results in {args.out_dir}; "
                 "run scripts/benchmarks.sh --run first")
    scale, scale_problems = load_scale(args.out_dir, scale_sizes)
    for p in scale_problems:
        print(f"gen-benchmarks.py: warning: scale: {p}", file=sys.stderr)
    written = [args.output, args.svg, args.readme] + ([args.scale_svg] if scale else [])
    outputs = [os.path.relpath(p.resolve(), root) for p in written]
    info = machine(root, args.bench_data, outputs)
    svg_rel = os.path.relpath(args.svg, args.output.parent)
    blocks = {
        "chart": f"![git-rollback-sprint ÷ git per operation, median time]({svg_rel})",
        "results": results_table(results),
        "goals": goals_list(results),
        "machine": machine_list(info),
        "runs": runs_table(results),
        "scale": scale_section(scale, scale_problems, scale_sizes,
                               os.path.relpath(args.scale_svg, args.output.parent)),
    }
    generated = ("<!-- Generated by scripts/benchmarks.sh from scripts/BENCHMARKS.in.md and "
                 "scripts/out/*.json; edit those, not this file. -->\n")
    args.svg.parent.mkdir(parents=True, exist_ok=True)
    args.svg.write_text(svg_chart(results, info), encoding="utf-8")
    if scale:
        args.scale_svg.parent.mkdir(parents=True, exist_ok=True)
        args.scale_svg.write_text(svg_scale_chart(scale, info), encoding="utf-8")
    args.output.write_text(generated + fill(args.template.read_text(encoding="utf-8"),
                                            results, blocks, args.out_dir), encoding="utf-8")
    if args.readme.exists():
        replace_between_markers(args.readme, "<!-- benchmarks:start -->", "<!-- benchmarks:end -->",
                                readme_block(results, info,
                                             os.path.relpath(args.svg, args.readme.parent)))
    for p in written:
        p = p.resolve()
        print(f"wrote {p.relative_to(root) if p.is_relative_to(root) else p}")


if __name__ == "__main__":
    main()
