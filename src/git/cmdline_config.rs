//! Config given on git's command line, which libgit2 never reads.
//!
//! `git -c key=value rollback-sprint …` hands the pairs to this process in
//! `GIT_CONFIG_PARAMETERS`; `GIT_CONFIG_COUNT` with `GIT_CONFIG_KEY_<n>` /
//! `GIT_CONFIG_VALUE_<n>` is the other way to pass them. git reads the
//! counted pairs first, then the parameters, and both rank above every
//! config file: the last value wins a single-valued key, and a multi-valued
//! key gets them after the files' values. Keys compare as git compares
//! them: section and name without regard to case, a subsection exactly.

use crate::error::user;

/// The command-line config of this process, in git's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLineConfig {
    /// Canonical key, and the value (`None`: a key given without `=`,
    /// which git reads as boolean true).
    entries: Vec<(String, Option<String>)>,
}

impl CommandLineConfig {
    /// Read `GIT_CONFIG_COUNT`/`_KEY_n`/`_VALUE_n`, then `GIT_CONFIG_PARAMETERS`.
    pub fn from_env() -> anyhow::Result<CommandLineConfig> {
        let var = |name: &str| std::env::var(name).ok();
        let mut config = CommandLineConfig::default();
        config.read_counted(&var)?;
        if let Some(params) = var("GIT_CONFIG_PARAMETERS") {
            config.read_parameters(&params)?;
        }
        Ok(config)
    }

    fn read_counted(&mut self, var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        let Some(count) = var("GIT_CONFIG_COUNT") else {
            return Ok(());
        };
        let count = count.trim();
        if count.is_empty() {
            return Ok(());
        }
        let count: u32 = count.parse().map_err(|_| {
            user(format!("GIT_CONFIG_COUNT is `{count}`, not a number"))
                .hint("set it to the number of GIT_CONFIG_KEY_<n>/GIT_CONFIG_VALUE_<n> pairs")
        })?;
        for n in 0..count {
            let key = var(&format!("GIT_CONFIG_KEY_{n}")).ok_or_else(|| {
                user(format!(
                    "GIT_CONFIG_KEY_{n} is missing (GIT_CONFIG_COUNT is {count})"
                ))
                .hint("set every GIT_CONFIG_KEY_<n> below GIT_CONFIG_COUNT")
            })?;
            let value = var(&format!("GIT_CONFIG_VALUE_{n}")).ok_or_else(|| {
                user(format!(
                    "GIT_CONFIG_VALUE_{n} is missing (GIT_CONFIG_COUNT is {count})"
                ))
                .hint("set every GIT_CONFIG_VALUE_<n> below GIT_CONFIG_COUNT")
            })?;
            self.push(&key, Some(value))?;
        }
        Ok(())
    }

    /// git's `GIT_CONFIG_PARAMETERS`: whitespace-separated single-quoted
    /// words, either `'key=value'` (older git, and `-c key` as `'key'`) or
    /// `'key'='value'` (git 2.31 and later; `'key'=` for no value).
    pub fn read_parameters(&mut self, text: &str) -> anyhow::Result<()> {
        let bogus = || {
            user("GIT_CONFIG_PARAMETERS is not in git's format")
                .hint("pass settings with `git -c key=value`, or unset GIT_CONFIG_PARAMETERS")
        };
        let mut rest = text.trim_start();
        while !rest.is_empty() {
            let (word, after) = sq_dequote_step(rest).ok_or_else(bogus)?;
            match after.chars().next() {
                None => {
                    self.push_old_style(&word)?;
                    rest = after;
                }
                Some(c) if c.is_whitespace() => {
                    self.push_old_style(&word)?;
                    rest = after;
                }
                Some('=') => {
                    let after = &after[1..];
                    match after.chars().next() {
                        Some('\'') => {
                            let (value, after) = sq_dequote_step(after).ok_or_else(bogus)?;
                            if after.chars().next().is_some_and(|c| !c.is_whitespace()) {
                                return Err(bogus().into());
                            }
                            self.push(&word, Some(value))?;
                            rest = after;
                        }
                        None => {
                            self.push(&word, None)?;
                            rest = after;
                        }
                        Some(c) if c.is_whitespace() => {
                            self.push(&word, None)?;
                            rest = after;
                        }
                        Some(_) => return Err(bogus().into()),
                    }
                }
                Some(_) => return Err(bogus().into()),
            }
            rest = rest.trim_start();
        }
        Ok(())
    }

    /// `key=value` in one word; no `=` means no value (true).
    fn push_old_style(&mut self, word: &str) -> anyhow::Result<()> {
        match word.split_once('=') {
            Some((key, value)) => self.push(key.trim(), Some(value.to_string())),
            None => self.push(word.trim(), None),
        }
    }

    fn push(&mut self, key: &str, value: Option<String>) -> anyhow::Result<()> {
        let canonical = canonical_key(key).ok_or_else(|| {
            user(format!("invalid config key on git's command line: `{key}`"))
                .hint("keys look like section.name or section.subsection.name")
        })?;
        self.entries.push((canonical, value));
        Ok(())
    }

