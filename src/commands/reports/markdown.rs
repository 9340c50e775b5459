//! Putting untrusted text into markdown and into commands a reader will
//! copy: reasons, causes and severities come from `metrics.json` (which the
//! team's own script may have written) and branch names can hold almost any
//! character, so nothing from them may start a new line, a heading, a link
//! or an HTML tag, or end a code span early.

/// Text that stays plain text on its line: every character markdown or
/// HTML would act on is escaped, line breaks and control characters become
/// spaces.
pub fn md_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '-' | '.'
            | '!' | '|' | '<' | '>' | '~' | '$' | '&' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A code span that holds any text on one line (branch names may contain
/// backticks; a `|` would end a table cell).
pub fn md_code(text: &str) -> String {
    let one_line: String = one_line(text).replace('|', "\\|");
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
    use super::{md_code, md_text, shell_word};

    #[test]
    fn markdown_text_stays_on_its_line_and_inert() {
        assert_eq!(md_text("a\nb"), "a b");
        assert_eq!(md_text("<script>"), "\\<script\\>");
        assert_eq!(md_text("# [x](y)"), "\\# \\[x\\]\\(y\\)");
        assert_eq!(md_text("`cmd`"), "\\`cmd\\`");
    }

    #[test]
    fn code_spans_hold_backticks_and_pipes() {
        assert_eq!(md_code("main"), "`main`");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`x"), "`` `x ``");
        assert_eq!(md_code("a|b\nc"), "`a\\|b c`");
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
