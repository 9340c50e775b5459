//! What git remembers of the recent past, as text for `analyze`: the
//! reflogs of HEAD and of the stash, and a graph of the last commits.
//!
//! Reflogs are read through libgit2 ([`Repo::reflog`]). The graph is drawn
//! from what [`Repo`] offers (parents, commit summaries, refs), in the
//! spirit of `git log --graph --oneline --decorate`; `git` itself is not
//! run.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};

use super::markdown::one_line;
use crate::clock;
use crate::git::{HeadState, Oid, Repo};

pub use crate::git::ReflogEntry;

/// A reflog as `git reflog` shows it, newest first:
/// `1a2b3c4d HEAD@{0}: 2026-11-21T10:04:05+00:00 Name <mail>: message`.
pub fn reflog_lines(label: &str, entries: &[ReflogEntry]) -> Vec<String> {
    entries
        .iter()
        .rev()
        .enumerate()
        .map(|(n, e)| {
            format!(
                "{} {label}@{{{n}}}: {} {}: {}",
                crate::git::short(&e.new.to_string()),
                clock::format_unix(e.time, e.offset_minutes),
                one_line(&e.who),
                one_line(&e.message)
            )
        })
        .collect()
}

/// A commit of the graph.
#[derive(Debug, Clone)]
struct Node {
    id: Oid,
    parents: Vec<Oid>,
    time: i64,
    summary: String,
}

/// How many commits the graph looks at to put its rows in order: children
/// before parents even when commit dates disagree, without walking all of
/// a large history.
const WINDOW_PER_ROW: usize = 10;

/// `git log --graph --oneline --decorate -<limit>` over HEAD, the branches
/// and the tags (not the stash, nor the tool's keep refs `refs/rollback/`):
/// the lines, and the number of commits drawn.
pub fn graph(repo: &Repo, limit: usize) -> anyhow::Result<(Vec<String>, usize)> {
    let decorations = decorations(repo)?;
    let mut tips: Vec<Oid> = Vec::new();
    if let Some(head) = repo.head_commit()? {
        tips.push(head);
    }
    tips.extend(decorations.keys().copied());
    let nodes = walk(repo, &tips, limit.saturating_mul(WINDOW_PER_ROW).max(200))?;
    let order = topo_order(&nodes, limit);
    let by_id: HashMap<Oid, &Node> = nodes.iter().map(|n| (n.id, n)).collect();
    let mut lanes: Vec<Oid> = Vec::new();
    let mut lines = Vec::new();
    for id in &order {
        let node = by_id[id];
        let col = match lanes.iter().position(|l| l == id) {
            Some(col) => {
                // Branches that end here join the first lane that has it.
                let extra: Vec<usize> = (col + 1..lanes.len())
                    .filter(|&k| lanes[k] == *id)
                    .collect();
                for &k in extra.iter().rev() {
                    lines.push(join_line(lanes.len(), k));
                    lanes.remove(k);
                }
                col
            }
            None => {
                lanes.push(*id);
                lanes.len() - 1
            }
        };
        // Parents of a merge that no lane leads to yet open new lanes.
        let mut opened: Vec<Oid> = Vec::new();
        for parent in node.parents.iter().skip(1) {
            if !lanes.contains(parent) && !opened.contains(parent) {
                opened.push(*parent);
            }
        }
        let mut row = (0..lanes.len())
            .map(|j| if j == col { "*" } else { "|" })
            .collect::<Vec<_>>()
            .join(" ");
        // git leaves room after a merge's `*` for the lanes it opens.
        row.push_str(&" ".repeat(2 * opened.len() + 1));
        row.push_str(&repo.short_id(*id));
        if let Some(names) = decorations.get(id) {
            row.push_str(&format!(" ({})", names.join(", ")));
        }
        row.push(' ');
        row.push_str(&node.summary);
        lines.push(row);
        match node.parents.first() {
            None => {
                lanes.remove(col);
            }
            Some(first) => {
                lanes[col] = *first;
                for (n, parent) in opened.iter().enumerate() {
                    lanes.insert(col + 1 + n, *parent);
                    lines.push(fork_line(lanes.len(), col + 1 + n));
                }
            }
        }
        // Lanes that now lead to the same commit join at once, as git
        // draws them: the rightmost into the one on its left.
        while let Some(k) = (1..lanes.len())
            .rev()
            .find(|&k| lanes[..k].contains(&lanes[k]))
        {
            lines.push(join_line(lanes.len(), k));
            lanes.remove(k);
        }
    }
    Ok((lines, order.len()))
}

/// `|/` — lane `k` ends, joining the lane on its left; the lanes right of
/// it move one to the left.
fn join_line(lanes: usize, k: usize) -> String {
    let mut cells = vec![' '; lanes * 2];
    for j in 0..lanes {
        if j < k {
            cells[2 * j] = '|';
        } else {
            cells[2 * j - 1] = '/';
        }
    }
    cells.into_iter().collect::<String>().trim_end().to_string()
}