    /// The last value given for `key`: `Some(None)` for a key given
    /// without a value.
    pub fn last(&self, key: &str) -> Option<Option<&str>> {
        let key = canonical_key(key)?;
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_deref())
    }

    /// Every value given for `key`, in order.
    pub fn all(&self, key: &str) -> Vec<Option<&str>> {
        let Some(key) = canonical_key(key) else {
            return Vec::new();
        };
        self.entries
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.as_deref())
            .collect()
    }
}

impl CommandLineConfig {
    /// Names of filter drivers given a command (`filter.<name>.smudge`).
    pub fn filter_drivers(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (key, value) in &self.entries {
            let Some(rest) = key.strip_prefix("filter.") else {
                continue;
            };
            let Some((name, what)) = rest.rsplit_once('.') else {
                continue;
            };
            let command = value.as_deref().is_some_and(|v| !v.is_empty());
            if command
                && matches!(what, "clean" | "smudge" | "process")
                && !names.iter().any(|n| n == name)
            {
                names.push(name.to_string());
            }
        }
        names
    }
}

/// git's canonical form of a key: section and name in lower case, the
/// subsection as given; `None` for a key git would reject.
pub fn canonical_key(key: &str) -> Option<String> {
    let first = key.find('.')?;
    let last = key.rfind('.')?;
    let section = &key[..first];
    let name = &key[last + 1..];
    let valid_section = !section.is_empty()
        && section
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    let valid_name = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid_section || !valid_name || key.contains('\n') {
        return None;
    }
    let mut out = section.to_ascii_lowercase();
    if first != last {
        out.push_str(&key[first..last]);
    }
    out.push('.');
    out.push_str(&name.to_ascii_lowercase());
    Some(out)
}

/// One single-quoted word (`'it'\''s'`), and what follows it; git's
/// `sq_dequote_step`. Outside the quotes only `\'` and `\!` are allowed,
/// each followed by a quote that resumes the word.
fn sq_dequote_step(text: &str) -> Option<(String, &str)> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'\'') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 1;
    loop {
        let c = *bytes.get(i)?;
        if c != b'\'' {
            out.push(c);
            i += 1;
            continue;
        }
        // Out of the quotes.
        match bytes.get(i + 1) {
            Some(b'\\')
                if matches!(bytes.get(i + 2), Some(b'\'' | b'!'))
                    && bytes.get(i + 3) == Some(&b'\'') =>
            {
                out.push(bytes[i + 2]);
                i += 4;
            }
            _ => {
                let word = String::from_utf8(out).ok()?;
                return Some((word, &text[i + 1..]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> CommandLineConfig {
        let mut c = CommandLineConfig::default();
        c.read_parameters(text).expect("parses");
        c
    }

    #[test]
    fn old_and_new_forms() {
        let c =
            parse("'rollback.baseline=old' 'Rollback.Stage.Api.PATH'='a b' 'rollback.hookTests'");
        assert_eq!(c.last("rollback.baseline"), Some(Some("old")));
        // The subsection is everything between the first and last dot.
        assert_eq!(c.last("ROLLBACK.Stage.Api.path"), Some(Some("a b")));
        assert_eq!(c.last("rollback.stage.Api.path"), None);
        assert_eq!(c.last("rollback.hooktests"), Some(None));
    }

    #[test]
    fn quotes_inside_values_and_empty_values() {
        let c = parse(
            r"'rollback.testCommand'='echo '\''hi'\'''\!'' 'rollback.stopCommand'= 'rollback.startCommand'=''",
        );
        assert_eq!(c.last("rollback.testcommand"), Some(Some("echo 'hi'!")));
        assert_eq!(c.last("rollback.stopcommand"), Some(None));
        assert_eq!(c.last("rollback.startcommand"), Some(Some("")));
    }

    #[test]
    fn bogus_text_is_refused() {
        for text in [
            "rollback.baseline=x",
            "'unterminated",
            "'a.b'x",
            "'a.b'='c'd",
            "'nodot=1'",
        ] {
            let mut c = CommandLineConfig::default();
            assert!(c.read_parameters(text).is_err(), "{text}");
        }
    }

    #[test]
    fn filter_drivers_with_a_command() {
        let c = parse("'filter.lfs.smudge'='git-lfs smudge' 'filter.Crypt.clean=enc' 'filter.off.smudge=' 'filter.x.required=true'");
        assert_eq!(c.filter_drivers(), vec!["lfs", "Crypt"]);
    }

    #[test]
    fn last_value_wins_and_all_keeps_order() {
        let c = parse("'rollback.testPattern=a' 'rollback.testpattern=b'");
        assert_eq!(c.last("rollback.testPattern"), Some(Some("b")));
        assert_eq!(c.all("rollback.testPattern"), vec![Some("a"), Some("b")]);
    }
}
