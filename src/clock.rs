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