/// `|\` — a merge opens lane `at`; the lanes right of it move one to the
/// right.
fn fork_line(lanes: usize, at: usize) -> String {
    let mut cells = vec![' '; lanes * 2];
    for j in 0..lanes {
        if j < at {
            cells[2 * j] = '|';
        } else {
            cells[2 * j - 1] = '\\';
        }
    }
    cells.into_iter().collect::<String>().trim_end().to_string()
}

/// `HEAD -> main`, `tag: baseline`, `backup/emergency-…` by commit.
fn decorations(repo: &Repo) -> anyhow::Result<BTreeMap<Oid, Vec<String>>> {
    let mut out: BTreeMap<Oid, Vec<String>> = BTreeMap::new();
    let head = repo.head_state()?;
    let head_branch = match &head {
        HeadState::Symbolic(r) => Some(r.clone()),
        HeadState::Detached(_) => None,
    };
    if let (HeadState::Detached(_), Some(id)) = (&head, repo.head_commit()?) {
        out.entry(id).or_default().push("HEAD".to_string());
    }
    let branches = repo.refs_with_prefix("refs/heads/")?;
    // HEAD's branch first, as git shows it.
    for (name, id) in branches
        .iter()
        .filter(|(n, _)| Some(n) == head_branch.as_ref())
    {
        out.entry(*id).or_default().insert(
            0,
            format!(
                "HEAD -> {}",
                one_line(name.trim_start_matches("refs/heads/"))
            ),
        );
    }
    for (name, _) in repo.refs_with_prefix("refs/tags/")? {
        let short = name.trim_start_matches("refs/tags/");
        // A tag of a tree or a blob has no place in a commit graph.
        if let Ok(Some(tag)) = repo.tag_info(short) {
            out.entry(tag.commit)
                .or_default()
                .push(format!("tag: {}", one_line(short)));
        }
    }
    for (name, id) in branches
        .iter()
        .filter(|(n, _)| Some(n) != head_branch.as_ref())
    {
        out.entry(*id)
            .or_default()
            .push(one_line(name.trim_start_matches("refs/heads/")));
    }
    Ok(out)
}

/// Up to `max` commits reachable from `tips`, newest first by commit date
/// (the order git's walk uses).
fn walk(repo: &Repo, tips: &[Oid], max: usize) -> anyhow::Result<Vec<Node>> {
    let mut queue: BinaryHeap<(i64, Reverse<usize>, Oid)> = BinaryHeap::new();
    let mut seen: HashSet<Oid> = HashSet::new();
    let mut seq = 0usize;
    for tip in tips {
        if seen.insert(*tip) {
            let info = repo.commit_info(*tip)?;
            queue.push((info.time, Reverse(seq), *tip));
            seq += 1;
        }
    }
    let mut nodes = Vec::new();
    while let Some((time, _, id)) = queue.pop() {
        if nodes.len() >= max {
            break;
        }
        let info = repo.commit_info(id)?;
        let parents = repo.commit_parents(id)?;
        for p in &parents {
            if seen.insert(*p) {
                let t = repo.commit_info(*p).map(|i| i.time).unwrap_or(time);
                queue.push((t, Reverse(seq), *p));
                seq += 1;
            }
        }
        nodes.push(Node {
            id,
            parents,
            time,
            summary: one_line(&info.summary),
        });
    }
    Ok(nodes)
}

/// The first `limit` nodes with every child before its parents, newest
/// first among the commits that are ready.
fn topo_order(nodes: &[Node], limit: usize) -> Vec<Oid> {
    let index: HashMap<Oid, usize> = nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
    let mut children = vec![0usize; nodes.len()];
    for n in nodes {
        for p in &n.parents {
            if let Some(&i) = index.get(p) {
                children[i] += 1;
            }
        }
    }
    let mut ready: BinaryHeap<(i64, Reverse<usize>)> = nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| children[*i] == 0)
        .map(|(i, n)| (n.time, Reverse(i)))
        .collect();
    let mut order = Vec::new();
    while let Some((_, Reverse(i))) = ready.pop() {
        if order.len() >= limit {
            break;
        }
        order.push(nodes[i].id);
        for p in &nodes[i].parents {
            if let Some(&j) = index.get(p) {
                children[j] -= 1;
                if children[j] == 0 {
                    ready.push((nodes[j].time, Reverse(j)));
                }
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::{fork_line, join_line};

    #[test]
    fn lanes_join_and_fork() {
        assert_eq!(join_line(2, 1), "|/");
        assert_eq!(join_line(3, 1), "|/ /");
        assert_eq!(fork_line(2, 1), "|\\");
        assert_eq!(fork_line(3, 1), "|\\ \\");
    }
}
