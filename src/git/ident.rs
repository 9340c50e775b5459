//! Who the commits and tags this tool writes are by, and when: git's rules
//! (`ident.c`), which libgit2's `Repository::signature` does not follow
//! (docs/libgit2-pitfalls.md P14).
//!
//! * name: `GIT_<ROLE>_NAME`, else `<role>.name`, else `user.name`;
//! * email: `GIT_<ROLE>_EMAIL`, else `<role>.email`, else `user.email`,
//!   else `EMAIL`;
//! * date: `GIT_<ROLE>_DATE` in one of git's formats, else this tool's
//!   clock ([`crate::clock`]); a date git would refuse is refused.
//!
//! Tag objects are signed with the committer identity, as git does. Where
//! git would fall back to the system's user name and host name, this tool
//! asks for `user.name`/`user.email` instead: a guessed identity is not
//! worth writing into a rollback's history.

use chrono::{DateTime, FixedOffset, Local, NaiveDateTime, TimeZone};

use super::Repo;
use crate::error::{user, Exit};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Author,
    Committer,
}

impl Role {
    fn env(self) -> &'static str {
        match self {
            Role::Author => "AUTHOR",
            Role::Committer => "COMMITTER",
        }
    }

    fn config(self) -> &'static str {
        match self {
            Role::Author => "author",
            Role::Committer => "committer",
        }
    }
}

impl Repo {
    /// The author or committer signature for an object this tool writes.
    pub fn identity(&self, role: Role) -> anyhow::Result<git2::Signature<'static>> {
        let env = |what: &str| {
            std::env::var(format!("GIT_{}_{what}", role.env()))
                .ok()
                .filter(|v| !v.is_empty())
        };
        let config = |what: &str| -> anyhow::Result<Option<String>> {
            for key in [format!("{}.{what}", role.config()), format!("user.{what}")] {
                if let Some(v) = self.config_string(&key)?.filter(|v| !v.is_empty()) {
                    return Ok(Some(v));
                }
            }
            Ok(None)
        };
        let name = match env("NAME") {
            Some(n) => Some(n),
            None => config("name")?,
        };
        let email = match env("EMAIL") {
            Some(e) => Some(e),
            None => match config("email")? {
                Some(e) => Some(e),
                None => std::env::var("EMAIL").ok().filter(|v| !v.is_empty()),
            },
        };
        let (Some(name), Some(email)) = (name, email) else {
            return Err(user("git does not know who you are (user.name and user.email)")
                .hint("set them: git config --global user.name \"Your Name\"; git config --global user.email you@example.com")
                .exit(Exit::Error)
                .into());
        };
        let var = format!("GIT_{}_DATE", role.env());
        let (secs, offset) = match std::env::var(&var).ok().filter(|v| !v.trim().is_empty()) {
            Some(text) => parse_date(&text).ok_or_else(|| bad_date(&var, &text))?,
            None => {
                let now = crate::clock::now();
                (now.timestamp(), now.offset().local_minus_utc() / 60)
            }
        };
        let time = git2::Time::new(secs, offset);
        git2::Signature::new(&name, &email, &time).map_err(|e| {
            user(format!(
                "cannot use the identity `{name} <{email}>`: {}",
                e.message()
            ))
            .hint("fix user.name and user.email (no `<`, `>` or newlines)")
            .into()
        })
    }
}

/// Refuse an unreadable `GIT_AUTHOR_DATE` / `GIT_COMMITTER_DATE` before a
/// command changes anything (the first commit it writes may come late).
pub fn check_dates() -> anyhow::Result<()> {
    for role in [Role::Author, Role::Committer] {
        let var = format!("GIT_{}_DATE", role.env());
        if let Some(text) = std::env::var(&var).ok().filter(|v| !v.trim().is_empty()) {
            if parse_date(&text).is_none() {
                return Err(bad_date(&var, &text).into());
            }
        }
    }
    Ok(())
}

fn bad_date(var: &str, text: &str) -> crate::error::UserError {
    user(format!("{var} is `{text}`, a date git would not read")).hint(
        "use `@<seconds> +0000`, RFC 2822 or ISO 8601 (2026-11-21T10:04:05+01:00), or unset it",
    )
}

