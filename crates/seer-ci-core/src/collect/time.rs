//! Reading the timestamps that CI systems and datasets write.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// Parses RFC 3339 (`2024-05-01T12:00:00Z`), `YYYY-MM-DD HH:MM[:SS[.fff]]` and `YYYY-MM-DD`
/// (both read as UTC), or Unix seconds, into Unix seconds.
pub fn parse_time(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    if let Ok(secs) = raw.parse::<i64>() {
        return Some(secs);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.timestamp());
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            return Some(t.and_utc().timestamp());
        }
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
}

/// Unix seconds as RFC 3339 in UTC.
pub fn format_time(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| secs.to_string())
}

/// The current time, Unix seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        assert_eq!(parse_time("1700000000"), Some(1_700_000_000));
        assert_eq!(parse_time("2015-02-13 16:13:00"), Some(1_423_843_980));
        assert_eq!(parse_time("2015-02-13 16:13"), Some(1_423_843_980));
        assert_eq!(parse_time("2020-07-24 04:45:01.571"), parse_time("2020-07-24T04:45:01Z"));
        assert_eq!(parse_time("2015-02-13T17:13:00+01:00"), Some(1_423_843_980));
        assert_eq!(parse_time("2015-02-13"), Some(1_423_785_600));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn format_round_trips() {
        assert_eq!(format_time(1_423_843_980), "2015-02-13T16:13:00Z");
        assert_eq!(parse_time(&format_time(1_423_843_980)), Some(1_423_843_980));
    }
}
