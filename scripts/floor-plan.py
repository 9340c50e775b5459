#!/usr/bin/env python3
"""floor-plan.py REPO OUTDIR [TARGET] — the plans scripts/floor.c carries out.
   floor-plan.py --manifest DIR      — DIR's work tree, one line an entry

REPO is a copy of the benchmark repository that may be spoiled (a temporary
index and the work tree's blobs are written into it); nothing in it is
timed. TARGET is the revision the rollbacks go to (default: baseline).
Writes, with the git command line only:

  OUTDIR/to-target.plan,   .data   the work tree as it is -> TARGET's tree:
                                   what `emergency` and `sprint rollback` do
                                   to the files (untracked files go, ignored
                                   files stay)
  OUTDIR/from-target.plan, .data   back again: what the undo of `emergency`
                                   does to the files

The work tree's state is the tree `git add -A` makes of it in a temporary
index (tracked, modified, deleted and untracked files; not the ignored
ones). The changes are `git diff-tree` between that tree and TARGET's:
a file only on the side left is removed, any other difference is written
with the bytes of the side reached (`git cat-file --batch`). An untracked
file that TARGET's .gitignore files ignore stays, as the tool keeps it. Directories
left empty by the removals are removed, deepest first. The plan format is
described in floor.c.

--manifest prints every directory, file (its content's SHA-1 and whether it
is executable) and symlink (its target) of a work tree, leaving out .git and
the tool's reports folder rollbacks/: the bench scripts compare the floor's
result with the tool's with it.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def git(repo, *args, env=None, data=None):
    run = subprocess.run(["git", "-C", repo, *args], capture_output=True, env=env, input=data)
    if run.returncode:
        sys.exit(f"floor-plan.py: git {' '.join(args)} failed: "
                 f"{run.stderr.decode(errors='replace').strip()}")
    return run.stdout


def worktree_tree(repo):
    """The tree of the work tree as `git add -A` sees it, the index untouched."""
    index = git(repo, "rev-parse", "--git-path", "index").decode().strip()
    tmp = os.path.join(repo, index + ".floor-plan")
    shutil.copyfile(os.path.join(repo, index), tmp)
    env = dict(os.environ, GIT_INDEX_FILE=tmp)
    git(repo, "add", "-A", env=env)
    tree = git(repo, "write-tree", env=env).decode().strip()
    os.unlink(tmp)
    return tree


def on_disk(repo):
    """Every file, symlink and directory of the work tree (relative paths)."""
    files, dirs = set(), set()
    for top, subdirs, names in os.walk(repo):
        rel = os.path.relpath(top, repo)
        prefix = "" if rel == "." else rel + "/"
        subdirs[:] = [d for d in subdirs if d != ".git"]
        for d in subdirs:
            if os.path.islink(os.path.join(top, d)):
                files.add(prefix + d)
            else:
                dirs.add(prefix + d)
        files.update(prefix + n for n in names if n != ".git")
    return files, dirs


def parents(path):
    parts = path.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def contents(repo, writes):
    """(path, mode, chmod, bytes) of each write: the bytes git's checkout
    writes, smudge filters and end-of-line conversion applied to files (not
    to symlinks)."""
    got = {}
    for links in (False, True):
        todo = [w for w in writes if (w[1] == "120000") == links]
        batch = git(repo, "cat-file", "--batch", *([] if links else ["--filters"]),
                    data="".join(f"{w[2]} {w[0]}\n" if not links else f"{w[2]}\n"
                                 for w in todo).encode("utf-8", "surrogateescape"))
        at = 0
        for path, _, oid, _ in todo:
            header_end = batch.index(b"\n", at)
            got_oid, kind, size = batch[at:header_end].decode().split(" ")
            if got_oid != oid or kind != "blob":
                sys.exit(f"floor-plan.py: git cat-file gave {got_oid} {kind} for {path}")
            size = int(size)
            got[path] = batch[header_end + 1:header_end + 1 + size]
            at = header_end + 1 + size + 1
    return [(path, mode, chmod, got[path]) for path, mode, _, chmod in writes]


def ignored_at(repo, target, paths):
    """Those of `paths` (untracked files) that TARGET's .gitignore files
    ignore, with the repository's own exclude files: the tool keeps them
    (README, "An untracked file that the target's .gitignore ignores is
    kept"). Asked of `git check-ignore` in a scratch repository holding
    only TARGET's .gitignore files."""
    if not paths:
        return set()
    names = git(repo, "ls-tree", "-r", "-z", "--name-only", target).split(b"\0")
    scratch = tempfile.mkdtemp(prefix="floor-plan-")
    try:
        subprocess.run(["git", "init", "-q", scratch], check=True)
        exclude = git(repo, "rev-parse", "--git-path", "info/exclude").decode().strip()
        exclude = os.path.join(repo, exclude)
        if os.path.isfile(exclude):
            shutil.copyfile(exclude, os.path.join(scratch, ".git", "info", "exclude"))
        for name in names:
            if name == b".gitignore" or name.endswith(b"/.gitignore"):
                text = git(repo, "cat-file", "blob", f"{target}:".encode() + name)
                dest = os.path.join(scratch.encode(), name)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with open(dest, "wb") as f:
                    f.write(text)
        run = subprocess.run(
            ["git", "-C", scratch, "check-ignore", "--no-index", "-z", "--stdin"],
            input="\0".join(paths).encode("utf-8", "surrogateescape"),
            capture_output=True)
        if run.returncode not in (0, 1):
            sys.exit(f"floor-plan.py: git check-ignore failed: {run.stderr.decode(errors='replace')}")
        return {p.decode("utf-8", "surrogateescape") for p in run.stdout.split(b"\0") if p}
    finally:
        shutil.rmtree(scratch)


def plan(repo, frm, to, files, dirs, out, keep=frozenset()):
    """Write out.plan and out.data for the change frm -> to of the work tree
    whose entries are `files` and `dirs`, leaving the files of `keep` as
    they are; return the entries after it."""
    raw = git(repo, "diff-tree", "-r", "-z", "--no-renames", frm, to).split(b"\0")
    removes, writes = [], []            # paths; (path, mode, oid, chmod)
    for meta, path in zip(raw[0::2], raw[1::2]):
        if not meta:
            continue
        old_mode, new_mode, _, new_oid, status = meta[1:].decode().split(" ")
        path = path.decode("utf-8", "surrogateescape")
        if "\t" in path or "\n" in path:
            sys.exit(f"floor-plan.py: a path with a tab or newline is not supported: {path!r}")
        if path in keep:
            continue
        if status == "D":
            removes.append(path)
            continue
        link_change = status != "A" and (old_mode == "120000") != (new_mode == "120000")
        if link_change:
            removes.append(path)
        chmod = status != "A" and not link_change and old_mode != new_mode
        writes.append((path, new_mode, new_oid, int(chmod)))
    missing = [p for p in removes if p not in files]
    if missing:
        sys.exit(f"floor-plan.py: the work tree lacks {len(missing)} file(s) to remove, "
                 f"such as {missing[0]}")

    after = (files - set(removes)) | {w[0] for w in writes}
    kept_dirs = {d for p in after for d in parents(p)}
    empty = {d for p in removes for d in parents(p)} - kept_dirs
    rmdirs = sorted(empty & dirs, key=lambda d: (-d.count("/"), d))

    lines = [f"D\t{p}\n" for p in removes] + [f"R\t{d}\n" for d in rmdirs]
    offset = 0
    with open(f"{out}.data", "wb") as data:
        for path, mode, chmod, content in contents(repo, writes):
            data.write(content)
            lines.append(f"W\t{mode}\t{chmod}\t{offset}\t{len(content)}\t{path}\n")
            offset += len(content)
    with open(f"{out}.plan", "w", encoding="utf-8", errors="surrogateescape") as f:
        f.writelines(lines)
    print(f"floor-plan.py: {os.path.basename(out)}: {len(removes)} file(s) to remove, "
          f"{len(rmdirs)} director(ies), {len(writes)} to write ({offset} bytes)",
          file=sys.stderr)
    after_dirs = (dirs - set(rmdirs)) | {d for w in writes for d in parents(w[0])}
    return after, after_dirs


def manifest(root):
    for top, subdirs, names in os.walk(root):
        rel = os.path.relpath(top, root)
        if rel == ".":
            subdirs[:] = [d for d in subdirs if d not in (".git", "rollbacks")]
            names = [n for n in names if n not in (".git", "rollbacks")]
        subdirs.sort()
        for name in sorted(subdirs + names):
            full = os.path.join(top, name)
            path = os.path.normpath(os.path.join(rel, name))
            if os.path.islink(full):
                print(f"link {os.readlink(full)} {path}")
            elif os.path.isdir(full):
                print(f"dir {path}")
            else:
                with open(full, "rb") as f:
                    sha = hashlib.sha1(f.read()).hexdigest()
                print(f"file {oct(os.lstat(full).st_mode & 0o777)} {sha} {path}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--manifest":
        return manifest(sys.argv[2])
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.split("\n\n")[0])
    repo, outdir = os.path.abspath(sys.argv[1]), Path(sys.argv[2])
    target = sys.argv[3] if len(sys.argv) == 4 else "baseline"
    outdir.mkdir(parents=True, exist_ok=True)
    work = worktree_tree(repo)
    goal = git(repo, "rev-parse", "--verify", f"{target}^{{tree}}").decode().strip()
    files, dirs = on_disk(repo)
    untracked = git(repo, "ls-files", "-z", "--others", "--exclude-standard").split(b"\0")
    keep = ignored_at(repo, goal, [p.decode("utf-8", "surrogateescape") for p in untracked if p])
    files, dirs = plan(repo, work, goal, files, dirs, str(outdir / "to-target"), keep)
    plan(repo, goal, work, files, dirs, str(outdir / "from-target"), keep)


if __name__ == "__main__":
    main()
