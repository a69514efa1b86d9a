//! Flag values: one grammar each for times, durations and shares, read by clap's value parsers,
//! so that a bad value is a usage error (exit 2) before any work starts.

use std::time::Duration;

use seer_ci_core::collect::time::parse_time;

/// A point in time: RFC 3339, `YYYY-MM-DD[ HH:MM[:SS]]` (UTC) or Unix seconds.
pub fn time(raw: &str) -> Result<i64, String> {
    parse_time(raw).ok_or_else(|| "not a time (RFC 3339, \"YYYY-MM-DD[ HH:MM[:SS]]\" or Unix seconds)".to_string())
}

/// A duration, the one grammar of every duration flag: seconds (`90`, `90s`, `1.5`), or a sum of
/// numbers with units `ms`, `s`, `m`, `h`, `d` and `w` (`500ms`, `10m`, `1h30m`, `7d`, `2w`).
pub fn duration(text: &str) -> Result<Duration, String> {
    let bad = || "not a duration (e.g. 90s, 500ms, 10m, 1h30m, 7d, 2w)".to_string();
    let seconds = match text.parse::<f64>() {
        Ok(seconds) => seconds,
        Err(_) => sum_of_units(text).ok_or_else(bad)?,
    };
    if !(seconds > 0.0 && seconds.is_finite()) {
        return Err(bad());
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| bad())
}

/// `1h30m` as seconds; `None` for anything else.
fn sum_of_units(text: &str) -> Option<f64> {
    let (mut total, mut rest) = (0.0, text);
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, seconds) =
            [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0), ("d", 86_400.0), ("w", 604_800.0)]
                .into_iter()
                .find(|(unit, _)| rest.starts_with(unit))?;
        total += n * seconds;
        rest = &rest[unit.len()..];
    }
    Some(total)
}

/// A share of the failing tests: 0 < R <= 1.
pub fn recall(text: &str) -> Result<f64, String> {
    in_range(text, |r| r > 0.0 && r <= 1.0, "not a share of the failing tests (0 < R <= 1)")
}

/// A share of the test time: 0 < F <= 1.
pub fn fraction(text: &str) -> Result<f64, String> {
    in_range(text, |f| f > 0.0 && f <= 1.0, "not a share of the test time (0 < F <= 1)")
}

/// A share or a rate: 0 <= S < 1.
pub fn share(text: &str) -> Result<f64, String> {
    in_range(text, |s| (0.0..1.0).contains(&s), "not a share (0 <= S < 1)")
}

fn in_range(text: &str, ok: impl Fn(f64) -> bool, what: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if ok(v) => Ok(v),
        _ => Err(what.to_string()),
    }
}

/// Text that is not empty or blank (ids, commits, names).
pub fn non_empty(text: &str) -> Result<String, String> {
    if text.trim().is_empty() { Err("must not be empty".to_string()) } else { Ok(text.to_string()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_units_and_sums() {
        let secs = |t: &str| duration(t).unwrap().as_secs_f64();
        assert_eq!(secs("90"), 90.0);
        assert_eq!(secs("1h30m"), 5400.0);
        assert_eq!(secs("500ms"), 0.5);
        assert_eq!(secs("2m1s"), 121.0);
        assert_eq!(secs("7d"), 7.0 * 86_400.0);
        assert_eq!(secs("2w"), 14.0 * 86_400.0);
        for bad in ["", "soon", "10x", "m", "0s", "-1", "1.2.3s", "NaN", "inf"] {
            assert!(duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn shares_refuse_values_outside_their_range() {
        assert_eq!(recall("1").unwrap(), 1.0);
        assert!(recall("0").is_err());
        assert!(fraction("1.5").is_err());
        assert_eq!(share("0").unwrap(), 0.0);
        assert!(share("1").is_err());
        assert!(share("NaN").is_err());
        assert!(non_empty("  ").is_err());
    }

    #[test]
    fn a_day_is_read_as_its_midnight() {
        assert_eq!(time("2024-05-01").unwrap(), 1_714_521_600);
        assert!(time("yesterday").is_err());
    }
}
