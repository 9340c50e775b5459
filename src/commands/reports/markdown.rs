//! Putting untrusted text into markdown and into commands a reader will
//! copy: reasons, causes and severities come from `metrics.json` (which the
//! team's own script may have written) and branch names can hold almost any
//! character, so nothing from them may start a new line, a heading, a link
//! or an HTML tag, or end a code span early.

/// Text that stays plain text on its line, and reads as it was written:
/// only what markdown (CommonMark, GitHub's tables, strikethrough and
/// math) or HTML would act on is escaped — emphasis (`*`, `_` unless
/// inside a word), code (`` ` ``), links (`[`, `]`), HTML and autolinks
/// (`<`, an entity's `&`), strikethrough (`~`), math (`$` when there are
/// two), a backslash that would escape what follows it, and at the start
/// (the text may open a line, a list item or a table cell) what would make
/// a heading, a quote, a list or a rule. Line breaks and control characters
/// become spaces. A `|` is for [`md_cell`] to escape, in a table only.
pub fn md_text(text: &str) -> String {
    let chars: Vec<char> = one_line(text).chars().collect();
    let dollars = chars.iter().filter(|&&c| c == '$').count();
    let mut out = String::with_capacity(text.len() + 8);
    let start = chars.iter().position(|c| *c != ' ').unwrap_or(chars.len());
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        let escape = match c {
            '\\' => next.is_none_or(|n| n.is_ascii_punctuation()),
            '`' | '*' | '[' | ']' | '<' | '~' => true,
            '_' => {
                !(prev.is_some_and(char::is_alphanumeric)
                    && next.is_some_and(char::is_alphanumeric))
            }
            '$' => dollars > 1,
            '&' => starts_entity(&chars[i + 1..]),
            '#' | '>' | '-' | '+' | '=' => i == start,
            // `1.` or `1)` opening the text would start a numbered list.
            '.' | ')' => {
                i > start
                    && chars[start..i].iter().all(char::is_ascii_digit)
                    && next.is_none_or(|n| n == ' ')
            }
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether what follows an `&` would make it an HTML entity (`&amp;`,
/// `&#38;`).
fn starts_entity(rest: &[char]) -> bool {
    let name = rest
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == '#')
        .count();
    name > 0 && rest.get(name) == Some(&';')
}

/// A table cell's markdown: a `|` would end the cell, in text and in code
/// spans alike (GitHub's tables read `\|` as a `|` in both).
pub fn md_cell(markdown: &str) -> String {
    markdown.replace('|', "\\|")
}

/// A code span that holds any text on one line (branch names may contain
/// backticks). In a table, the cell is given to [`md_cell`].
pub fn md_code(text: &str) -> String {
    let one_line: String = one_line(text);
    let longest = one_line
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if one_line.starts_with('`') || one_line.ends_with('`') {
        format!("{fence} {one_line} {fence}")
    } else {
        format!("{fence}{one_line}{fence}")
    }
}

/// Control characters (line breaks, escapes) as spaces: for plain-text
/// files and terminal lines.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// One word of a shell command, quoted when the shell would act on it.
pub fn shell_word(word: &str) -> String {
    crate::ui::shell_word(&one_line(word))
}

/// The one command advised, everywhere (console, `report.md`,
/// `analysis.md`, `notify`), to bring good commits back after a rollback:
/// `recover` of the sprint branch the rollback left (it did not move and
/// holds the sprint's commits only; the backup branch adds the work in
/// progress as a WIP commit on top), or of the backup branch when there is
/// no sprint branch (a detached HEAD, an emergency, the branch deleted
/// since).
pub fn recover_command(branch: &str) -> String {
    format!("git rollback-sprint recover {}", shell_word(branch))
}

/// A timestamp as it is when it is one; escaped when it is anything else.
pub fn plain_time(text: &str) -> String {
    if chrono::DateTime::parse_from_rfc3339(text).is_ok() {
        text.to_string()
    } else {
        md_text(text)
    }
}

pub fn plain_severity(text: &str) -> String {
    if ["critical", "high", "medium", "low"].contains(&text) {
        text.to_string()
    } else {
        md_text(text)
    }
}

#[cfg(test)]
mod tests {
    use super::{md_cell, md_code, md_text, shell_word};

    #[test]
    fn markdown_text_stays_on_its_line_and_inert() {
        assert_eq!(md_text("a\nb"), "a b");
        assert_eq!(md_text("<script>"), "\\<script>");
        assert_eq!(md_text("# [x](y)"), "\\# \\[x\\](y)");
        assert_eq!(md_text("`cmd`"), "\\`cmd\\`");
        assert_eq!(md_text("*bold* and _it_"), "\\*bold\\* and \\_it\\_");
        assert_eq!(md_text("- item"), "\\- item");
        assert_eq!(md_text("> quote"), "\\> quote");
        assert_eq!(md_text("1. first"), "1\\. first");
        assert_eq!(md_text("~~gone~~"), "\\~\\~gone\\~\\~");
        assert_eq!(md_text("$x$ math"), "\\$x\\$ math");
        assert_eq!(md_text("&amp; &#38;"), "\\&amp; \\&#38;");
        assert_eq!(md_text("ends in \\"), "ends in \\\\");
        assert_eq!(md_text("\\*"), "\\\\\\*");
    }

    #[test]
    fn ordinary_text_is_left_as_it_is() {
        for text in [
            "tests failing (3 of 40), see test_results.txt!",
            "snake_case names stay, and so do dots. Dashes - too + plus",
            "v1.2.3-rc.1 (the release) costs $5 & takes 10 minutes",
            "C:\\path\\file and a|b, {braces}, #3 mid-line, 50% off = fine",
            "2026-11-21T10:04:05+01:00",
        ] {
            assert_eq!(md_text(text), text);
        }
    }

    #[test]
    fn table_cells_escape_pipes_in_text_and_code() {
        assert_eq!(md_cell("a|b `c|d`"), "a\\|b `c\\|d`");
    }

    #[test]
    fn code_spans_hold_backticks() {
        assert_eq!(md_code("main"), "`main`");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`x"), "`` `x ``");
        assert_eq!(md_code("a|b\nc"), "`a|b c`");
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("backup/sprint-3"), "backup/sprint-3");
        assert_eq!(shell_word("a$(b)"), "'a$(b)'");
        assert_eq!(
            shlex::split(&shell_word("it's")),
            Some(vec!["it's".to_string()])
        );
        assert_eq!(shell_word("a\nb c"), "'a b c'");
    }
}
