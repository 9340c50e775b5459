//! The clock used for names (`checkpoint-20261121_100405`), journal entries
//! and metrics.
//!
//! `GIT_ROLLBACK_SPRINT_NOW` (RFC 3339) pins the clock, so that scripts and
//! tests get reproducible names; names that collide get `-2`, `-3`, … anyway.

use chrono::{DateTime, FixedOffset, Local};

pub const NOW_ENV: &str = "GIT_ROLLBACK_SPRINT_NOW";

pub fn now() -> DateTime<FixedOffset> {
    if let Ok(text) = std::env::var(NOW_ENV) {
        if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
            return t;
        }
    }
    Local::now().fixed_offset()
}

/// RFC 3339 to the second, with the offset: `2026-11-21T10:04:05+01:00`.
pub fn rfc3339(t: &DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// `YYYYMMDD_HHMMSS` in the clock's local time (docs/design.md, Names).
pub fn stamp(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y%m%d_%H%M%S").to_string()
}

/// "3 days ago", "5 minutes ago" — for `status` and `baseline show`.
pub fn age(then_unix: i64, now: &DateTime<FixedOffset>) -> String {
    let secs = now.timestamp() - then_unix;
    if secs < 0 {
        return "in the future".to_string();
    }
    let (n, unit) = match secs {
        s if s < 60 => (s, "second"),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s => (s / 86_400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// Seconds since the epoch as an RFC 3339 time in the clock's offset.
pub fn format_unix(secs: i64, offset_minutes: i32) -> String {
    let offset = FixedOffset::east_opt(offset_minutes * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"));
    match DateTime::from_timestamp(secs, 0) {
        Some(t) => rfc3339(&t.with_timezone(&offset)),
        None => secs.to_string(),
    }
}

/// A point in time as `--since` takes it, like git's approxidate for the
/// forms people type: `2 hours ago`, `3.days`, `1 week`, `yesterday`,
/// `2026-11-20` (midnight), `2026-11-20 14:00[:05]`, RFC 3339, `@<unix
/// seconds>`. Relative forms count back from `now`; a date without an
/// offset is in `now`'s. `None` when the text is none of these.
pub fn parse_since(text: &str, now: &DateTime<FixedOffset>) -> Option<i64> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    match lower.as_str() {
        "now" => return Some(now.timestamp()),
        "today" => return midnight(now.date_naive(), now),
        "yesterday" => return midnight(now.date_naive().pred_opt()?, now),
        _ => {}
    }
    if let Some(secs) = lower.strip_prefix('@') {
        return secs.parse().ok();
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp());
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return t
                .and_local_timezone(*now.offset())
                .single()
                .map(|t| t.timestamp());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return midnight(d, now);
    }
    // `2 hours ago`, `2.hours.ago`, `2 hours`, `2h`.
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || c == '.')
        .filter(|w| !w.is_empty())
        .collect();
    let words = match words.as_slice() {
        [rest @ .., "ago"] => rest,
        all => all,
    };
    let (count, unit) = match words {
        [n, unit] => (n.parse::<i64>().ok()?, *unit),
        [one] => {
            let digits = one.find(|c: char| !c.is_ascii_digit())?;
            (one[..digits].parse::<i64>().ok()?, &one[digits..])
        }
        _ => return None,
    };
    let seconds = match unit.trim_end_matches('s') {
        "" | "sec" | "second" => 1,
        "m" | "min" | "minute" => 60,
        "h" | "hour" => 3600,
        "d" | "day" => 86_400,
        "w" | "week" => 7 * 86_400,
        "month" => 30 * 86_400,
        "y" | "year" => 365 * 86_400,
        _ => return None,
    };
    Some(now.timestamp() - count.checked_mul(seconds)?)
}

fn midnight(day: chrono::NaiveDate, now: &DateTime<FixedOffset>) -> Option<i64> {
    day.and_hms_opt(0, 0, 0)?
        .and_local_timezone(*now.offset())
        .single()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_the_forms_people_type() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T10:04:05+00:00").unwrap();
        let at = now.timestamp();
        assert_eq!(parse_since("2 hours ago", &now), Some(at - 7200));
        assert_eq!(parse_since("2.hours.ago", &now), Some(at - 7200));
        assert_eq!(parse_since("3 days", &now), Some(at - 3 * 86_400));
        assert_eq!(parse_since("1 week ago", &now), Some(at - 7 * 86_400));
        assert_eq!(parse_since("90m", &now), Some(at - 5400));
        assert_eq!(parse_since("@1795255445", &now), Some(1_795_255_445));
        assert_eq!(parse_since("2026-11-21", &now), Some(at - 10 * 3600 - 245));
        assert_eq!(parse_since("2026-11-21 10:00", &now), Some(at - 245));
        assert_eq!(
            parse_since("2026-11-21T10:04:05+01:00", &now),
            Some(at - 3600)
        );
        assert_eq!(
            parse_since("yesterday", &now),
            Some(at - 86_400 - 10 * 3600 - 245)
        );
        for bad in [
            "soon",
            "2 fortnights",
            "",
            "ago",
            "x days ago",
            "2026-13-01",
        ] {
            assert_eq!(parse_since(bad, &now), None, "{bad}");
        }
    }
}