/// A date in one of the formats git reads for `GIT_AUTHOR_DATE` and
/// `GIT_COMMITTER_DATE`: git's own `@<seconds> <±hhmm>` and
/// `<seconds> <±hhmm>`, RFC 2822, ISO 8601 with `T` or a space (a date
/// without a zone is local time, as in git). Returns seconds since the
/// epoch and the zone's offset in minutes.
pub fn parse_date(text: &str) -> Option<(i64, i32)> {
    let text = text.trim();
    if let Some(raw) = text.strip_prefix('@') {
        let mut words = raw.split_whitespace();
        let secs: i64 = words.next()?.parse().ok()?;
        let offset = match words.next() {
            Some(zone) => zone_minutes(zone)?,
            None => 0,
        };
        return words.next().is_none().then_some((secs, offset));
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    if let [secs, zone] = words.as_slice() {
        if secs.bytes().all(|b| b.is_ascii_digit()) && secs.len() >= 9 {
            return Some((secs.parse().ok()?, zone_minutes(zone)?));
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(text) {
        return Some(split(&t));
    }
    parse_iso(text)
}

fn split(t: &DateTime<FixedOffset>) -> (i64, i32) {
    (t.timestamp(), t.offset().local_minus_utc() / 60)
}

/// `+0100`, `-0530`, `+01:00`, `Z`.
fn zone_minutes(zone: &str) -> Option<i32> {
    if zone == "Z" || zone == "z" {
        return Some(0);
    }
    let (sign, rest) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) || rest.len() > 5 {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    (minutes < 60).then_some(sign * (hours * 60 + minutes))
}

fn parse_iso(text: &str) -> Option<(i64, i32)> {
    // The date and time, then an optional zone (after a space or not).
    let text = text.replacen('T', " ", 1);
    let (date_time, zone) = split_zone(&text);
    let naive = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(date_time.trim(), f).ok())?;
    match zone {
        Some(zone) => {
            let offset = zone_minutes(zone)?;
            let fixed = FixedOffset::east_opt(offset * 60)?;
            let t = fixed.from_local_datetime(&naive).single()?;
            Some(split(&t))
        }
        None => {
            let t = Local.from_local_datetime(&naive).earliest()?;
            Some(split(&t.fixed_offset()))
        }
    }
}

/// `2026-11-21 10:04:05+01:00` → (`2026-11-21 10:04:05`, `+01:00`).
fn split_zone(text: &str) -> (&str, Option<&str>) {
    let trimmed = text.trim_end();
    if let Some(stripped) = trimmed.strip_suffix(['Z', 'z']) {
        return (stripped, Some("Z"));
    }
    // A zone starts at the last `+`, or a `-` after the time's colon.
    let time_start = trimmed.find(':').unwrap_or(trimmed.len());
    match trimmed[time_start..].rfind(['+', '-']) {
        Some(at) => {
            let at = time_start + at;
            (&trimmed[..at], Some(trimmed[at..].trim()))
        }
        None => (trimmed, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_formats() {
        assert_eq!(parse_date("@1795165200 +0100"), Some((1795165200, 60)));
        assert_eq!(parse_date("@1795165200"), Some((1795165200, 0)));
        assert_eq!(parse_date("1795165200 -0530"), Some((1795165200, -330)));
        assert_eq!(
            parse_date("Fri, 20 Nov 2026 10:00:00 +0100"),
            Some((1795165200, 60))
        );
        assert_eq!(
            parse_date("2026-11-20T09:00:00+00:00"),
            Some((1795165200, 0))
        );
        assert_eq!(
            parse_date("2026-11-20 10:00:00 +0100"),
            Some((1795165200, 60))
        );
        assert_eq!(parse_date("2026-11-20T09:00:00Z"), Some((1795165200, 0)));
        assert_eq!(
            parse_date("2026-11-20T04:00:00-0500"),
            Some((1795165200, -300))
        );
    }

    #[test]
    fn nonsense_is_refused() {
        for text in [
            "yesterday-ish",
            "@x",
            "2026-13-45 10:00:00 +0000",
            "12 +99999",
            "",
        ] {
            assert_eq!(parse_date(text), None, "{text}");
        }
    }
}
